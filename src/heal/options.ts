/** `n3xus heal`'s flags, parsed: each bad value is one message naming the flag and what it takes. */

/** A heal flag outside what it accepts. Exit 22. */
export class InvalidHealArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INVALID_ARGUMENT';
  readonly suggestions: readonly string[] = ['See the flags with: n3xus heal --help'];
}

/** The metrics port is held by something else. Exit 13. */
export class MetricsPortBusyError extends Error {
  override readonly name = 'PortBusyError';
  readonly code = 'PORT_BUSY';
  readonly suggestions: readonly string[];

  constructor(port: number) {
    super(`--metrics-port ${port}: 127.0.0.1:${port} is already in use, so the watcher cannot serve its metrics there. Nothing was watched.`);
    this.suggestions = ['Give another port, or --metrics-port 0 for a free one (the watcher prints which).'];
  }
}

export const DEFAULT_INTERVAL_S = 5;

/** `--interval`: seconds between two sweeps, from 0.2 to 3600 (default 5). */
export function parseInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_INTERVAL_S * 1000;
  const text = raw.trim();
  const value = /^[+]?(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0.2 && value <= 3600)) throw new InvalidHealArgumentError(`--interval must be a number of seconds from 0.2 to 3600; got ${JSON.stringify(raw)}.`);
  return Math.round(value * 1000);
}

/** `--metrics-port`: a TCP port on 127.0.0.1, 0 for a free one; undefined when not given (no metrics served). */
export function parseMetricsPort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 65_535)) throw new InvalidHealArgumentError(`--metrics-port must be a TCP port from 0 (a free one) to 65535; got ${JSON.stringify(raw)}.`);
  return value;
}
