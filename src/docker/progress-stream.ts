/**
 * Decoding of the engine's JSON progress streams (build, import): newline-delimited JSON objects such as
 * `{"stream":"Step 1/3 : FROM scratch\n"}`, `{"aux":{"ID":"sha256:…"}}` and `{"error":"…","errorDetail":{…}}`.
 * Pure: no I/O, so it is unit-tested with hand-written chunks.
 */

/** One meaningful thing a progress message says. */
export type ProgressEvent =
  | { kind: 'output'; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'image-id'; id: string };

/** Splits a byte stream into JSON values, one per line; a line that is not JSON comes back as a string. */
export class JsonLinesDecoder {
  #partial = '';

  /** Adds a chunk and returns the values whose lines are now complete. */
  push(chunk: string): unknown[] {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.flatMap((line) => decodeLine(line));
  }

  /** Returns the value on a last line that had no newline. */
  end(): unknown[] {
    const rest = this.#partial;
    this.#partial = '';
    return decodeLine(rest);
  }
}

function decodeLine(line: string): unknown[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  try {
    return [JSON.parse(trimmed) as unknown];
  } catch {
    return [trimmed];
  }
}

/**
 * Says what one decoded progress message means. `stream` and `status` text become output (a `status` is also
 * an image ID when it is one, as in an import's last message); `error`/`errorDetail` become an error.
 */
export function interpretProgress(message: unknown): ProgressEvent[] {
  if (typeof message === 'string') return [{ kind: 'output', text: message }];
  if (!isRecord(message)) return [];
  const events: ProgressEvent[] = [];
  const errorDetail = isRecord(message.errorDetail) ? message.errorDetail : undefined;
  const errorMessage = stringOf(message.error) ?? stringOf(errorDetail?.message);
  if (errorMessage !== undefined) {
    events.push({ kind: 'error', message: errorMessage.trim() });
    return events;
  }
  const stream = stringOf(message.stream);
  if (stream !== undefined && stream !== '') events.push({ kind: 'output', text: stream });
  const status = stringOf(message.status);
  if (status !== undefined && status !== '') {
    if (/^sha256:[0-9a-f]{64}$/.test(status.trim())) events.push({ kind: 'image-id', id: status.trim() });
    else events.push({ kind: 'output', text: stringOf(message.progress) === undefined ? status : `${status} ${String(message.progress)}` });
  }
  const aux = isRecord(message.aux) ? message.aux : undefined;
  const auxId = stringOf(aux?.ID);
  if (auxId !== undefined) events.push({ kind: 'image-id', id: auxId });
  return events;
}

/**
 * Splits output text into display lines, dropping the colour codes the legacy builder wraps around a step's
 * stderr and the empty lines the engine uses as spacing.
 */
export function outputLines(text: string): string[] {
  return text
    // eslint-disable-next-line no-control-regex -- the escape character is exactly what is being removed
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
