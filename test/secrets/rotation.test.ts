/**
 * The install's secrets against a real PostgreSQL (SCRAM authentication) and a real Redis (loaded with the fleet's
 * ACL file, protected mode on), as the fleet's own servers: launch's roles, a password PostgreSQL rejects, and a
 * rotation that keeps every row while the old passwords stop working.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { provisionFleet, rotateSecrets } from '../../src/secrets/provision.ts';
import { ensureSecrets, managedSecrets, servicePassword, type InstallSecrets } from '../../src/secrets/secrets-file.ts';
import { cutSecrets, cutSecretsDir } from '../support/fleet-cut.ts';
import { freePort, startLocalPostgres, startLocalRedis, type LocalServer } from '../support/local-servers.ts';
import { missingServers } from '../support/servers.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

type Services = Record<string, Record<string, unknown>>;
const ours = parse(readFileSync('compose/docker-compose.full.yml', 'utf8'), { merge: true }) as { services: Services };
const PICKED = ['postgres', 'redis', 'identity-registry', 'event-bus'];
const key = `rotation-${process.pid}-${randomBytes(3).toString('hex')}`;
const root = mkdtempSync(path.join(tmpdir(), 'n3xus-rotation-'));

/** Our compose file cut to four services, PostgreSQL and Redis on `ports`, the superuser `postgres`. */
function testFleet(ports: Record<string, number>): Fleet {
  const services: Services = {};
  for (const name of PICKED) {
    const s = structuredClone(ours.services[name]!);
    s.ports = [`127.0.0.1:${ports[name]}:${(s.labels as Record<string, string>)['n3xus.port']}`];
    services[name] = s;
  }
  // The test server's superuser and database (the fleet's own are n3xus).
  services.postgres!.environment = { ...(services.postgres!.environment as Record<string, string>), POSTGRES_USER: 'postgres', POSTGRES_DB: 'postgres' };
  return parseFleet(stringify({ services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} }, secrets: cutSecrets(services, key) }), path.join(root, 'fleet.yml'), { env: {} });
}

const serviceUrl = (port: number, service: string, password: string) => `postgres://${service.replaceAll('-', '_')}:${password}@127.0.0.1:${port}/postgres`;

async function loginError(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  }
}

async function redisLogin(port: number, user: string, password: string): Promise<string> {
  const client = new Redis({ host: '127.0.0.1', port, username: user, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let first: Error | undefined;
  client.on('error', (e: Error) => (first ??= e));
  try {
    await client.connect();
    return await client.ping();
  } catch (error) {
    return (first ?? (error as Error)).message;
  } finally {
    client.disconnect();
  }
}

describeUnless(missingServers, 'secrets on a real PostgreSQL and Redis', () => {
  let postgres: LocalServer;
  let redis: LocalServer;
  let fleet: Fleet;
  let secrets: InstallSecrets;
  let pgPort: number;
  let redisPort: number;
  let secretsFile: string;

  beforeAll(async () => {
    // The secrets first (they do not depend on ports), then the servers they configure, then the fleet on their ports.
    const draft = testFleet({ postgres: await freePort(), redis: await freePort(), 'identity-registry': await freePort(), 'event-bus': await freePort() });
    secrets = ensureSecrets(draft, draft.services, { create: true }).secrets!;
    secretsFile = managedSecrets(draft)!.secretsFile;
    postgres = await startLocalPostgres({ scramPassword: secrets.postgresPassword });
    redis = await startLocalRedis({ args: ['--aclfile', path.join(cutSecretsDir(key), 'redis-acl'), '--protected-mode', 'yes'] });
    pgPort = Number(new URL(postgres.url).port);
    redisPort = Number(new URL(redis.url).port);
    fleet = testFleet({ postgres: pgPort, redis: redisPort, 'identity-registry': await freePort(), 'event-bus': await freePort() });
  });

  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
    rmSync(root, { recursive: true, force: true });
    rmSync(cutSecretsDir(key), { recursive: true, force: true });
  });

  it('gives each service its role with the password of its secret file, and nothing else', async () => {
    await provisionFleet(fleet, secrets, secretsFile);
    const own = new pg.Client({ connectionString: serviceUrl(pgPort, 'identity-registry', servicePassword(secrets, 'postgres', 'identity-registry')) });
    await own.connect();
    try {
      await own.query('CREATE TABLE identity_registry.dids (id text PRIMARY KEY)');
      await own.query("INSERT INTO identity_registry.dids VALUES ('a'), ('b'), ('c')");
      await expect(own.query('CREATE TABLE event_bus.stolen (id int)')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await own.end();
    }
    expect(await redisLogin(redisPort, 'identity-registry', servicePassword(secrets, 'redis', 'identity-registry'))).toBe('PONG');
  });

  it('stops with one message naming the secrets file when PostgreSQL rejects the superuser password', async () => {
    const wrong = { ...secrets, postgresPassword: randomBytes(24).toString('base64url') };
    const error = await provisionFleet(fleet, wrong, secretsFile).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SecretsError', code: 'CREDENTIAL_REJECTED' });
    expect((error as Error).message).toBe(
      `The fleet's PostgreSQL (service postgres, 127.0.0.1:${pgPort}) rejected the password of its superuser postgres from ${secretsFile}: its data was created with other credentials.`,
    );
    expect((error as Error).message).not.toContain(wrong.postgresPassword);
  });

  it('rotates every password on the running servers, keeps every row, and the old passwords stop working', async () => {
    const before = readFileSync(secretsFile, 'utf8');
    const result = await rotateSecrets(fleet);
    expect(result).toMatchObject({ secretsFile, roles: 2, redisUsers: 2, redisApplied: true });
    const after = ensureSecrets(fleet, fleet.services, { create: false }).secrets!;
    expect(readFileSync(secretsFile, 'utf8')).not.toBe(before);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${secretsFile}.next`)).toBe(false);

    expect(await loginError(serviceUrl(pgPort, 'identity-registry', servicePassword(secrets, 'postgres', 'identity-registry')))).toBe('28P01');
    expect(await loginError(`postgres://postgres:${secrets.postgresPassword}@127.0.0.1:${pgPort}/postgres`)).toBe('28P01');
    const own = new pg.Client({ connectionString: serviceUrl(pgPort, 'identity-registry', servicePassword(after, 'postgres', 'identity-registry')) });
    await own.connect();
    try {
      expect((await own.query('SELECT id FROM identity_registry.dids ORDER BY id')).rows).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    } finally {
      await own.end();
    }
    expect(await redisLogin(redisPort, 'identity-registry', servicePassword(secrets, 'redis', 'identity-registry'))).toMatch(/WRONGPASS/);
    expect(await redisLogin(redisPort, 'identity-registry', servicePassword(after, 'redis', 'identity-registry'))).toBe('PONG');
    // The secret files hold the new passwords.
    expect(readFileSync(fleet.secrets['identity-registry-database-url']!.file, 'utf8')).toContain(servicePassword(after, 'postgres', 'identity-registry'));
  });

  it('changes nothing when PostgreSQL is not running, and says so', async () => {
    const before = readFileSync(secretsFile, 'utf8');
    const stopped = testFleet({ postgres: await freePort(), redis: redisPort, 'identity-registry': await freePort(), 'event-bus': await freePort() });
    const error = await rotateSecrets(stopped).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SecretsError', code: 'SECRETS_INVALID', message: expect.stringContaining('does not answer') });
    expect((error as Error).message).toContain('nothing was changed');
    expect(readFileSync(secretsFile, 'utf8')).toBe(before);
  });
});
