/**
 * `n3xus logs` for the process driver: a service's output is its log file (stdout and stderr together, as the
 * process wrote them), printed from the start or its last lines, and with `follow` read on as it grows until the
 * process ends or the caller aborts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { tailFile } from '../launch/process-driver.ts';

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
