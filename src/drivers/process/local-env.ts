/**
 * A service's compose environment as a process on this machine needs it: there is no network with a host per
 * service, so every `<service>:<container port>` the fleet file names (DATABASE_URL's `postgres:5432`,
 * REDIS_URL's `redis:6379`, the `http://<peer>:<port>` entries of N3XUS_PEERS) becomes `127.0.0.1:<host port>`,
 * the port that service publishes. Pure.
 */
import { SECRETS_MOUNT } from '../../fleet/service-files.ts';
import type { Fleet, FleetService } from '../../fleet/model.ts';

/** `<service>:<container port>` → the host port it is published on, for every TCP port of the fleet. */
export function publishedAddresses(fleet: Fleet): Map<string, number> {
  const map = new Map<string, number>();
  for (const s of fleet.services) for (const p of s.ports) if (p.protocol === 'tcp') map.set(`${s.name}:${p.containerPort}`, p.hostPort);
  return map;
}

/** A URL authority (after `//` or `@`) naming a host and a port. */
const AUTHORITY = /(\/\/|@)([A-Za-z0-9_.-]+):(\d+)/g;

/** `value` with each `<service>:<port>` authority of `addresses` replaced by `127.0.0.1:<host port>`. */
export function rewriteAddresses(value: string, addresses: ReadonlyMap<string, number>): string {
  return value.replace(AUTHORITY, (whole, lead: string, host: string, port: string) => {
    const hostPort = addresses.get(`${host}:${port}`);
    return hostPort === undefined ? whole : `${lead}127.0.0.1:${hostPort}`;
  });
}

/**
 * A URL value (`postgres://n3xus:…@postgres:5432/n3xus`) whose host is a service the user gave a server URL for
 * (`given`: service → URL) becomes that URL, credentials and database included; other values are left to
 * {@link rewriteAddresses}.
 */
export function givenUrl(value: string, given: ReadonlyMap<string, string>): string | undefined {
  if (given.size === 0 || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  try {
    return given.get(new URL(value).hostname);
  } catch {
    return undefined;
  }
}

/**
 * The environment of `service` run as a process: its compose environment with addresses rewritten, `PORT` set to
 * the host port it publishes (a process has no port mapping) and `HOST` to 127.0.0.1, so nothing listens beyond
 * this machine. `N3XUS_SERVICE` defaults to the service name, as the image's ENV does. A URL naming a service in
 * `given` becomes the server URL the user gave for it (see {@link givenUrl}).
 */
export function localEnvironment(service: FleetService, addresses: ReadonlyMap<string, number>, given: ReadonlyMap<string, string> = new Map()): Record<string, string> {
  const env: Record<string, string> = { N3XUS_SERVICE: service.name };
  for (const [key, value] of Object.entries(service.environment)) env[key] = givenUrl(value, given) ?? rewriteAddresses(value, addresses);
  const primary = service.ports.find((p) => p.protocol === 'tcp' && String(p.containerPort) === env.PORT) ?? service.ports.find((p) => p.protocol === 'tcp');
  if (primary !== undefined) env.PORT = String(primary.hostPort);
  env.HOST = '127.0.0.1';
  return env;
}

/** The target of a path under /run/secrets (`/run/secrets/database-url` → `database-url`), else undefined. */
export function secretTarget(value: string): string | undefined {
  return value.startsWith(`${SECRETS_MOUNT}/`) ? value.slice(SECRETS_MOUNT.length + 1) : undefined;
}

/**
 * `env` with every value naming a secret under /run/secrets (`DATABASE_URL_FILE=/run/secrets/database-url`)
 * pointing at that secret's file on this machine instead (`files`: target → path). Pure.
 */
export function localSecretPaths(env: Readonly<Record<string, string>>, files: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const target = secretTarget(value);
    out[key] = (target !== undefined ? files.get(target) : undefined) ?? value;
  }
  return out;
}

/** A secret's value as a local process needs it: a URL naming a fleet service rewritten as its environment is. */
export function localSecretValue(value: string, addresses: ReadonlyMap<string, number>, given: ReadonlyMap<string, string> = new Map()): string {
  return givenUrl(value, given) ?? rewriteAddresses(value, addresses);
}
