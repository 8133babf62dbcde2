import { readFileSync } from 'node:fs';
import { callerKeyFromSeed, DEFAULT_RELAYS, parseCallerKeys, type CallerKey, type CallerKeys } from './caller.ts';
import { HANDSHAKE_ENV } from './law.ts';

/** Everything a service reads from its environment, parsed once at start. */
export interface KitConfig {
  /** The service's name in the catalog, e.g. `identity-registry`. */
  service: string;
  /** TCP port to listen on; 0 picks a free one (tests). */
  port: number;
  /** Address to bind; `0.0.0.0` in containers, `127.0.0.1` for local processes. */
  host: string;
  /** The handshake this process was given (checked against the law at start). */
  handshake: string | undefined;
  /** PostgreSQL connection string; without one the service runs degraded (readiness says so). */
  databaseUrl: string | undefined;
  /** Redis connection string; without one the service runs degraded (readiness says so). */
  redisUrl: string | undefined;
  /** Base URLs of the services this one calls, by name. */
  peers: Record<string, string>;
  /** Requests allowed per client address per minute (Redis-backed, in-memory while Redis is down). */
  rateLimitPerMinute: number;
  /** How long SIGTERM waits for in-flight requests before closing anyway, in ms. */
  shutdownGraceMs: number;
  /** Lowest level written: debug, info, warn or error. */
  logLevel: LogLevel;
  /**
   * Hosts outside the fleet that webhook-dispatcher may deliver to (`N3XUS_WEBHOOK_ALLOWED_HOSTS`, default none);
   * other services ignore it.
   */
  webhookAllowedHosts: HostEntry[];
  /**
   * This service's own caller key (`N3XUS_CALLER_KEY`, or `_FILE`: a 32-byte Ed25519 seed, base64url): its calls to
   * peers are signed with it (see caller.ts). Without one they go unsigned.
   */
  caller?: CallerKey;
  /**
   * The callers' public keys (`N3XUS_CALLER_KEYS`, or `_FILE`: `name=key,…`) and the relays whose `for=` is believed
   * (`N3XUS_CALLER_RELAYS`, default federation-gateway). Without keys every request is anonymous.
   */
  callers?: CallerKeys;
}

/** One entry of a host list: a host name or IP address (as a URL writes it), and a port when one was given. */
export interface HostEntry {
  /** Lower case, no trailing dot; an IPv6 address in brackets (`[fd00::1]`), as `URL.hostname` has it. */
  host: string;
  /** Undefined: any port. */
  port?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Raised for an environment that cannot be started from; the message names the variable and what it expects. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not valid: expected a whole number from ${min} to ${max}.`);
  }
  return value;
}

/**
 * Parses `N3XUS_PEERS`, a comma-separated list of `name=url` pairs such as
 * `identity-registry=http://identity-registry:3011,event-bus=http://event-bus:4069`.
 */
export function parsePeers(raw: string | undefined): Record<string, string> {
  const peers: Record<string, string> = {};
  if (!raw) return peers;
  for (const entry of raw.split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const eq = trimmed.indexOf('=');
    const name = trimmed.slice(0, eq).trim();
    const url = trimmed.slice(eq + 1).trim();
    if (eq <= 0 || !/^https?:\/\/[^\s]+$/.test(url)) {
      throw new ConfigError(`N3XUS_PEERS entry ${JSON.stringify(trimmed)} is not valid: expected name=http://host:port.`);
    }
    peers[name] = url.replace(/\/+$/, '');
  }
  return peers;
}

/** `host`, `host:port` or `[ipv6]:port`, nothing more: no scheme, path, credentials or spaces. */
const HOST_ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]\\]+)(?::(\d{1,5}))?$/;

/**
 * Parses a comma-separated host list such as `hooks.example.com,ci.example.com:8443,[fd00::1]:9000` (the value of
 * `key`, named in the error). Hosts are normalised as a URL would have them: lower case, IPv4 in dotted form.
 */
export function parseHostList(raw: string | undefined, key: string): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const item of (raw ?? '').split(',')) {
    const entry = item.trim();
    if (!entry) continue;
    const invalid = () => new ConfigError(`${key} entry ${JSON.stringify(entry)} is not valid: expected host or host:port (an IPv6 address in brackets), such as hooks.example.com or hooks.example.com:8443.`);
    const match = HOST_ENTRY.exec(entry);
    if (!match) throw invalid();
    const port = match[2] === undefined ? undefined : Number(match[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw invalid();
    let host: string;
    try {
      host = new URL(`http://${match[1]}`).hostname.replace(/\.$/, '');
    } catch {
      throw invalid();
    }
    entries.push(port === undefined ? { host } : { host, port });
  }
  return entries;
}

/**
 * `key` from the environment, or from the file `<key>_FILE` names (a Swarm or compose secret, mounted at
 * /run/secrets), with one final newline dropped. Both set is an error, as in the official images' entrypoints. A
 * file that cannot be read is a configuration error, except for the handshake: the law treats it as missing.
 */
export function fromEnvOrFile(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const file = env[`${key}_FILE`];
  if (file === undefined || file === '') return env[key] || undefined;
  if (env[key]) throw new ConfigError(`${key} and ${key}_FILE are both set: give the value one way only.`);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '') || undefined;
  } catch (err) {
    if (key === HANDSHAKE_ENV) return undefined;
    throw new ConfigError(`${key}_FILE=${JSON.stringify(file)} cannot be read: ${(err as Error).message}.`);
  }
}

/** Reads the kit's configuration from an environment (default: this process's). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): KitConfig {
  const service = env.N3XUS_SERVICE;
  if (!service || !/^[a-z][a-z0-9-]{1,62}$/.test(service)) {
    throw new ConfigError(`N3XUS_SERVICE=${JSON.stringify(service ?? '')} is not valid: expected the service's catalog name.`);
  }
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is not valid: expected debug, info, warn or error.`);
  }
  return {
    service,
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    handshake: fromEnvOrFile(env, HANDSHAKE_ENV),
    databaseUrl: fromEnvOrFile(env, 'DATABASE_URL'),
    redisUrl: fromEnvOrFile(env, 'REDIS_URL'),
    peers: parsePeers(env.N3XUS_PEERS),
    rateLimitPerMinute: int(env, 'N3XUS_RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    shutdownGraceMs: int(env, 'N3XUS_SHUTDOWN_GRACE_MS', 5000, 0, 120_000),
    logLevel,
    webhookAllowedHosts: parseHostList(env.N3XUS_WEBHOOK_ALLOWED_HOSTS, 'N3XUS_WEBHOOK_ALLOWED_HOSTS'),
    ...callerConfig(env, service),
  };
}

/** The caller key and the callers' keys of the environment (see KitConfig.caller and .callers). */
function callerConfig(env: NodeJS.ProcessEnv, service: string): Pick<KitConfig, 'caller' | 'callers'> {
  const seed = fromEnvOrFile(env, 'N3XUS_CALLER_KEY');
  let caller: CallerKey | undefined;
  let keys: CallerKeys['keys'];
  try {
    caller = seed === undefined ? undefined : callerKeyFromSeed(service, seed);
  } catch (error) {
    throw new ConfigError(`N3XUS_CALLER_KEY is not valid: ${(error as Error).message}`);
  }
  try {
    keys = parseCallerKeys(fromEnvOrFile(env, 'N3XUS_CALLER_KEYS'), 'N3XUS_CALLER_KEYS');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const relays = (env.N3XUS_CALLER_RELAYS ?? DEFAULT_RELAYS.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
  return { ...(caller ? { caller } : {}), ...(keys.size > 0 ? { callers: { keys, relays: new Set(relays) } } : {}) };
}
