import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSecrets } from '../../src/bootstrap/checks.ts';
import { containerSpec } from '../../src/drivers/docker/container-spec.ts';
import { localSecretPaths, localSecretValue } from '../../src/drivers/process/local-env.ts';
import { loadFleet, parseFleet } from '../../src/fleet/model.ts';
import { desiredInstances } from '../../src/launch/desired.ts';
import { driftOf } from '../../src/launch/reconcile.ts';
import { REDIS_HEALTHCHECK_COMMAND } from '../../src/secrets/redis-acl.ts';
import { callerPublicKey, parseCallerKeys } from '../../services/_kit/src/caller.ts';
import {
  callerSeed,
  ensureSecrets,
  generateSecrets,
  managedSecretValues,
  operatorCallerKey,
  parseSecretsFile,
  readSecretsFile,
  renderSecretsFile,
  secretsState,
  servicePassword,
  writeSecretsFile,
} from '../../src/secrets/secrets-file.ts';

const dirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'n3xus-secrets-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Our compose file, read as if it were in `<root>/compose`, so that its secrets live in `<root>/.n3xus/secrets`. */
function ourFleetIn(root: string) {
  const text = readFileSync('compose/docker-compose.full.yml', 'utf8');
  return parseFleet(text, path.join(root, 'compose', 'docker-compose.full.yml'), { env: {} });
}

describe('the secrets file', () => {
  it('round-trips through its text, and refuses a malformed or short one, naming the file and line', () => {
    const secrets = generateSecrets();
    expect(parseSecretsFile(renderSecretsFile(secrets), 'f')).toEqual(secrets);
    expect(() => parseSecretsFile('N3XUS_POSTGRES_PASSWORD\n', '/x/n3xus.env')).toThrow('/x/n3xus.env:1: expected NAME=value');
    expect(() => parseSecretsFile('N3XUS_POSTGRES_PASSWORD=short\n', '/x/n3xus.env')).toThrow('/x/n3xus.env: N3XUS_POSTGRES_PASSWORD is shorter than 16 characters.');
    expect(() => parseSecretsFile('', '/x/n3xus.env')).toThrow('N3XUS_POSTGRES_PASSWORD is missing');
  });

  it('is written owner-only, and refused with its mode named when others can read it', () => {
    const file = path.join(tmp(), 'n3xus.env');
    const secrets = generateSecrets();
    writeSecretsFile(file, secrets);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readSecretsFile(file)).toEqual(secrets);
    chmodSync(file, 0o644);
    expect(() => readSecretsFile(file)).toThrow(`The secrets file ${file} has mode 0644: others can read it; it must be 0600 (owner only).`);
    try {
      readSecretsFile(file);
    } catch (error) {
      expect(error).toMatchObject({ code: 'SECRETS_INVALID', suggestions: [`chmod 600 ${file}`, expect.stringContaining('rotate')] });
    }
  });

  it('is named when missing', () => {
    const file = path.join(tmp(), 'n3xus.env');
    expect(() => readSecretsFile(file)).toThrow(`The secrets file ${file} does not exist.`);
  });

  it("derives each service's passwords from the key: stable, distinct per service and per server", () => {
    const secrets = generateSecrets();
    const a = servicePassword(secrets, 'postgres', 'identity-registry');
    expect(servicePassword(secrets, 'postgres', 'identity-registry')).toBe(a);
    expect(servicePassword(secrets, 'redis', 'identity-registry')).not.toBe(a);
    expect(servicePassword(secrets, 'postgres', 'event-bus')).not.toBe(a);
    expect(servicePassword({ ...secrets, serviceKey: generateSecrets().serviceKey }, 'postgres', 'identity-registry')).not.toBe(a);
  });
});

describe("the fleet's secret files", () => {
  it("hold each service's own role and user in its URLs, and the Redis ACL holds no plaintext password", () => {
    const fleet = ourFleetIn(tmp());
    const secrets = generateSecrets();
    const values = managedSecretValues(fleet, secrets);
    // The servers' three, and per service its database URL, its Redis URL and its caller key; every caller's public key.
    expect(values.size).toBe(3 + 3 * 98 + 1);
    const seed = values.get('identity-registry-caller-key')!;
    expect(seed).toBe(callerSeed(secrets, 'identity-registry'));
    expect(seed).not.toBe(callerSeed(secrets, 'event-bus'));
    // The public list names every service and n3xus's own tooling, and holds no seed.
    const publicKeys = parseCallerKeys(values.get('caller-keys'), 'caller-keys');
    expect(publicKeys.size).toBe(99);
    expect(publicKeys.has('n3xus-operator')).toBe(true);
    expect(values.get('caller-keys')).toContain(`identity-registry=${callerPublicKey(seed)}`);
    expect(values.get('caller-keys')).not.toContain(seed);
    expect(values.get('postgres-password')).toBe(secrets.postgresPassword);
    expect(values.get('identity-registry-database-url')).toBe(`postgres://identity_registry:${servicePassword(secrets, 'postgres', 'identity-registry')}@postgres:5432/n3xus`);
    expect(values.get('identity-registry-redis-url')).toBe(`redis://identity-registry:${servicePassword(secrets, 'redis', 'identity-registry')}@redis:6379`);
    const acl = values.get('redis-acl')!;
    expect(acl).not.toContain(secrets.redisPassword);
    expect(acl).not.toContain(servicePassword(secrets, 'redis', 'identity-registry'));
    // PostgreSQL's first-start script: verifiers only, and the same script each time it is written.
    const roles = values.get('postgres-roles')!;
    expect(roles).toMatch(/^CREATE ROLE "identity_registry" LOGIN NOSUPERUSER .* PASSWORD 'SCRAM-SHA-256\$4096:/m);
    expect(roles).toContain('CREATE SCHEMA "identity_registry" AUTHORIZATION "identity_registry";');
    expect(roles).not.toContain(servicePassword(secrets, 'postgres', 'identity-registry'));
    expect(managedSecretValues(fleet, secrets).get('postgres-roles')).toBe(roles);
  });

  it('are created with the secrets file on first need, owner-only inside, and reported stale or fine by the check', () => {
    const root = tmp();
    const fleet = ourFleetIn(root);
    const before = secretsState(fleet);
    expect(checkSecrets(before)).toMatchObject({ result: { status: 'fail', detail: expect.stringContaining('does not exist') }, repair: { kind: 'write-secrets', create: true } });
    expect(() => ensureSecrets(fleet, fleet.services, { create: false })).toThrow('does not exist');
    const ensured = ensureSecrets(fleet, fleet.services, { create: true });
    expect(ensured).toMatchObject({ generated: true, managed: { secretsFile: path.join(root, '.n3xus', 'secrets', 'n3xus.env') } });
    expect(ensured.written).toHaveLength(3 + 3 * 98 + 1);
    const dir = path.join(root, '.n3xus', 'secrets');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'n3xus.env')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'identity-registry-database-url')).mode & 0o777).toBe(0o444);
    expect(checkSecrets(secretsState(fleet)).result.status).toBe('ok');
    // A second time: nothing to write.
    expect(ensureSecrets(fleet, fleet.services, { create: true })).toMatchObject({ generated: false, written: [] });
    rmSync(path.join(dir, 'event-bus-redis-url'));
    expect(checkSecrets(secretsState(fleet))).toMatchObject({ result: { status: 'fail', detail: expect.stringContaining('event-bus-redis-url') }, repair: { kind: 'write-secrets', create: false } });
    chmodSync(path.join(dir, 'n3xus.env'), 0o640);
    expect(checkSecrets(secretsState(fleet))).toMatchObject({ result: { status: 'fail', detail: expect.stringContaining('mode 0640') } });
    expect(checkSecrets(secretsState(fleet)).repair).toBeUndefined();
  });

  it("give n3xus's own tooling a caller key from the secrets file, which the services' list holds, and none without it", () => {
    const root = tmp();
    const fleet = ourFleetIn(root);
    const { managed, values } = ensureSecrets(fleet, fleet.services, { create: true });
    const key = operatorCallerKey(managed!.secretsFile)!;
    expect(key.name).toBe('n3xus-operator');
    const listed = parseCallerKeys(values.get('caller-keys'), 'caller-keys').get('n3xus-operator')!;
    expect(listed.export({ format: 'jwk' })).toEqual(parseCallerKeys(`n3xus-operator=${callerPublicKey(callerSeed(readSecretsFile(managed!.secretsFile), 'n3xus-operator'))}`, 'x').get('n3xus-operator')!.export({ format: 'jwk' }));
    expect(operatorCallerKey(path.join(root, 'missing.env'))).toBeUndefined();
  });

  it("of a compose file's own are only checked for presence", () => {
    const root = tmp();
    const text = [
      'services:',
      '  web:',
      '    image: x',
      '    ports: ["127.0.0.1:8080:8080"]',
      '    labels: { n3xus.stage: core, n3xus.group: g, n3xus.category: c, n3xus.port: "8080" }',
      '    secrets: [token]',
      'secrets:',
      '  token: { file: ./token.txt }',
    ].join('\n');
    const fleet = parseFleet(text, path.join(root, 'fleet.yml'), { env: {} });
    expect(checkSecrets(secretsState(fleet)).result).toMatchObject({ status: 'fail', detail: expect.stringContaining(path.join(root, 'token.txt')) });
    expect(() => ensureSecrets(fleet, fleet.services, { create: true })).toThrow(`The secret token of web is missing: its file ${path.join(root, 'token.txt')} does not exist.`);
    writeFileSync(path.join(root, 'token.txt'), 't');
    expect(checkSecrets(secretsState(fleet)).result.status).toBe('ok');
  });

  it('must be declared at the top level, and mount as file names under /run/secrets', () => {
    const service = (secrets: string) =>
      ['services:', '  web:', '    image: x', '    ports: ["127.0.0.1:8080:8080"]', '    labels: { n3xus.stage: core, n3xus.group: g, n3xus.category: c, n3xus.port: "8080" }', `    secrets: ${secrets}`].join('\n');
    expect(() => parseFleet(service('[token]'), 'f.yml', { env: {} })).toThrow('key "secrets[0]": expected a secret declared under the top-level secrets (none declared); got "token"');
    expect(() => parseFleet(service('[{source: token, target: /etc/token}]'), 'f.yml', { env: {} })).toThrow('target a file name under /run/secrets');
    expect(() => parseFleet(`${service('[]')}\n    pids_limit: 0`, 'f.yml', { env: {} })).toThrow('pids_limit');
    expect(() => parseFleet(`${service('[]')}\n    cpus: -1`, 'f.yml', { env: {} })).toThrow('cpus');
  });
});

describe("the fleet's Redis", () => {
  it('is health-checked as the health user, with the command the ACL module defines', () => {
    const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });
    expect(fleet.services.find((s) => s.name === 'redis')!.healthcheck!.test).toEqual(['CMD', ...REDIS_HEALTHCHECK_COMMAND]);
  });
});

describe('secrets in the drivers', () => {
  const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });
  const services = fleet.services.filter((s) => ['postgres', 'identity-registry'].includes(s.name));
  const values = new Map([
    ['postgres-password', 'pw'],
    ['identity-registry-database-url', 'postgres://identity_registry:x@postgres:5432/n3xus'],
    ['identity-registry-redis-url', 'redis://identity-registry:y@redis:6379'],
  ]);

  it('Docker: bind-mounts each secret file read-only under /run/secrets, with no credential in the environment', () => {
    const [pg, ir] = desiredInstances(fleet, 'n3xus', services, new Map(), new Map(), values).map(containerSpec);
    expect(ir!.mounts).toContainEqual({ type: 'bind', source: fleet.secrets['identity-registry-database-url']!.file, target: '/run/secrets/database-url', readOnly: true });
    expect(ir!.env).toMatchObject({ DATABASE_URL_FILE: '/run/secrets/database-url', REDIS_URL_FILE: '/run/secrets/redis-url' });
    for (const spec of [pg!, ir!]) for (const value of Object.values(spec.env ?? {})) expect(value).not.toMatch(/:x@|:y@|^pw$/);
    expect(pg!.pidsLimit).toBe(600);
    expect(ir!.pidsLimit).toBe(64);
    expect(ir!.nanoCpus).toBe(500_000_000);
    expect(pg!.nanoCpus).toBeUndefined();
  });

  it('recreates an instance whose secret changed, and says so; unread values are no difference', () => {
    const [, before] = desiredInstances(fleet, 'n3xus', services, new Map(), new Map(), values);
    const changed = new Map(values).set('identity-registry-redis-url', 'redis://identity-registry:z@redis:6379');
    const [, after] = desiredInstances(fleet, 'n3xus', services, new Map(), new Map(), changed);
    const [, unread] = desiredInstances(fleet, 'n3xus', services, new Map(), new Map());
    const have = { labels: before!.labels, imageId: '' };
    expect(driftOf(before!, have)).toBeUndefined();
    expect(driftOf(after!, have)).toBe('secrets changed');
    expect(driftOf(unread!, have)).toBeUndefined();
  });

  it('process: a secret path points at its local file, and a URL in it at the published port', () => {
    expect(localSecretPaths({ DATABASE_URL_FILE: '/run/secrets/database-url', PORT: '1' }, new Map([['database-url', '/state/secrets/x/database-url']]))).toEqual({
      DATABASE_URL_FILE: '/state/secrets/x/database-url',
      PORT: '1',
    });
    expect(localSecretValue('postgres://r:p@postgres:5432/n3xus', new Map([['postgres:5432', 15432]]))).toBe('postgres://r:p@127.0.0.1:15432/n3xus');
    expect(localSecretValue('postgres://r:p@postgres:5432/n3xus', new Map(), new Map([['postgres', 'postgres://me:mine@db.example:5432/x']]))).toBe('postgres://me:mine@db.example:5432/x');
  });
});

describe('the roles module', () => {
  it("names each role as the kit names the service's schema, and quotes as pg does", async () => {
    const { schemaName } = await import('../../services/_kit/src/db.ts');
    const { roleName } = await import('../../src/secrets/postgres-roles.ts');
    const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });
    for (const s of fleet.services) expect(roleName(s.name)).toBe(schemaName(s.name));
  });
});
