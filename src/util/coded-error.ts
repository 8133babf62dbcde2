/**
 * An error a command reports as one message with a documented exit code (its `code`, a key of EXIT_CODES in
 * src/cli/base-command.ts) and what to do next (`suggestions`), for errors whose code depends on the case.
 */
export class CodedError extends Error {
  override readonly name: string = 'CodedError';
  readonly code: string;
  readonly suggestions: readonly string[];

  constructor(message: string, code: string, suggestions: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.suggestions = suggestions;
  }
}
