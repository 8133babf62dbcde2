import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache, Logger, type RunningService } from '@n3xus/kit';
import eventBus from '../../services/event-bus/app.ts';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { provisionPostgres, roleName } from '../../src/secrets/postgres-roles.ts';
import {
  applyRedisAcl,
  CHANNEL_GRANTS,
  REDIS_HEALTHCHECK_COMMAND,
  redisAclFile,
  RedisAclError,
  serviceRules,
  type RedisAdmin,
  type ServiceSecret,
} from '../../src/secrets/redis-acl.ts';
import { call } from '../support/http.ts';
import { startLocalRedis } from '../support/local-servers.ts';
import { eventually, freshDatabase, missingServers, postgresUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

const secret = () => randomBytes(18).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('redisAclFile', () => {
  const fixed = { user: 'n3xus-admin', password: 'a'.repeat(16) };
  const text = redisAclFile(fixed, [
    { service: 'webhook-dispatcher', password: 'w'.repeat(16) },
    { service: 'identity-registry', password: 'i'.repeat(16) },
    { service: 'event-bus', password: 'e'.repeat(16) },
  ]);

  it('gives each user exactly its rules, with passwords only as SHA-256', () => {
    const hash = (c: string) => `#${sha256(c.repeat(16))}`;
    const base = '-@all +get +set +del +ping +evalsha +eval +incrby +pttl +expire';
    expect(text).toBe(
      [
        'user default off resetpass sanitize-payload resetkeys resetchannels -@all',
        `user n3xus-admin on ${hash('a')} sanitize-payload ~* &* +@all`,
        'user health on nopass sanitize-payload resetkeys resetchannels -@all +ping',
        `user event-bus on ${hash('e')} sanitize-payload resetkeys ~n3xus:event-bus:* resetchannels &n3xus:events:* ${base} +publish`,
        `user identity-registry on ${hash('i')} sanitize-payload resetkeys ~n3xus:identity-registry:* resetchannels ${base}`,
        `user webhook-dispatcher on ${hash('w')} sanitize-payload resetkeys ~n3xus:webhook-dispatcher:* resetchannels &n3xus:events:* ${base} +psubscribe +punsubscribe -publish -spublish`,
        '',
      ].join('\n'),
    );
    for (const c of 'aewi') expect(text).not.toContain(c.repeat(16));
  });

  it('grants channels to event-bus and webhook-dispatcher only', () => {
    expect(Object.keys(CHANNEL_GRANTS).sort()).toEqual(['event-bus', 'webhook-dispatcher']);
    expect(serviceRules('audit-trail').filter((r) => r.startsWith('&') || /publish|subscribe/.test(r))).toEqual([]);
  });

  it('refuses input it cannot build an ACL from, saying what is wrong', () => {
    const build = (list: ServiceSecret[], who = fixed) => () => redisAclFile(who, list);
    expect(build([{ service: 'audit-trail', password: 'n3xus' }])).toThrow(/password of service audit-trail to be a string of at least 16/);
    expect(build([{ service: 'Audit', password: 'p'.repeat(16) }])).toThrow(/got "Audit"/);
    expect(build([{ service: 'health', password: 'p'.repeat(16) }])).toThrow(/Service health has the name of a Redis user the ACL reserves/);
    expect(build([], { user: 'default', password: 'p'.repeat(16) })).toThrow(/admin user/);
    expect(build([{ service: 'a', password: 'p'.repeat(16) }, { service: 'a', password: 'p'.repeat(16) }])).toThrow(/listed twice/);
  });
});

/** Why the suites below cannot run here: they start redis-servers of their own and run redis-cli. */
const missing =
  missingServers ||
  ['redis-server', 'redis-cli'].filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0).map((bin) => `${bin} is not installed`).join('; ');


interface AclRedis {
  host: string;
  port: number;
  /** `redis://<user>:<password>@<host>:<port>` */
  urlFor(user: string, password: string): string;
  stop(): Promise<void>;
}

/** A redis-server loaded with the ACL file of `admin` and `services`, protected mode on. */
async function aclRedis(admin: RedisAdmin, services: ServiceSecret[], bind?: string): Promise<AclRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'n3xus-acl-'));
  const file = join(dir, 'users.acl');
  writeFileSync(file, redisAclFile(admin, services), { mode: 0o600 });
  const server = await startLocalRedis({ ...(bind ? { bind } : {}), args: ['--aclfile', file, '--protected-mode', 'yes'] });
  const { hostname, port } = new URL(server.url);
  return {
    host: hostname,
    port: Number(port),
    urlFor: (user, password) => `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${hostname}:${port}`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A plain client that fails at once instead of retrying, so a refusal is seen as it is. */
function client(url: string, protocol: 2 | 3 = 3): Redis {
  const c = new Redis(url, { protocol, enableReadyCheck: false, disableClientInfo: true, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  c.on('error', () => undefined);
  return c;
}

/** The reply to one command, or the first word of the error (`NOPERM`, `NOAUTH`, `WRONGPASS`). */
async function reply(c: Redis, ...args: string[]): Promise<unknown> {
  try {
    return await c.call(args[0]!, ...args.slice(1));
  } catch (err) {
    return (err as Error).message.split(' ')[0];
  }
}

/** Logs in as `user` with `password`: 'OK', or the first word of the refusal. */
async function login(url: string): Promise<{ c: Redis; outcome: string }> {
  const c = client(url);
  // A refused login closes the connection; the refusal itself is the first error emitted.
  let first: Error | undefined;
  c.on('error', (err: Error) => (first ??= err));
  try {
    await c.connect();
    return { c, outcome: 'OK' };
  } catch (err) {
    return { c, outcome: (first ?? (err as Error)).message.split(' ')[0]! };
  }
}

describeUnless(missing, "a Redis loaded with the fleet's ACL file", () => {
  const admin = { user: 'n3xus-admin', password: secret() };
  const services: ServiceSecret[] = ['event-bus', 'webhook-dispatcher', 'identity-registry', 'audit-trail'].map((service) => ({ service, password: secret() }));
  const as = (service: string) => client(redis.urlFor(service, services.find((s) => s.service === service)!.password));
  let redis: AclRedis;
  let root: Redis;
  const opened: Redis[] = [];
  const open = (c: Redis) => (opened.push(c), c);

  beforeAll(async () => {
    redis = await aclRedis(admin, services);
    root = open(client(redis.urlFor(admin.user, admin.password)));
  });
  afterAll(async () => {
    for (const c of opened) c.disconnect();
    await redis?.stop();
  });

  it('lets a service read and write its own keys only', async () => {
    const id = open(as('identity-registry'));
    expect(await reply(id, 'SET', 'n3xus:identity-registry:k', 'v')).toBe('OK');
    expect(await reply(id, 'GET', 'n3xus:identity-registry:k')).toBe('v');
    await root.set('n3xus:audit-trail:k', 'theirs');
    expect(await reply(id, 'GET', 'n3xus:audit-trail:k')).toBe('NOPERM');
    expect(await reply(id, 'SET', 'n3xus:audit-trail:k', 'mine')).toBe('NOPERM');
    expect(await reply(id, 'DEL', 'n3xus:audit-trail:k')).toBe('NOPERM');
    for (const command of [['KEYS', '*'], ['SCAN', '0'], ['FLUSHALL'], ['CONFIG', 'GET', '*'], ['INFO'], ['ACL', 'LIST'], ['MONITOR']]) {
      expect(await reply(id, ...command), command.join(' ')).toBe('NOPERM');
    }
    expect(await root.get('n3xus:audit-trail:k')).toBe('theirs');
  });

  it('refuses an event published by any service but event-bus', async () => {
    for (const service of ['identity-registry', 'audit-trail', 'webhook-dispatcher']) {
      expect(await reply(open(as(service)), 'PUBLISH', 'n3xus:events:x', '{"forged":true}'), service).toBe('NOPERM');
      expect(await reply(open(as(service)), 'SPUBLISH', 'n3xus:events:x', '{"forged":true}'), service).toBe('NOPERM');
    }
    expect(await reply(open(as('event-bus')), 'PUBLISH', 'n3xus:elsewhere', 'x')).toBe('NOPERM');
  });

  it('delivers what event-bus publishes to webhook-dispatcher through PSUBSCRIBE, and to no wider pattern', async () => {
    const sub = open(as('webhook-dispatcher'));
    const got: string[] = [];
    sub.on('pmessage', (_pattern: string, channel: string, message: string) => got.push(`${channel} ${message}`));
    await sub.psubscribe('n3xus:events:*');
    expect(await reply(open(as('event-bus')), 'PUBLISH', 'n3xus:events:orders', 'hello')).toBe(1);
    await eventually(() => got.length > 0);
    expect(got).toEqual(['n3xus:events:orders hello']);
    expect(await reply(open(as('webhook-dispatcher')), 'PSUBSCRIBE', 'n3xus:*')).toBe('NOPERM');
    expect(await reply(open(as('identity-registry')), 'PSUBSCRIBE', 'n3xus:events:*')).toBe('NOPERM');
  });

  it('runs the kit’s Cache, rate limiter included, as the service’s user without one refusal', async () => {
    await root.call('ACL', 'LOG', 'RESET');
    const cache = new Cache(redis.urlFor('identity-registry', services[2]!.password), 'identity-registry', new Logger('identity-registry', 'error', () => undefined), 2);
    try {
      await eventually(async () => (await cache.check()).status === 'up');
      await cache.set('doc', { did: 'x' });
      expect(await cache.get('doc')).toEqual({ did: 'x' });
      await cache.delete('doc');
      expect(await cache.get('doc')).toBeUndefined();
      const decisions = [await cache.consume('10.0.0.1'), await cache.consume('10.0.0.1'), await cache.consume('10.0.0.1')];
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
      await root.script('FLUSH'); // the limiter's next call finds no script by SHA and sends it whole (EVAL)
      expect((await cache.consume('10.0.0.2')).remaining).toBe(1);
      expect(await root.exists('n3xus:identity-registry:rl:10.0.0.1')).toBe(1);
    } finally {
      await cache.close();
    }
    expect(await root.call('ACL', 'LOG')).toEqual([]);
  });

  it('runs event-bus and webhook-dispatcher as their own users and PostgreSQL roles without one refusal', async () => {
    await root.call('ACL', 'LOG', 'RESET');
    const databaseUrl = await freshDatabase();
    const pgSecrets = ['event-bus', 'webhook-dispatcher'].map((service) => ({ service, password: secret() }));
    await provisionPostgres(postgresUrl, new URL(databaseUrl).pathname.slice(1), pgSecrets);
    const asRole = (service: string) => Object.assign(new URL(databaseUrl), { username: roleName(service) }).toString();
    const redisOf = (service: string) => redis.urlFor(service, services.find((s) => s.service === service)!.password);
    const running: { svc: RunningService; logs: LogLines }[] = [];
    try {
      const bus = await startTestService(eventBus, { service: 'event-bus', databaseUrl: asRole('event-bus'), redisUrl: redisOf('event-bus') });
      running.push(bus);
      const dispatcher = await startTestService(webhookDispatcher, { service: 'webhook-dispatcher', databaseUrl: asRole('webhook-dispatcher'), redisUrl: redisOf('webhook-dispatcher') });
      running.push(dispatcher);
      await Promise.all([bus.svc.ready, dispatcher.svc.ready]);
      await eventually(() => dispatcher.logs.some((l) => l.event === 'subscribed'));
      const heard = open(as('webhook-dispatcher'));
      const got: string[] = [];
      heard.on('pmessage', (_p: string, channel: string) => got.push(channel));
      await heard.psubscribe('n3xus:events:*');
      const res = await call(bus.svc.url, 'POST', '/v1/topics/orders/events', { payload: { n: 1 } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ published: true });
      await eventually(() => got.includes('n3xus:events:orders'));
      expect(dispatcher.logs.filter((l) => l.level === 'warn').map((l) => l.event)).toEqual([]);
    } finally {
      for (const { svc } of running.reverse()) await svc.close();
    }
    expect(await root.call('ACL', 'LOG')).toEqual([]);
  });

  it('lets the default user do nothing without a password', async () => {
    // RESP2: a RESP3 client's HELLO without credentials is itself refused, so it would not get as far as asking.
    const anonymous = open(client(`redis://${redis.host}:${redis.port}`, 2));
    await anonymous.connect();
    expect(await reply(anonymous, 'PING')).toBe('NOAUTH');
    expect(await reply(anonymous, 'GET', 'n3xus:audit-trail:k')).toBe('NOAUTH');
    expect(await reply(anonymous, 'AUTH', 'default', 'anything')).toBe('WRONGPASS');
    expect(await reply(anonymous, 'AUTH', 'anything')).toBe('WRONGPASS');
  });

  it('gives the health user PONG and nothing else, so the healthcheck exits 0 on PONG only', async () => {
    const health = open(client(`redis://health:whatever@${redis.host}:${redis.port}`));
    expect(await reply(health, 'PING')).toBe('PONG');
    for (const command of [['GET', 'n3xus:audit-trail:k'], ['INFO'], ['PUBLISH', 'n3xus:events:x', 'y'], ['CONFIG', 'GET', '*']]) {
      expect(await reply(health, ...command), command.join(' ')).toBe('NOPERM');
    }
    // The compose healthcheck runs inside the Redis container (port 6379); here the port goes before the command.
    const healthcheck = (port: number, command = ['ping']) => {
      const argv = [...REDIS_HEALTHCHECK_COMMAND.slice(0, -1), '-h', redis.host, '-p', String(port), ...command];
      return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    };
    expect(healthcheck(redis.port)).toMatchObject({ status: 0, stdout: 'PONG\n' });
    expect(healthcheck(redis.port, ['get', 'n3xus:audit-trail:k']).status).toBe(1);
    const withoutUser = spawnSync('redis-cli', ['-e', '-h', redis.host, '-p', String(redis.port), 'ping'], { encoding: 'utf8' });
    expect(withoutUser.status).toBe(1);
    const { stop, port } = await aclRedis(admin, services);
    await stop();
    expect(healthcheck(port).status).toBe(1);
  });
});

/** An address of this machine that is not loopback: Redis's protected mode refuses clients from there. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describeUnless(missing || (outsideAddress ? '' : 'this machine has no IPv4 address but loopback'), "protected mode with the fleet's ACL", () => {
  it('stays on, and still lets a service log in from an address that is not loopback', async () => {
    const admin = { user: 'n3xus-admin', password: secret() };
    const services = [{ service: 'audit-trail', password: secret() }];
    const withAcl = await aclRedis(admin, services, outsideAddress);
    // Control: the same server without the ACL file (default user without password) refuses the same client.
    const stock = await startLocalRedis({ bind: outsideAddress!, args: ['--protected-mode', 'yes'] });
    try {
      const { c, outcome } = await login(withAcl.urlFor('audit-trail', services[0]!.password));
      expect(outcome).toBe('OK');
      expect(await reply(c, 'SET', 'n3xus:audit-trail:k', 'v')).toBe('OK');
      c.disconnect();
      const refused = client(stock.url, 2);
      await refused.connect();
      expect(await reply(refused, 'PING')).toBe('DENIED');
      refused.disconnect();
    } finally {
      await Promise.all([withAcl.stop(), stock.stop()]);
    }
  });
});

describeUnless(missing, 'applyRedisAcl on a running Redis', () => {
  const admin = { user: 'n3xus-admin', password: secret() };
  const services: ServiceSecret[] = ['event-bus', 'webhook-dispatcher', 'audit-trail'].map((service) => ({ service, password: secret() }));
  let redis: AclRedis;
  const opened: Redis[] = [];

  beforeAll(async () => {
    redis = await aclRedis(admin, services);
  });
  afterAll(async () => {
    for (const c of opened) c.disconnect();
    await redis?.stop();
  });

  it('changes nothing when the server already holds the same users', async () => {
    expect(await applyRedisAcl(redis.urlFor(admin.user, admin.password), admin, services)).toEqual({ created: [], changed: [], deleted: [] });
  });

  it('rotates a password: the old one is refused, the new one works, open connections keep working', async () => {
    const before = services.find((s) => s.service === 'webhook-dispatcher')!.password;
    const subscribed = client(redis.urlFor('webhook-dispatcher', before));
    opened.push(subscribed);
    const got: string[] = [];
    subscribed.on('pmessage', (_p: string, _c: string, message: string) => got.push(message));
    await subscribed.psubscribe('n3xus:events:*');

    const after = secret();
    const rotated = services.map((s) => (s.service === 'webhook-dispatcher' ? { ...s, password: after } : s));
    expect(await applyRedisAcl(redis.urlFor(admin.user, admin.password), admin, rotated)).toEqual({ created: [], changed: ['webhook-dispatcher'], deleted: [] });

    const old = await login(redis.urlFor('webhook-dispatcher', before));
    opened.push(old.c);
    expect(old.outcome).toBe('WRONGPASS');
    const fresh = await login(redis.urlFor('webhook-dispatcher', after));
    opened.push(fresh.c);
    expect(fresh.outcome).toBe('OK');
    const bus = client(redis.urlFor('event-bus', services[0]!.password));
    opened.push(bus);
    await bus.publish('n3xus:events:after-rotation', 'still heard');
    await eventually(() => got.includes('still heard'));
    services.splice(0, services.length, ...rotated);
  });

  it('creates the users of new services and deletes those no longer wanted, closing their connections', async () => {
    const gone = client(redis.urlFor('audit-trail', services.find((s) => s.service === 'audit-trail')!.password));
    opened.push(gone);
    await gone.connect();
    const next = [...services.filter((s) => s.service !== 'audit-trail'), { service: 'search-index', password: secret() }];
    expect(await applyRedisAcl(redis.urlFor(admin.user, admin.password), admin, next)).toEqual({ created: ['search-index'], changed: [], deleted: ['audit-trail'] });
    await eventually(() => gone.status === 'end' || gone.status === 'close');
    const added = await login(redis.urlFor('search-index', next.at(-1)!.password));
    opened.push(added.c);
    expect(added.outcome).toBe('OK');
  });

  it('says which server refused the admin login, without the password', async () => {
    const wrong = secret();
    const attempt = applyRedisAcl(redis.urlFor(admin.user, wrong), admin, services);
    await expect(attempt).rejects.toThrow(RedisAclError);
    await expect(attempt).rejects.toThrow(/^Could not log in to Redis at redis:\/\/n3xus-admin:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
    await expect(attempt).rejects.not.toThrow(wrong);
  });
});
