/**
 * The part of the fleet file verify needs (names, placement, published ports, peers, and each service's image and
 * config hash, to tell whether its container is the one launch would create), read through the fleet cache
 * (src/fleet/cache.ts): on a hit, verify never loads the parser (yaml, zod) at all. Only the fields verify reads are
 * cached, and an entry that does not read back as exactly those is ignored.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fleetCacheDirectory, fleetCacheKey as fileKey, readCacheEntry, writeCacheEntry } from '../fleet/cache.ts';
import { codeFingerprint, CONFIG_HASH_MODULES } from '../fleet/cached-fleet.ts';
import { configHash } from '../fleet/config-hash.ts';
import type { FleetService } from '../fleet/model.ts';
import { interpolationEnv } from '../fleet/env-file.ts';
import { DEFAULT_FLEET_FILE } from '../fleet/fleet-file.ts';
import type { PeerSource, TargetSource } from './targets.ts';
import { STAGES } from '../fleet/stages.ts';
import { displayPath } from '../util/display-path.ts';

/** Bumped whenever what is cached changes shape, so an old entry is never read as a new one (2: image, config hash). */
const CACHE_FORMAT = 3;
/** The kind of cache entry verify writes. */
const CACHE_KIND = 'fleet';

/** One service as verify needs it; `configHash` is the service's own (see configHash in src/fleet/config-hash.ts). */
export type VerifyFleetService = TargetSource & PeerSource & Pick<FleetService, 'image'> & { configHash: string };

/** The fleet as verify needs it. */
export interface VerifyFleet {
  /** The file as shown in messages (relative to the working directory when inside it). */
  file: string;
  /** The compose project name, when the file or COMPOSE_PROJECT_NAME gives one. */
  project?: string;
  services: VerifyFleetService[];
  /** The install's secrets file, when n3xus manages the fleet's secrets: verify signs its requests with a key from it. */
  secretsFile?: string;
}

export interface FleetSourceOptions {
  /** Variables the file is interpolated with, taking precedence over the env file's; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A file of KEY=VALUE lines for interpolation; default `airgap.env` next to the fleet file, when there is one. */
  envFile?: string;
  /** Where cache entries go; default `$N3XUS_CACHE_DIR`, else `$XDG_CACHE_HOME/n3xus`, else `~/.cache/n3xus`. */
  cacheDir?: string;
}

/**
 * The cache key of verify's entry for a fleet file: see {@link fileKey}. The entry holds config hashes, which the
 * parser's code and the hash's own decide too: a change to either must miss, or verify would call every container
 * changed (or miss a change). It holds paths resolved from the file's place too (its secrets file, the secret files
 * the hashes see), so the same text in another checkout is another entry. Throws when that code is not where
 * expected (a bundled copy): then nothing is cached.
 */
export function fleetCacheKey(text: string, env: Readonly<Record<string, string | undefined>>, file: string): string {
  return fileKey(text, env, [CACHE_FORMAT, codeFingerprint(CONFIG_HASH_MODULES), path.resolve(file)]);
}

function cacheKey(text: string | undefined, env: Readonly<Record<string, string | undefined>>, file: string): string | undefined {
  if (text === undefined) return undefined;
  try {
    return fleetCacheKey(text, env, file);
  } catch {
    return undefined;
  }
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isHash = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
const isPort = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;

/** Reads back a cache entry, or undefined when it is not exactly what {@link toEntry} writes. */
export function fromEntry(value: unknown): Omit<VerifyFleet, 'file'> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { format, project, services, secretsFile } = value as Record<string, unknown>;
  if (format !== CACHE_FORMAT || (project !== undefined && !isString(project)) || (secretsFile !== undefined && !isString(secretsFile)) || !Array.isArray(services)) return undefined;
  const out: VerifyFleetService[] = [];
  for (const raw of services as unknown[]) {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const s = raw as Record<string, unknown>;
    const peers = s.peers;
    if (!isString(s.name) || !STAGES.includes(s.stage as never) || !isString(s.group) || !isString(s.category) || !isPort(s.port) || !isPort(s.hostPort) || (peers !== undefined && !isString(peers))) {
      return undefined;
    }
    if (!isString(s.image) || !isHash(s.configHash)) return undefined;
    out.push({
      name: s.name,
      stage: s.stage as VerifyFleetService['stage'],
      group: s.group,
      category: s.category,
      port: s.port,
      hostPort: s.hostPort,
      environment: peers === undefined ? {} : { N3XUS_PEERS: peers },
      image: s.image,
      configHash: s.configHash,
    });
  }
  return { ...(project === undefined ? {} : { project }), services: out, ...(secretsFile === undefined ? {} : { secretsFile }) };
}

/** What is cached of a parsed fleet: only the fields verify reads. */
export function toEntry(fleet: Omit<VerifyFleet, 'file'>): unknown {
  return {
    format: CACHE_FORMAT,
    ...(fleet.project === undefined ? {} : { project: fleet.project }),
    ...(fleet.secretsFile === undefined ? {} : { secretsFile: fleet.secretsFile }),
    services: fleet.services.map((s) => ({
      name: s.name,
      stage: s.stage,
      group: s.group,
      category: s.category,
      port: s.port,
      hostPort: s.hostPort,
      ...(s.environment.N3XUS_PEERS === undefined ? {} : { peers: s.environment.N3XUS_PEERS }),
      image: s.image,
      configHash: s.configHash,
    })),
  };
}

/** The parsed fleet's services as verify needs them: with each one's config hash, computed once here. */
export function verifyServices(services: readonly FleetService[]): VerifyFleetService[] {
  return services.map((s) => ({ ...s, configHash: configHash(s) }));
}

/**
 * Reads the fleet file (default {@link DEFAULT_FLEET_FILE}) for verify, from the cache when the file and its
 * variables are unchanged. Variables come from the environment, then the env file, as for launch.
 * @throws FleetFileError, from the fleet parser, for a missing or invalid file; EnvFileError for an
 * env file that cannot be read.
 */
export async function loadVerifyFleet(file: string = DEFAULT_FLEET_FILE, options: FleetSourceOptions = {}): Promise<VerifyFleet> {
  const { env } = interpolationEnv(file, { envFile: options.envFile, ...(options.env ? { env: options.env } : {}) });
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const cacheDir = fleetCacheDirectory(env, options.cacheDir);
  const key = cacheKey(text, env, file);
  if (key !== undefined) {
    const cached = fromEntry(readCacheEntry(cacheDir, CACHE_KIND, key));
    if (cached !== undefined) return { file: displayPath(file), ...cached };
  }
  // The parser (yaml, zod) is loaded only now: a cache hit never pays for it.
  const [{ loadFleet }, { managedSecrets }] = await Promise.all([import('../fleet/model.ts'), import('../secrets/secrets-file.ts')]);
  const fleet = loadFleet(file, { env });
  const secretsFile = managedSecrets(fleet)?.secretsFile;
  const parsed = { ...(fleet.project === undefined ? {} : { project: fleet.project }), services: verifyServices(fleet.services), ...(secretsFile === undefined ? {} : { secretsFile }) };
  if (key !== undefined) writeCacheEntry(cacheDir, CACHE_KIND, key, toEntry(parsed));
  return { file: fleet.file, ...parsed };
}
