/** A verify flag or argument outside what it accepts; the message says what was expected. Exit 22. */
export class InvalidVerifyArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INVALID_ARGUMENT';
  readonly suggestions: readonly string[];

  constructor(message: string, suggestions: readonly string[] = ['See the flags with: n3xus verify --help']) {
    super(message);
    this.suggestions = suggestions;
  }
}

/**
 * The fleet could not be verified at all: nothing answered on the host, the host name does not resolve, or
 * container checks were asked for (`--docker`) and the engine did not answer. Exit 21, distinct from a fleet that
 * was verified and found below the threshold (exit 20).
 */
export class VerifyUnavailableError extends Error {
  override readonly name = 'VerifyUnavailableError';
  readonly code = 'VERIFY_UNAVAILABLE';
  readonly suggestions: readonly string[];

  constructor(message: string, suggestions: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.suggestions = suggestions;
  }
}
