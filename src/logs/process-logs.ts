/**
 * `n3xus logs` for the process driver: a service's output is its log file (stdout and stderr together, as the
 * process wrote them), printed from the start or its last lines, and with `follow` read on as it grows until the
 * process ends or the caller aborts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** How much of the end of a log file is read for its last lines. */
const LOG_TAIL_BYTES = 256 * 1024;

/** Reads the last `lines` lines of a file (at most {@link LOG_TAIL_BYTES} of it); a missing file has none. */
export function tailFile(file: string, lines: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    return lines <= 0 ? [] : all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

export interface ProcessLogsOptions {
  follow?: boolean;
  /** Only the last N lines so far; default: all. */
  tailLines?: number;
  onOutput: (payload: Buffer) => void;
  /** Whether the process still runs; `follow` stops once it does not and the file has been read to its end. */
  isRunning: () => Promise<boolean>;
  signal?: AbortSignal;
  /** Pause between two looks at the file while following; default 250 ms. */
  pollMs?: number;
}

/** Reads the log file `file` and hands its bytes to `onOutput`; resolves with whether `signal` ended it. */
export async function streamProcessLogs(file: string, options: ProcessLogsOptions): Promise<{ interrupted: boolean; bytes: number }> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { interrupted: false, bytes: 0 };
  }
  let bytes = 0;
  try {
    let position = 0;
    if (options.tailLines !== undefined) {
      const lines = tailFile(file, options.tailLines);
      if (lines.length > 0) options.onOutput(Buffer.from(`${lines.join('\n')}\n`));
      position = fstatSync(fd).size;
    }
    const drain = (): void => {
      const size = fstatSync(fd).size;
      while (position < size) {
        const chunk = Buffer.alloc(Math.min(64 * 1024, size - position));
        const read = readSync(fd, chunk, 0, chunk.length, position);
        if (read === 0) break;
        position += read;
        bytes += read;
        options.onOutput(chunk.subarray(0, read));
      }
    };
    drain();
    while (options.follow && !options.signal?.aborted) {
      const running = await options.isRunning();
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
      drain();
      if (!running) break;
    }
    return { interrupted: options.signal?.aborted ?? false, bytes };
  } finally {
    closeSync(fd);
  }
}
