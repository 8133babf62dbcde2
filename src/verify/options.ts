/**
 * Checks of verify's inputs, up front and without I/O: each bad value is refused with a message that says what was
 * expected and what was given, as an {@link InvalidVerifyArgumentError} (exit 22).
 */
import { isIP } from 'node:net';
import { InvalidVerifyArgumentError } from './errors.ts';

/** Operational % needed to pass the gate when `--threshold` is not given: the seed's "90%+ operational". */
export const DEFAULT_THRESHOLD = 90;
/** Per-request deadline when `--timeout` is not given, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 2_000;
/** Requests in flight at once when `--concurrency` is not given. */
export const DEFAULT_CONCURRENCY = 64;
/** The host verified when `--host` is not given: the fleet publishes its ports on loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

const NUMBER = /^[+]?(\d+(\.\d*)?|\.\d+)$/;
const INTEGER = /^[+]?\d+$/;

/** Reads `--threshold`: a number from 0 to 100 (decimals allowed, e.g. `99.5`). */
export function parseThreshold(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_THRESHOLD;
  const text = raw.trim();
  const value = NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new InvalidVerifyArgumentError(`--threshold must be a number from 0 to 100 (a percentage of operational services); got ${JSON.stringify(raw)}.`, [
      'For example: n3xus verify --threshold 100',
    ]);
  }
  return value;
}

/** Reads a whole number within bounds; `flag` names it in the message, `unit` says what it counts. */
function parseWhole(raw: string | undefined, fallback: number, min: number, max: number, flag: string, unit: string): number {
  if (raw === undefined) return fallback;
  const text = raw.trim();
  const value = INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidVerifyArgumentError(`${flag} must be a whole number of ${unit} from ${min} to ${max}; got ${JSON.stringify(raw)}.`);
  }
  return value;
}

/** Reads `--timeout`: the per-request deadline in milliseconds, 1 to 600000. */
export function parseTimeoutMs(raw: string | undefined): number {
  return parseWhole(raw, DEFAULT_TIMEOUT_MS, 1, 600_000, '--timeout', 'milliseconds');
}

/** The largest `--seed`: seeds are 32-bit. */
export const MAX_SEED = 4_294_967_295;

/** Reads `--seed`: a whole number from 0 to {@link MAX_SEED}; undefined when not given (verify draws one). */
export function parseSeed(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = INTEGER.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value > MAX_SEED) {
    throw new InvalidVerifyArgumentError(`--seed must be a whole number from 0 to ${MAX_SEED} (a sample's seed, as a report prints it); got ${JSON.stringify(raw)}.`, ['Leave it out for a new random sample.']);
  }
  return value;
}

/** Reads `--sample-size` as a whole number from 1; whether the fleet has that many is checked against it later. */
export function parseSampleSize(raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : parseWhole(raw, 1, 1, 100_000, '--sample-size', 'services');
}

/** Reads `--concurrency`: requests in flight at once, 1 to 1024. */
export function parseConcurrency(raw: string | undefined): number {
  return parseWhole(raw, DEFAULT_CONCURRENCY, 1, 1024, '--concurrency', 'requests');
}

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

/**
 * Reads `--host`: a host name or an IP address, without scheme, port or path (ports come from the fleet file).
 * An IPv6 address may be given with or without brackets; it is returned without them.
 */
export function parseHost(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_HOST;
  const text = raw.trim();
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIP(unbracketed) !== 0 || HOSTNAME.test(text)) return unbracketed;
  const hint = /^[a-z]+:\/\//i.test(text)
    ? ' Leave out the scheme: the services are reached over http on the ports the fleet file publishes.'
    : /:\d+$/.test(text)
      ? ' Leave out the port: each service is reached on the port the fleet file publishes.'
      : '';
  throw new InvalidVerifyArgumentError(`--host must be a host name or an IP address, e.g. 127.0.0.1 or staging.example.com; got ${JSON.stringify(raw)}.${hint}`);
}

/** How a host goes into a URL: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Reads `--project`: a compose project name, as launch names it (lower-case letters, digits, `_` and `-`). */
export function parseProject(raw: string | undefined): string | undefined {
  if (raw === undefined || /^[a-z0-9][a-z0-9_-]*$/.test(raw)) return raw;
  throw new InvalidVerifyArgumentError(`--project must be a project name of lower-case letters, digits, "_" and "-", starting with a letter or digit; got ${JSON.stringify(raw)}.`, [
    'For example: --project n3xus',
  ]);
}
