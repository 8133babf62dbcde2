/**
 * The install's secrets: one file, owner-only (0600), that git ignores, holding the PostgreSQL superuser's and the
 * Redis admin's passwords and the key every service's own passwords are derived from. From it, the fleet's secret
 * files are written (see {@link managedSecretValues}): the files the compose file's top-level `secrets:` name, which
 * reach the containers as compose and Swarm secrets, mounted under /run/secrets, never as environment.
 *
 * The N3XUS LAW's handshake is not among them: it is the seed's public constant, not a credential.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Fleet, FleetService } from '../fleet/model.ts';
import { postgresInitScript, roleName } from './postgres-roles.ts';
import { redisAclFile, redisUser } from './redis-acl.ts';
import { callerKeyFromSeed, callerPublicKey, OPERATOR_CALLER, type CallerKey } from '../../services/_kit/src/caller.ts';

/** The name of the secrets file, beside the fleet's secret files. */
export const SECRETS_FILE_NAME = 'n3xus.env';

/** The compose secrets n3xus writes, by name: the two servers' and each service's. */
export const POSTGRES_PASSWORD_SECRET = 'postgres-password';
/** The SQL PostgreSQL runs at its first start: every service's role, verifiers only (see postgresInitScript). */
export const POSTGRES_ROLES_SECRET = 'postgres-roles';
export const REDIS_ACL_SECRET = 'redis-acl';
export const databaseUrlSecret = (service: string): string => `${service}-database-url`;
/** A service's caller key: the seed of the Ed25519 key it signs its calls with (services/_kit/src/caller.ts). */
export const callerKeySecret = (service: string): string => `${service}-caller-key`;
/** Every caller's public key, `name=key,…`: the services', and n3xus's own (OPERATOR_CALLER). Not secret, shipped as one. */
export const CALLER_KEYS_SECRET = 'caller-keys';
export const redisUrlSecret = (service: string): string => `${service}-redis-url`;

/** The Redis user n3xus itself administers the server as (ACL changes on rotation). */
export const REDIS_ADMIN_USER = 'n3xus-admin';

/** What the secrets file holds. */
export interface InstallSecrets {
  /** The PostgreSQL superuser's password (`POSTGRES_USER`, used by n3xus alone, to create the services' roles). */
  postgresPassword: string;
  /** The Redis admin's password ({@link REDIS_ADMIN_USER}). */
  redisPassword: string;
  /** The key each service's PostgreSQL and Redis passwords are derived from (HMAC-SHA256). */
  serviceKey: string;
}

const KEYS = { postgresPassword: 'N3XUS_POSTGRES_PASSWORD', redisPassword: 'N3XUS_REDIS_PASSWORD', serviceKey: 'N3XUS_SERVICE_KEY' } as const;

/**
 * A secrets file that cannot be used: missing, readable by others, malformed, or rejected by a server. The
 * message names the file (or the service) and what to do.
 */
export class SecretsError extends Error {
  override readonly name = 'SecretsError';
  readonly code: 'SECRETS_INVALID' | 'CREDENTIAL_REJECTED';
  readonly suggestions: readonly string[];

  constructor(message: string, suggestions: readonly string[], code: SecretsError['code'] = 'SECRETS_INVALID', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.suggestions = suggestions;
  }
}

const random = (): string => randomBytes(32).toString('base64url');

/** New secrets: 256 random bits each. */
export function generateSecrets(): InstallSecrets {
  return { postgresPassword: random(), redisPassword: random(), serviceKey: random() };
}

/** A service's own password for `server`, derived from the service key: stable until the key is rotated. */
export function servicePassword(secrets: InstallSecrets, server: 'postgres' | 'redis', service: string): string {
  return createHmac('sha256', secrets.serviceKey).update(`${server}\0${service}`).digest('base64url');
}

/**
 * The seed of `name`'s caller key, derived from the service key like the passwords: stable until the key is
 * rotated. n3xus's own tooling derives {@link OPERATOR_CALLER}'s from the secrets file, which only the operator has.
 */
export function callerSeed(secrets: InstallSecrets, name: string): string {
  return createHmac('sha256', secrets.serviceKey).update(`caller\0${name}`).digest('base64url');
}

/** n3xus's own caller key (verify signs with it), from the secrets file at `file`; undefined when it cannot be read. */
export function operatorCallerKey(file: string): CallerKey | undefined {
  try {
    return callerKeyFromSeed(OPERATOR_CALLER, callerSeed(readSecretsFile(file), OPERATOR_CALLER));
  } catch {
    return undefined;
  }
}

/** The text of the secrets file. */
export function renderSecretsFile(secrets: InstallSecrets): string {
  return [
    '# The secrets of this n3xus install, written by `n3xus bootstrap --fix` (or launch) and by --rotate-secrets.',
    '# Owner-only (mode 0600), ignored by git: never commit, copy or print it. Losing it locks n3xus out of the',
    "# fleet's PostgreSQL data (the only way back is `n3xus down --volumes`, which deletes that data).",
    ...Object.entries(KEYS).map(([field, key]) => `${key}=${secrets[field as keyof InstallSecrets]}`),
    '',
  ].join('\n');
}

/** Parses the text of a secrets file; `file` names it in messages. */
export function parseSecretsFile(text: string, file: string): InstallSecrets {
  const values = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new SecretsError(`${file}:${i + 1}: expected NAME=value; the line is not one.`, [`Restore the file from a backup, or rotate the secrets: n3xus bootstrap --rotate-secrets.`]);
    values.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  });
  const out: Partial<InstallSecrets> = {};
  for (const [field, key] of Object.entries(KEYS)) {
    const value = values.get(key);
    if (value === undefined || value.length < 16) {
      throw new SecretsError(`${file}: ${key} is ${value === undefined ? 'missing' : 'shorter than 16 characters'}.`, [`Restore the file from a backup, or rotate the secrets: n3xus bootstrap --rotate-secrets.`]);
    }
    out[field as keyof InstallSecrets] = value;
  }
  return out as InstallSecrets;
}

/**
 * Reads the secrets file, refusing one that others could read: a group or other permission bit set means the
 * passwords may have been seen, which a chmod alone does not undo.
 */
export function readSecretsFile(file: string): InstallSecrets {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SecretsError(`The secrets file ${file} does not exist.`, ['Create it: n3xus bootstrap --fix (or n3xus launch, which creates it for a new fleet).'], 'SECRETS_INVALID', { cause: error });
    }
    throw new SecretsError(`The secrets file ${file} cannot be read: ${(error as Error).message}.`, ['Check its owner and permissions.'], 'SECRETS_INVALID', { cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new SecretsError(`The secrets file ${file} has mode ${mode.toString(8).padStart(4, '0')}: others can read it; it must be 0600 (owner only).`, [
      `chmod 600 ${file}`,
      'If anyone else may have read it, rotate the secrets too: n3xus bootstrap --rotate-secrets.',
    ]);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SecretsError(`The secrets file ${file} cannot be read: ${(error as Error).message}.`, ['Check its owner and permissions.'], 'SECRETS_INVALID', { cause: error });
  }
  return parseSecretsFile(text, file);
}

/** Writes `text` to `file` whole or not at all (a temporary file, fsynced, renamed over it), with `mode`. */
export function writeFileAtomic(file: string, text: string, mode: number): void {
  // Only the file's own directory is private: the ones above it (.n3xus) hold the process driver's state too.
  mkdirSync(path.dirname(path.dirname(file)), { recursive: true });
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The umask may have narrowed the mode: set it as wanted.
  chmodSync(temp, mode);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Writes the secrets file, owner-only. */
export function writeSecretsFile(file: string, secrets: InstallSecrets): void {
  writeFileAtomic(file, renderSecretsFile(secrets), 0o600);
}

/** Where the fleet's managed secrets live: the secrets file and the directory of the secret files. */
export interface ManagedSecrets {
  /** The secrets file (see {@link SECRETS_FILE_NAME}), beside the PostgreSQL password's secret file. */
  secretsFile: string;
  dir: string;
}

/**
 * Whether n3xus manages the fleet's secrets: it does when the compose file declares the {@link
 * POSTGRES_PASSWORD_SECRET} secret (as the generated one does); the secrets file sits beside that secret's file.
 */
export function managedSecrets(fleet: Fleet): ManagedSecrets | undefined {
  const anchor = fleet.secrets[POSTGRES_PASSWORD_SECRET];
  if (anchor === undefined) return undefined;
  const dir = path.dirname(anchor.file);
  return { secretsFile: path.join(dir, SECRETS_FILE_NAME), dir };
}

/** The PostgreSQL service of the fleet: the infra service whose image or name is PostgreSQL's. */
export function postgresService(fleet: Fleet): FleetService | undefined {
  return fleet.services.find((s) => s.name === 'postgres') ?? fleet.services.find((s) => s.stage === 'infra' && /postgres/i.test(s.image));
}

/** The Redis service of the fleet. */
export function redisService(fleet: Fleet): FleetService | undefined {
  return fleet.services.find((s) => s.name === 'redis') ?? fleet.services.find((s) => s.stage === 'infra' && /redis/i.test(s.image));
}

/** The superuser and database of the fleet's PostgreSQL, as its image reads them from its environment. */
export function postgresAdmin(fleet: Fleet): { user: string; database: string } {
  const env = postgresService(fleet)?.environment ?? {};
  const user = env.POSTGRES_USER || 'postgres';
  return { user, database: env.POSTGRES_DB || user };
}

/** The services that get a PostgreSQL role and a Redis user: those mounting their URL secrets. */
export function credentialedServices(fleet: Fleet): { postgres: string[]; redis: string[]; callers: string[] } {
  const mounts = (s: FleetService, name: string): boolean => s.secrets.some((r) => r.source === name);
  return {
    postgres: fleet.services.filter((s) => mounts(s, databaseUrlSecret(s.name))).map((s) => s.name),
    redis: fleet.services.filter((s) => mounts(s, redisUrlSecret(s.name))).map((s) => s.name),
    callers: fleet.services.filter((s) => mounts(s, callerKeySecret(s.name))).map((s) => s.name),
  };
}

/**
 * The value of every secret of the fleet n3xus writes, by secret name: the PostgreSQL superuser's password, the
 * Redis ACL file (passwords as SHA-256 hashes only), each service's database and Redis URLs with its own role
 * and password, each service's caller key, and every caller's public key. Pure; `current` gives a file's present text, so that PostgreSQL's roles script, whose 98 SCRAM
 * verifiers take ~60 ms to derive, is derived again only when what it is made from changed (its first line says).
 */
export function managedSecretValues(fleet: Fleet, secrets: InstallSecrets, current: (name: string) => string | undefined = () => undefined): Map<string, string> {
  const out = new Map<string, string>();
  const pg = postgresService(fleet);
  const redis = redisService(fleet);
  const { database } = postgresAdmin(fleet);
  const users = credentialedServices(fleet);
  if (fleet.secrets[POSTGRES_PASSWORD_SECRET] !== undefined) out.set(POSTGRES_PASSWORD_SECRET, secrets.postgresPassword);
  if (fleet.secrets[POSTGRES_ROLES_SECRET] !== undefined) {
    const made = `-- made from ${createHmac('sha256', secrets.serviceKey).update(`roles\0${database}\0${users.postgres.join(',')}`).digest('hex').slice(0, 32)}\n`;
    const present = current(POSTGRES_ROLES_SECRET);
    if (present?.startsWith(made)) out.set(POSTGRES_ROLES_SECRET, present);
    else {
      const creds = users.postgres.map((service) => ({ service, password: servicePassword(secrets, 'postgres', service) }));
      // Each verifier's salt derives from the key, so the script is the same every time it is written.
      out.set(POSTGRES_ROLES_SECRET, made + postgresInitScript(database, creds, (service) => createHmac('sha256', secrets.serviceKey).update(`scram-salt\0${service}`).digest().subarray(0, 16)));
    }
  }
  if (fleet.secrets[REDIS_ACL_SECRET] !== undefined) {
    out.set(REDIS_ACL_SECRET, redisAclFile({ user: REDIS_ADMIN_USER, password: secrets.redisPassword }, users.redis.map((service) => ({ service, password: servicePassword(secrets, 'redis', service) }))));
  }
  for (const service of users.postgres) {
    if (pg === undefined || fleet.secrets[databaseUrlSecret(service)] === undefined) continue;
    const password = servicePassword(secrets, 'postgres', service);
    out.set(databaseUrlSecret(service), `postgres://${roleName(service)}:${password}@${pg.name}:${pg.port}/${encodeURIComponent(database)}`);
  }
  for (const service of users.redis) {
    if (redis === undefined || fleet.secrets[redisUrlSecret(service)] === undefined) continue;
    out.set(redisUrlSecret(service), `redis://${encodeURIComponent(redisUser(service))}:${servicePassword(secrets, 'redis', service)}@${redis.name}:${redis.port}`);
  }
  const callers = users.callers.filter((service) => fleet.secrets[callerKeySecret(service)] !== undefined);
  for (const service of callers) out.set(callerKeySecret(service), callerSeed(secrets, service));
  if (fleet.secrets[CALLER_KEYS_SECRET] !== undefined) {
    out.set(CALLER_KEYS_SECRET, [...callers, OPERATOR_CALLER].map((name) => `${name}=${callerPublicKey(callerSeed(secrets, name))}`).join(','));
  }
  return out;
}

/** The present text of a fleet secret's file, or undefined when it has none; each file read once. */
function presentFiles(fleet: Fleet): (name: string) => string | undefined {
  const read = new Map<string, string | undefined>();
  return (name) => {
    if (!read.has(name)) {
      const file = fleet.secrets[name]?.file;
      read.set(name, file !== undefined && existsSync(file) ? readFileSync(file, 'utf8') : undefined);
    }
    return read.get(name);
  };
}

/**
 * Writes the fleet's managed secret files from `secrets`, each readable by the container's own user (0444) inside
 * a directory only the owner may enter (0700); a file already holding its value is left alone. Returns the names
 * of the files written, and every managed secret's value.
 */
export function writeSecretFiles(fleet: Fleet, secrets: InstallSecrets): { written: string[]; values: Map<string, string> } {
  const managed = managedSecrets(fleet);
  if (managed === undefined) return { written: [], values: new Map() };
  mkdirSync(path.dirname(managed.dir), { recursive: true });
  mkdirSync(managed.dir, { recursive: true, mode: 0o700 });
  chmodSync(managed.dir, 0o700);
  const written: string[] = [];
  const present = presentFiles(fleet);
  const values = managedSecretValues(fleet, secrets, present);
  for (const [name, value] of values) {
    if (present(name) === value) continue;
    writeFileAtomic(fleet.secrets[name]!.file, value, 0o444);
    written.push(name);
  }
  return { written, values };
}

/** What {@link ensureSecrets} did. */
export interface EnsuredSecrets {
  secrets: InstallSecrets | undefined;
  managed: ManagedSecrets | undefined;
  /** The secrets file was created now. */
  generated: boolean;
  /** Secret files (re)written. */
  written: string[];
  /** The values of the secrets n3xus manages, by name (what the files now hold). */
  values: Map<string, string>;
}

/**
 * Makes the fleet's secrets ready for a launch: for a fleet whose secrets n3xus manages, reads the secrets file
 * (creating it when `create` and it does not exist) and writes the secret files from it; then checks that every
 * secret file the services mount exists.
 *
 * @throws SecretsError naming the file: a secrets file that others can read or that is malformed, or a missing one.
 */
export function ensureSecrets(fleet: Fleet, services: readonly FleetService[], options: { create: boolean }): EnsuredSecrets {
  const managed = managedSecrets(fleet);
  let secrets: InstallSecrets | undefined;
  let generated = false;
  let written: string[] = [];
  let values = new Map<string, string>();
  if (managed !== undefined) {
    if (!existsSync(managed.secretsFile) && options.create) {
      secrets = generateSecrets();
      writeSecretsFile(managed.secretsFile, secrets);
      generated = true;
    } else secrets = readSecretsFile(managed.secretsFile);
    ({ written, values } = writeSecretFiles(fleet, secrets));
  }
  for (const service of services) {
    for (const ref of service.secrets) {
      const file = fleet.secrets[ref.source]?.file;
      if (file !== undefined && !existsSync(file)) {
        throw new SecretsError(`The secret ${ref.source} of ${service.name} is missing: its file ${file} does not exist.`, [
          managed === undefined ? 'Create the file, or remove the secret from the compose file.' : 'Write the fleet\'s secret files: n3xus bootstrap --fix.',
        ]);
      }
    }
  }
  return { secrets, managed, generated, written, values };
}

/** The state of the fleet's secrets on disk, for bootstrap's check (see checkSecrets). Reads; changes nothing. */
export function secretsState(fleet: Fleet): { secretsFile?: string; exists: boolean; mode?: number; error?: string; stale: string[]; missing: string[]; files: number } {
  const managed = managedSecrets(fleet);
  const files = Object.keys(fleet.secrets).length;
  if (managed === undefined) {
    const missing = Object.values(fleet.secrets).map((s) => s.file).filter((f) => !existsSync(f));
    return { exists: false, stale: [], missing, files };
  }
  const base = { secretsFile: managed.secretsFile, missing: [], files };
  if (!existsSync(managed.secretsFile)) return { ...base, exists: false, stale: [] };
  const mode = statSync(managed.secretsFile).mode & 0o777;
  if ((mode & 0o077) !== 0) return { ...base, exists: true, mode, stale: [] };
  let secrets: InstallSecrets;
  try {
    secrets = readSecretsFile(managed.secretsFile);
  } catch (error) {
    return { ...base, exists: true, mode, error: (error as Error).message, stale: [] };
  }
  const present = presentFiles(fleet);
  const stale = [...managedSecretValues(fleet, secrets, present)].filter(([name, value]) => present(name) !== value).map(([name]) => name);
  return { ...base, exists: true, mode, stale };
}
