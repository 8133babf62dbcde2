import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineTail } from '../util/line-tail.ts';

/** Options shared by {@link run} and {@link runStreaming}. */
export interface RunOptions {
  /** Working directory; defaults to the current one. */
  cwd?: string;
  /** Variables added to (or overriding) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Kills the process (SIGTERM, then SIGKILL 5 s later) and fails after this many milliseconds; default: no limit. */
  timeoutMs?: number;
  /** Kills the process when aborted. */
  signal?: AbortSignal;
  /** Called with each complete line the process prints, as it prints it. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many of the last stderr lines a {@link ProcessError} keeps; default 20. */
  tailLines?: number;
}

/** What a finished process printed, and how long it took. */
export interface RunResult {
  command: string;
  args: readonly string[];
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A process that could not start, exited non-zero, was killed by a signal, or ran past its timeout. */
export class ProcessError extends Error {
  override readonly name = 'ProcessError';
  readonly code = 'PROCESS_FAILED';
  readonly command: string;
  readonly args: readonly string[];
  /** Exit code, or null when the process never started or was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines the process wrote to stderr (see {@link RunOptions.tailLines}). */
  readonly stderrTail: string;

  constructor(init: {
    command: string;
    args: readonly string[];
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    stderrTail: string;
    reason: string;
    cause?: unknown;
  }) {
    const tail = init.stderrTail === '' ? '' : `\n${init.stderrTail}`;
    super(`${init.reason}: ${formatCommand(init.command, init.args)}${tail}`, { cause: init.cause });
    this.command = init.command;
    this.args = init.args;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.stderrTail = init.stderrTail;
  }
}

/**
 * Runs a command without a shell and resolves with its output once it exits 0; otherwise rejects with a
 * {@link ProcessError}. Output is decoded as UTF-8; use {@link runStreaming} for large or binary output.
 *
 * @example
 * const { stdout } = await run('ldd', ['/usr/local/bin/node']);
 */
export async function run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const started = startProcess(command, args, options, 'pipe');
  const stdoutChunks: Buffer[] = [];
  started.child.stdout?.on('data', (chunk: Buffer) => {
    stdoutChunks.push(chunk);
    started.stdoutLines?.push(chunk.toString('utf8'));
  });
  const { stderr, durationMs } = await started.completed;
  return { command, args, stdout: Buffer.concat(stdoutChunks).toString('utf8'), stderr, durationMs };
}

/**
 * Starts a command whose stdout the caller reads as a stream (for example `tar -c` piped into an image import).
 * `completed` settles after the process exits: it rejects with a {@link ProcessError} on failure, so always
 * await it after consuming `stdout`.
 */
export function runStreaming(
  command: string,
  args: readonly string[] = [],
  options: Omit<RunOptions, 'onLine'> & { onStderrLine?: (line: string) => void } = {},
): { stdout: Readable; completed: Promise<Omit<RunResult, 'stdout'>> } {
  const onLine = options.onStderrLine;
  const started = startProcess(command, args, onLine ? { ...options, onLine: (line) => onLine(line) } : options, 'stream');
  const stdout = started.child.stdout;
  if (!stdout) throw new Error('unreachable: spawn with stdio pipe has no stdout');
  const completed = started.completed.then(({ stderr, durationMs }) => ({ command, args, stderr, durationMs }));
  return { stdout, completed };
}

/** Renders a command line for messages, quoting arguments that contain spaces or quotes. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replaceAll("'", `'\\''`)}'`)).join(' ');
}

interface StartedProcess {
  child: ChildProcess;
  stdoutLines: LineSplitter | undefined;
  completed: Promise<{ stderr: string; durationMs: number }>;
}

function startProcess(command: string, args: readonly string[], options: RunOptions, stdoutMode: 'pipe' | 'stream'): StartedProcess {
  const startedAt = performance.now();
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrTail = new LineTail(options.tailLines ?? 20);
  const stderrChunks: Buffer[] = [];
  const onLine = options.onLine;
  const stdoutLines = onLine && stdoutMode === 'pipe' ? new LineSplitter((line) => onLine(line, 'stdout')) : undefined;
  const stderrLines = onLine ? new LineSplitter((line) => onLine(line, 'stderr')) : undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrChunks.push(chunk);
    const text = chunk.toString('utf8');
    stderrTail.push(text);
    stderrLines?.push(text);
  });

  let killReason: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (reason: string): void => {
    if (killReason !== undefined) return;
    killReason = reason;
    child.kill('SIGTERM');
    // A process that ignores SIGTERM must not hold the caller forever.
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    killTimer.unref();
  };
  const timeout =
    options.timeoutMs === undefined ? undefined : setTimeout(() => kill(`Timed out after ${options.timeoutMs} ms`), options.timeoutMs);
  const onAbort = (): void => kill('Aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const completed = new Promise<{ stderr: string; durationMs: number }>((resolve, reject) => {
    const cleanUp = (): void => {
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanUp();
      const reason =
        error.code === 'ENOENT' ? `Could not start \`${command}\` (not installed or not on PATH)` : `Could not start \`${command}\` (${error.message})`;
      reject(new ProcessError({ command, args, exitCode: null, signal: null, stderrTail: '', reason, cause: error }));
    });
    child.once('close', (exitCode, signal) => {
      cleanUp();
      stdoutLines?.flush();
      stderrLines?.flush();
      const stderr = Buffer.concat(stderrChunks).toString('utf8');
      if (exitCode === 0 && killReason === undefined) {
        resolve({ stderr, durationMs: Math.round(performance.now() - startedAt) });
        return;
      }
      const reason = killReason ?? (signal ? `Killed by ${signal}` : `Exited with code ${String(exitCode)}`);
      reject(new ProcessError({ command, args, exitCode, signal, stderrTail: stderrTail.toString(), reason }));
    });
  });
  return { child, stdoutLines, completed };
}

/** Splits chunks into lines and hands each complete one to a callback. */
class LineSplitter {
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: string): void {
    const parts = (this.#partial + chunk).split(/\r?\n/);
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#onLine(line);
  }

  flush(): void {
    if (this.#partial !== '') this.#onLine(this.#partial);
    this.#partial = '';
  }
}
