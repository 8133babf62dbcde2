/**
 * What a launch and a rotation do with the install's secrets on the fleet's servers: give each service its own
 * PostgreSQL role (owning its schema only) before any service starts, and on rotation change every password on
 * the running servers before the new secret files replace the old ones. The servers are reached on their published
 * 127.0.0.1 ports, as the superuser and the Redis admin.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { Fleet } from '../fleet/model.ts';
import { provisionPostgres, scramVerifier } from './postgres-roles.ts';
import { applyRedisAcl } from './redis-acl.ts';
import {
  credentialedServices,
  generateSecrets,
  managedSecrets,
  postgresAdmin,
  postgresService,
  readSecretsFile,
  REDIS_ADMIN_USER,
  redisService,
  SecretsError,
  servicePassword,
  writeFileAtomic,
  renderSecretsFile,
  parseSecretsFile,
  writeSecretFiles,
  type InstallSecrets,
} from './secrets-file.ts';

/**
 * The values of the fleet's secrets the given services mount, by secret name: those in `known` (the ones n3xus
 * has just written), the others read from their files.
 */
export function readSecretValues(fleet: Fleet, services: readonly { secrets: readonly { source: string }[] }[], known: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const values = new Map<string, string>();
  for (const service of services) for (const ref of service.secrets) if (known.has(ref.source)) values.set(ref.source, known.get(ref.source)!);
  for (const service of services) {
    for (const ref of service.secrets) {
      const file = fleet.secrets[ref.source]?.file;
      if (file !== undefined && !values.has(ref.source)) values.set(ref.source, readFileSync(file, 'utf8'));
    }
  }
  return values;
}

/** The superuser's URL of the fleet's PostgreSQL on its published loopback port, with `password`. */
export function adminPostgresUrl(fleet: Fleet, password: string): string | undefined {
  const pg = postgresService(fleet);
  if (pg === undefined) return undefined;
  const { user, database } = postgresAdmin(fleet);
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${pg.hostPort}/${encodeURIComponent(database)}`;
}

function adminRedisUrl(fleet: Fleet, password: string): string | undefined {
  const redis = redisService(fleet);
  return redis === undefined ? undefined : `redis://${encodeURIComponent(REDIS_ADMIN_USER)}:${encodeURIComponent(password)}@127.0.0.1:${redis.hostPort}`;
}

const code = (error: unknown): string | undefined => (error as { code?: string }).code;

function rejected(fleet: Fleet, file: string, error: unknown): SecretsError {
  const pg = postgresService(fleet);
  const { user } = postgresAdmin(fleet);
  return new SecretsError(
    `The fleet's PostgreSQL (service ${pg?.name ?? 'postgres'}, 127.0.0.1:${pg?.hostPort}) rejected the password of its superuser ${user} from ${file}: its data was created with other credentials.`,
    [
      `Restore ${file} from a backup (its data expects the credentials it was created with).`,
      'Or start the fleet over: n3xus down --volumes (this deletes the fleet\'s PostgreSQL data), then n3xus launch.',
    ],
    'CREDENTIAL_REJECTED',
    { cause: error },
  );
}

/** Whether an error says PostgreSQL refused the password (SQLSTATE 28P01) or the role (28000). */
export function isAuthFailure(error: unknown): boolean {
  const found = code(error) ?? code((error as { cause?: unknown } | undefined)?.cause);
  return found === '28P01' || found === '28000';
}

/**
 * Creates or updates every service's PostgreSQL role from `secrets`, idempotently, on the fleet's running
 * PostgreSQL. A fleet whose PostgreSQL n3xus does not run (a server given by URL, or the process driver's embedded
 * stand-in, which has no roles) is left alone: `provisionable` says which.
 *
 * @throws SecretsError (CREDENTIAL_REJECTED) when PostgreSQL rejects the superuser's password.
 */
export async function provisionFleet(fleet: Fleet, secrets: InstallSecrets, secretsFile: string): Promise<void> {
  const url = adminPostgresUrl(fleet, secrets.postgresPassword);
  if (url === undefined) return;
  const { database } = postgresAdmin(fleet);
  const creds = credentialedServices(fleet).postgres.map((service) => ({ service, password: servicePassword(secrets, 'postgres', service) }));
  try {
    await provisionPostgres(url, database, creds);
  } catch (error) {
    if (isAuthFailure(error)) throw rejected(fleet, secretsFile, error);
    throw error;
  }
}

/** What a rotation changed. */
export interface RotationResult {
  secretsFile: string;
  roles: number;
  redisUsers: number;
  /** Whether the running Redis took the new users now (else it reads them when it is next started). */
  redisApplied: boolean;
  /** Secret files rewritten. */
  written: string[];
}

/**
 * Rotates the install's secrets on a running fleet: new passwords for the PostgreSQL superuser, every service's
 * role and every Redis user, changed on the running servers first, then written to the secrets file and the secret
 * files. Rows are untouched (only passwords change). The new secrets are written beside the file first
 * (`<file>.next`), so an interrupted rotation can be run again: it then logs in with whichever of the two the
 * server has.
 *
 * @throws SecretsError when the secrets file is missing or unusable, PostgreSQL is not running (its passwords
 * could not be changed, so nothing is), or it rejects both passwords.
 */
export async function rotateSecrets(fleet: Fleet): Promise<RotationResult> {
  const managed = managedSecrets(fleet);
  if (managed === undefined) {
    throw new SecretsError(`The compose file ${fleet.file} declares no postgres-password secret: its secrets are not n3xus's to rotate.`, ['Rotate them the way they were made, or use the generated compose file.']);
  }
  const file = managed.secretsFile;
  const current = readSecretsFile(file);
  const pending = `${file}.next`;
  const interrupted = existsSync(pending) ? parseSecretsFile(readFileSync(pending, 'utf8'), pending) : undefined;
  const next = generateSecrets();
  const pg = postgresService(fleet);
  const { user, database } = postgresAdmin(fleet);
  const users = credentialedServices(fleet);

  // The superuser's password the server has now: the file's, or an interrupted rotation's.
  const pgModule = (await import('pg')).default;
  let live: InstallSecrets = current;
  const connect = async (secrets: InstallSecrets): Promise<InstanceType<typeof pgModule.Client>> => {
    const client = new pgModule.Client({ connectionString: adminPostgresUrl(fleet, secrets.postgresPassword)!, connectionTimeoutMillis: 5000 });
    await client.connect();
    return client;
  };
  let client: InstanceType<typeof pgModule.Client> | undefined;
  if (pg !== undefined) {
    try {
      client = await connect(current);
    } catch (error) {
      if (isAuthFailure(error) && interrupted !== undefined) {
        client = await connect(interrupted).catch((again: unknown) => {
          throw isAuthFailure(again) ? rejected(fleet, file, again) : again;
        });
        live = interrupted;
      } else if (isAuthFailure(error)) throw rejected(fleet, file, error);
      else {
        throw new SecretsError(
          `The fleet's PostgreSQL (service ${pg.name}, 127.0.0.1:${pg.hostPort}) does not answer (${(error as Error).message}): rotation changes the passwords stored in it, so nothing was changed.`,
          ['Launch the fleet first (n3xus launch), then rotate.', 'A fleet that was never launched needs no rotation: delete the secrets file and run n3xus bootstrap --fix.'],
          'SECRETS_INVALID',
          { cause: error },
        );
      }
    }
  }

  writeFileAtomic(pending, renderSecretsFile(next), 0o600);
  // If anything below fails, the servers may have the new passwords already: <file>.next stays, so that running
  // the rotation again finishes it (it logs in with whichever password the server has).
  if (client !== undefined) {
    await client.end();
    await provisionPostgres(adminPostgresUrl(fleet, live.postgresPassword)!, database, users.postgres.map((service) => ({ service, password: servicePassword(next, 'postgres', service) })));
    const admin = await connect(live);
    try {
      await admin.query(`ALTER ROLE "${user.replaceAll('"', '""')}" PASSWORD '${scramVerifier(next.postgresPassword)}'`);
    } finally {
      await admin.end();
    }
  }
  // Redis has the password of the file, or, after an interrupted rotation, possibly the other one.
  let redisApplied = false;
  const wanted = { user: REDIS_ADMIN_USER, password: next.redisPassword };
  const redisUsers = users.redis.map((service) => ({ service, password: servicePassword(next, 'redis', service) }));
  for (const candidate of [...new Set([live.redisPassword, current.redisPassword, interrupted?.redisPassword])]) {
    const redisUrl = candidate === undefined ? undefined : adminRedisUrl(fleet, candidate);
    if (redisUrl === undefined) continue;
    try {
      await applyRedisAcl(redisUrl, wanted, redisUsers);
      redisApplied = true;
      break;
    } catch (error) {
      // A Redis that is not running keeps nothing: it reads the new users from its ACL file when started.
      if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test((error as Error).message)) break;
      if (!/WRONGPASS/.test((error as Error).message)) throw error;
    }
  }
  renameSync(pending, file);
  const { written } = writeSecretFiles(fleet, next);
  return { secretsFile: file, roles: users.postgres.length, redisUsers: users.redis.length, redisApplied, written };
}
