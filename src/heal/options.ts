/** `n3xus heal`'s flags, parsed: each bad value is one message naming the flag and what it takes. */

/** A heal flag outside what it accepts. Exit 22. */
export class InvalidHealArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INVALID_ARGUMENT';
  readonly suggestions: readonly string[] = ['See the flags with: n3xus heal --help'];
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
