/**
 * Rotation of a process's log file by the rule Docker's json-file driver keeps: at most `files` files (the live one
 * included) of about `maxBytes` each. Files are rotated when their process starts, so a file is never cut under a
 * process that is writing to it.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { parseBytes } from '../fleet/sizes.ts';

/** How far a log may grow: `max-size` in bytes, `max-file` files. */
export interface LogLimit {
  maxBytes: number;
  files: number;
}

/**
 * The limit a service's `logging` options set (`max-size`, `max-file`, as for json-file), or undefined when they
 * set none. Without `max-file`, one file, as Docker's default.
 */
export function logLimit(options: Readonly<Record<string, string>> | undefined): LogLimit | undefined {
  const maxBytes = options?.['max-size'] === undefined ? undefined : parseBytes(options['max-size']);
  if (maxBytes === undefined || maxBytes <= 0) return undefined;
  const files = Number(options?.['max-file'] ?? '1');
  return { maxBytes, files: Number.isInteger(files) && files >= 1 ? files : 1 };
}

/**
 * Rotates `file` when it has reached the limit: `file` becomes `file.1`, `file.1` becomes `file.2`, and so on,
 * the oldest beyond `files - 1` removed; with one file, the old content is dropped. Returns whether it rotated.
 */
export function rotateLog(file: string, limit: LogLimit): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false; // no log yet
  }
  if (size < limit.maxBytes) return false;
  if (limit.files === 1) {
    rmSync(file, { force: true });
    return true;
  }
  rmSync(`${file}.${limit.files - 1}`, { force: true });
  for (let i = limit.files - 2; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  renameSync(file, `${file}.1`);
  return true;
}
