/**
 * Redis least privilege: one ACL user per service, limited to its key namespace and to the channels it needs, one
 * admin user for the CLI, a `health` user that can only PING, and a `default` user that is off. The same rules
 * render to an ACL file (for `--aclfile`, read at start) and apply to a running server (a rotation).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The channels events travel on: event-bus publishes `n3xus:events:<topic>`, subscribers match this pattern. */
export const EVENTS_CHANNEL_PATTERN = 'n3xus:events:*';

/** The user a healthcheck logs in as: `nopass`, and allowed nothing but PING. */
export const REDIS_HEALTH_USER = 'health';

/**
 * A healthcheck that exits 0 only on PONG: `-e` makes redis-cli exit 1 on an error reply (without it, NOAUTH and
 * NOPERM exit 0), and the empty password makes it authenticate as the `nopass` health user (without `--pass`,
 * redis-cli sends no AUTH and would ask as `default`, which is off).
 */
export const REDIS_HEALTHCHECK_COMMAND: readonly string[] = ['redis-cli', '-e', '--no-auth-warning', '--user', REDIS_HEALTH_USER, '--pass', '', 'ping'];

/** Which channels a service may PUBLISH on, and which patterns it may PSUBSCRIBE to. */
export interface ChannelGrant {
  publish: readonly string[];
  psubscribe: readonly string[];
}

/**
 * The services that use pub/sub, read from their code: event-bus PUBLISHes each stored event on
 * `n3xus:events:<topic>` (services/event-bus/app.ts), webhook-dispatcher PSUBSCRIBEs `n3xus:events:*`
 * (services/webhook-dispatcher/app.ts). No other service publishes or subscribes; they get no channel at all.
 */
export const CHANNEL_GRANTS: Readonly<Record<string, ChannelGrant>> = {
  'event-bus': { publish: [EVENTS_CHANNEL_PATTERN], psubscribe: [] },
  'webhook-dispatcher': { publish: [], psubscribe: [EVENTS_CHANNEL_PATTERN] },
};

/**
 * The commands every service user may run, and why; found by running the kit's Cache, event-bus and
 * webhook-dispatcher against a server with these rules (test/secrets/redis-acl.test.ts checks the ACL log stays
 * empty). The kit's ioredis client sends no INFO and no CLIENT SETINFO (services/_kit/src/cache.ts turns both off),
 * so no @admin or @dangerous command is needed. AUTH, HELLO and QUIT need no permission.
 */
export const SERVICE_COMMANDS: Readonly<Record<string, string>> = {
  get: 'Cache.get',
  set: 'Cache.set (SET … EX), and the rate limiter script',
  del: 'Cache.delete',
  ping: 'Cache.check (readiness)',
  evalsha: 'the rate limiter: ioredis runs its Lua script by SHA',
  eval: 'the rate limiter: ioredis sends the script itself when the server does not know the SHA (NOSCRIPT)',
  incrby: 'inside the rate limiter script (scripts run with the caller’s permissions)',
  pttl: 'inside the rate limiter script',
  expire: 'inside the rate limiter script',
};

/** A service's Redis credential: the password its user logs in with. */
export interface ServiceSecret {
  service: string;
  password: string;
}

/** The admin user the CLI logs in as: all keys, all channels, all commands. */
export interface RedisAdmin {
  user: string;
  password: string;
}

/** One ACL user: its name and its rules, in the order Redis applies them (each list starts from nothing). */
export interface RedisAclUser {
  user: string;
  rules: string[];
}

/** Raised for input the ACL cannot be built from, and for a server that refuses to take the rules. */
export class RedisAclError extends Error {
  override readonly name = 'RedisAclError';
}

/** The shortest password accepted, in characters: a guard against a placeholder ("n3xus") reaching a fleet. */
export const MIN_PASSWORD_LENGTH = 16;

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const RESERVED_USERS = new Set(['default', REDIS_HEALTH_USER]);

/** A service's Redis user is named after the service: `identity-registry`. */
export function redisUser(service: string): string {
  return service;
}

/** The keys a service may touch: the kit's Cache prefixes every key with `n3xus:<service>:` (ioredis keyPrefix). */
export function redisKeyPattern(service: string): string {
  return `n3xus:${service}:*`;
}

/** `#<sha256 hex>`: how an ACL names a password without containing it. */
function passwordHash(password: string): string {
  return `#${createHash('sha256').update(password, 'utf8').digest('hex')}`;
}

function checkPassword(who: string, password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new RedisAclError(`Expected the Redis password of ${who} to be a string of at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
}

function checkInput(admin: RedisAdmin, services: readonly ServiceSecret[]): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(admin.user) || RESERVED_USERS.has(admin.user)) {
    throw new RedisAclError(`Expected the Redis admin user to be 1 to 64 letters, digits, "_" or "-", and neither "default" nor "${REDIS_HEALTH_USER}"; got ${JSON.stringify(admin.user)}.`);
  }
  checkPassword(`the admin user ${admin.user}`, admin.password);
  const seen = new Set<string>();
  for (const { service, password } of services) {
    if (!SERVICE_NAME.test(service)) {
      throw new RedisAclError(`Expected a service name of lower-case letters, digits and "-", starting with a letter; got ${JSON.stringify(service)}.`);
    }
    if (seen.has(service)) throw new RedisAclError(`Service ${service} is listed twice.`);
    if (service === admin.user || RESERVED_USERS.has(service)) throw new RedisAclError(`Service ${service} has the name of a Redis user the ACL reserves.`);
    seen.add(service);
    checkPassword(`service ${service}`, password);
  }
}

/** The rules of one service's user, without its password (see {@link redisAclUsers}). */
export function serviceRules(service: string): string[] {
  const grant = CHANNEL_GRANTS[service] ?? { publish: [], psubscribe: [] };
  const channels = [...new Set([...grant.publish, ...grant.psubscribe])].map((c) => `&${c}`);
  const commands = Object.keys(SERVICE_COMMANDS).map((c) => `+${c}`);
  if (grant.publish.length > 0) commands.push('+publish');
  if (grant.psubscribe.length > 0) commands.push('+psubscribe', '+punsubscribe');
  // Redundant after -@all, but it puts in the ACL itself that this user reads the events and may not write them.
  if (grant.publish.length === 0 && channels.length > 0) commands.push('-publish', '-spublish');
  return ['sanitize-payload', 'resetkeys', `~${redisKeyPattern(service)}`, 'resetchannels', ...channels, '-@all', ...commands];
}

/**
 * Every user of the fleet's Redis, in file order: `default` (off, no password, nothing allowed), the admin, the
 * health user, then one user per service. Passwords appear only as `#<sha256>`. Every user says
 * `sanitize-payload` (RESTORE payloads are checked), which ACL SETUSER's `reset` sets: a user loaded from the file
 * and the same user applied by {@link applyRedisAcl} are then one and the same.
 */
export function redisAclUsers(admin: RedisAdmin, services: readonly ServiceSecret[]): RedisAclUser[] {
  checkInput(admin, services);
  return [
    // Off, and without `nopass`: Redis keeps protected mode from refusing remote clients only when the default
    // user has no `nopass`, so this is what lets `protected-mode yes` stay on.
    { user: 'default', rules: ['off', 'resetpass', 'sanitize-payload', 'resetkeys', 'resetchannels', '-@all'] },
    { user: admin.user, rules: ['on', passwordHash(admin.password), 'sanitize-payload', '~*', '&*', '+@all'] },
    { user: REDIS_HEALTH_USER, rules: ['on', 'nopass', 'sanitize-payload', 'resetkeys', 'resetchannels', '-@all', '+ping'] },
    ...[...services]
      .sort((a, b) => a.service.localeCompare(b.service))
      .map(({ service, password }) => ({ user: redisUser(service), rules: ['on', passwordHash(password), ...serviceRules(service)] })),
  ];
}

/**
 * The text of a Redis ACL file (`redis-server --aclfile <file>`) for the fleet: see {@link redisAclUsers}.
 * Write it readable by the Redis server only; it holds password hashes, never a password.
 */
export function redisAclFile(admin: RedisAdmin, services: readonly ServiceSecret[]): string {
  return redisAclUsers(admin, services)
    .map(({ user, rules }) => `user ${user} ${rules.join(' ')}\n`)
    .join('');
}

/** What {@link applyRedisAcl} did, by user name. */
export interface RedisAclChanges {
  created: string[];
  changed: string[];
  deleted: string[];
}

/**
 * Makes a running Redis hold exactly the users of {@link redisAclUsers}: each is set from `reset`, and users it
 * does not list are deleted (their connections are closed by Redis), in one MULTI. `adminUrl` logs in with the
 * credentials in force now (`redis://<admin>:<password>@127.0.0.1:<port>`); `admin` may carry a new password.
 * Connections already authenticated stay open after a password change: a service picks up its new password when
 * it next connects. The caller also writes {@link redisAclFile} so that a restart loads the same users.
 */
export async function applyRedisAcl(adminUrl: string, admin: RedisAdmin, services: readonly ServiceSecret[], timeoutMs = 5000): Promise<RedisAclChanges> {
  const users = redisAclUsers(admin, services);
  // Loaded here, not with the module: the fleet's secret files are written from this module by every launch, and
  // ioredis costs ~0.1 s to load, which only a rotation needs.
  const { Redis: Client } = await import('ioredis');
  const client = new Client(adminUrl, {
    lazyConnect: true,
    enableReadyCheck: false,
    disableClientInfo: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // A refused login closes the connection, and connect() then says only "Connection is closed": the reason
  // (WRONGPASS, ECONNREFUSED) is the first error the client emitted.
  let firstError: Error | undefined;
  client.on('error', (err: Error) => (firstError ??= err));
  const where = redactedUrl(adminUrl);
  try {
    await client.connect().catch((err: unknown) => {
      const reason = firstError ?? (err as Error);
      throw new RedisAclError(`Could not log in to Redis at ${where}: ${reason.message}`, { cause: reason });
    });
    const before = await aclList(client);
    const wanted = new Set(users.map((u) => u.user));
    const unwanted = [...before.keys()].filter((u) => !wanted.has(u) && u !== 'default');
    const me = (await client.call('ACL', 'WHOAMI')) as string;
    if (unwanted.includes(me)) {
      throw new RedisAclError(`Redis at ${where}: the ACL would delete user ${me}, which this change logs in as; keep its name (${admin.user} is wanted).`);
    }
    const multi = client.multi();
    for (const { user, rules } of users) multi.call('ACL', 'SETUSER', user, 'reset', ...rules);
    if (unwanted.length > 0) multi.call('ACL', 'DELUSER', ...unwanted);
    const results = (await multi.exec()) ?? [];
    const failed = results.findIndex(([err]) => err !== null);
    if (failed !== -1) {
      const user = users[failed]?.user ?? unwanted.join(', ');
      throw new RedisAclError(`Redis at ${where} refused the ACL of user ${user}: ${results[failed]![0]!.message}`);
    }
    const after = await aclList(client);
    return {
      created: [...after.keys()].filter((u) => !before.has(u)),
      changed: [...after.keys()].filter((u) => before.has(u) && before.get(u) !== after.get(u)),
      deleted: unwanted,
    };
  } catch (err) {
    if (err instanceof RedisAclError) throw err;
    throw new RedisAclError(`Could not apply the ACL to Redis at ${where}: ${(err as Error).message}`, { cause: err });
  } finally {
    client.disconnect();
  }
}

/**
 * `ACL LIST` as user → its rules, sorted: Redis lists the same commands in a different order for a user loaded
 * from a file and one set by ACL SETUSER, and the rules set here (flags, one key pattern, channels, `-@all` then
 * single commands added) mean the same in any order.
 */
async function aclList(client: Redis): Promise<Map<string, string>> {
  const lines = (await client.call('ACL', 'LIST')) as string[];
  return new Map(
    lines.map((line) => {
      const [, user, ...rules] = line.split(' ');
      return [user!, rules.sort().join(' ')];
    }),
  );
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
