/**
 * Keeps the last `maxLines` complete lines of text written to it in chunks, so an error can show the end of a
 * long output without holding all of it.
 *
 * @example
 * const tail = new LineTail(20);
 * tail.push('step 1\nstep');
 * tail.push(' 2\n');
 * tail.lines(); // ['step 1', 'step 2']
 */
export class LineTail {
  readonly #maxLines: number;
  readonly #lines: string[] = [];
  #partial = '';

  constructor(maxLines = 20) {
    if (!Number.isInteger(maxLines) || maxLines < 1) {
      throw new TypeError(`Expected \`maxLines\` to be an integer from 1 and up, got ${String(maxLines)}`);
    }
    this.#maxLines = maxLines;
  }

  /** Adds a chunk of text; a line is complete once its newline has been pushed. */
  push(chunk: string): void {
    const parts = (this.#partial + chunk).split(/\r?\n/);
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#add(line);
  }

  /** The kept lines, oldest first, including a trailing line that has no newline yet. */
  lines(): string[] {
    const lines = [...this.#lines];
    if (this.#partial !== '') lines.push(this.#partial);
    return lines.slice(-this.#maxLines);
  }

  /** The kept lines joined with newlines. */
  toString(): string {
    return this.lines().join('\n');
  }

  #add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.shift();
  }
}
