import type { LogLevel } from './config.ts';

const order: Record<LogLevel | 'fatal', number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

/** Fields of a log line; `err` is rendered as its name and message (no stack unless LOG_LEVEL=debug). */
export type LogFields = Record<string, unknown> & { err?: unknown };

/**
 * One JSON object per line on stdout: `{"ts","level","service","event",...fields}`. Writing a line is all it
 * does, so a logging library's transports, workers and serializers would only add start-up time and memory.
 */
export class Logger {
  constructor(
    readonly service: string,
    private readonly level: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  debug(event: string, fields?: LogFields): void { this.log('debug', event, fields); }
  info(event: string, fields?: LogFields): void { this.log('info', event, fields); }
  warn(event: string, fields?: LogFields): void { this.log('warn', event, fields); }
  error(event: string, fields?: LogFields): void { this.log('error', event, fields); }
  /** Always written, whatever the level: the last line of a process that is about to exit. */
  fatal(event: string, fields?: LogFields): void { this.log('fatal', event, fields); }

  private log(level: LogLevel | 'fatal', event: string, fields?: LogFields): void {
    if (order[level] < order[this.level]) return;
    const line: Record<string, unknown> = { ts: new Date().toISOString(), level, service: this.service, event };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        line[key] = key === 'err' ? describeError(value, this.level === 'debug') : value;
      }
    }
    this.write(JSON.stringify(line) + '\n');
  }
}

function describeError(err: unknown, withStack: boolean): unknown {
  if (!(err instanceof Error)) return String(err);
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (withStack) out.stack = err.stack;
  return out;
}
