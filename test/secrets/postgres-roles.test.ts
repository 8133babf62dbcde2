import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, Logger, type Migration } from '@n3xus/kit';
import {
  FRESH_DATABASE,
  planPostgresGrants,
  PostgresProvisionError,
  provisionPostgres,
  renderPostgresSteps,
  roleName,
  scramVerifier,
  scramVerifierMatches,
  type PostgresState,
} from '../../src/secrets/postgres-roles.ts';
import { startLocalPostgres, type LocalServer } from '../support/local-servers.ts';
import { freshDatabase, missingServers, postgresUrl } from '../support/servers.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

const password = () => randomBytes(18).toString('base64url');
/** Service names unique to this run: roles belong to the whole cluster, which other test files share. */
const tag = randomBytes(3).toString('hex');
const svc = (name: string) => `${name}-${tag}`;

/** The URL of `url`'s database for user `user` (trust auth: no password needed). */
function asUser(url: string, user: string, secret?: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = secret ?? '';
  return u.toString();
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function sqlState(client: pg.Client, sql: string): Promise<string> {
  try {
    await client.query(sql);
    return 'ok';
  } catch (err) {
    return (err as pg.DatabaseError).code ?? String(err);
  }
}

const items: Migration[] = [{ id: '001-items', sql: 'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)' }];

/** Runs the kit's migrations for `service` the way the service would, connected as `url`. */
async function migrateAs(url: string, service: string, migrations: Migration[] = items): Promise<string[]> {
  const db = new Database(url, service, new Logger(service, 'error', () => undefined));
  try {
    return await db.migrate(migrations);
  } finally {
    await db.close();
  }
}

describe('scramVerifier', () => {
  it('has PostgreSQL’s form and never contains the password', () => {
    const verifier = scramVerifier('correct-horse-battery', Buffer.alloc(16, 7));
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:BwcHBwcHBwcHBwcHBwcHBw==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(verifier).not.toContain('correct-horse-battery');
  });

  it('matches its own password only', () => {
    const verifier = scramVerifier('correct-horse-battery');
    expect(scramVerifierMatches(verifier, 'correct-horse-battery')).toBe(true);
    expect(scramVerifierMatches(verifier, 'correct-horse-batterz')).toBe(false);
    expect(scramVerifierMatches(null, 'correct-horse-battery')).toBe(false);
    expect(scramVerifierMatches('md5abc', 'correct-horse-battery')).toBe(false);
  });

  it('refuses a password that is not printable ASCII (PostgreSQL would SASLprep it)', () => {
    expect(() => scramVerifier('pässwort-pässwort-1')).toThrow(/printable ASCII/);
  });
});

const emptyState: PostgresState = { database: 'n3xus', ...FRESH_DATABASE };

describe('planPostgresGrants', () => {
  it('creates the role and its schema, and takes from PUBLIC what it may not keep, on a fresh database', () => {
    const steps = planPostgresGrants(emptyState, [{ service: 'identity-registry', password: 'p'.repeat(16) }]);
    expect(renderPostgresSteps(steps)).toBe(
      [
        '(database): REVOKE TEMPORARY ON DATABASE "n3xus" FROM PUBLIC (PUBLIC may TEMPORARY)',
        '(database): REVOKE ALL ON SCHEMA public FROM PUBLIC (PUBLIC has USAGE on schema public)',
        `identity-registry: CREATE ROLE "identity_registry" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '…' (no such role)`,
        'identity-registry: ALTER ROLE "identity_registry" SET search_path TO "identity_registry" (no search_path)',
        'identity-registry: GRANT CONNECT ON DATABASE "n3xus" TO "identity_registry" (no CONNECT grant)',
        'identity-registry: CREATE SCHEMA "identity_registry" AUTHORIZATION "identity_registry" (no such schema)',
        '',
      ].join('\n'),
    );
    expect(steps.find((s) => s.action.startsWith('CREATE ROLE'))!.sql).toMatch(/PASSWORD 'SCRAM-SHA-256\$4096:/);
  });

  it('plans nothing when everything is in place', () => {
    const secret = 'p'.repeat(16);
    const state: PostgresState = {
      ...emptyState,
      publicDatabasePrivileges: ['CONNECT'],
      publicSchemaPrivileges: [],
      roles: new Map([['audit_trail', { superuser: false, createdb: false, createrole: false, replication: false, bypassrls: false, login: true, password: scramVerifier(secret), config: ['search_path=audit_trail'], memberOf: [], connect: true }]]),
      schemas: new Map([['audit_trail', { owner: 'audit_trail', grantees: [] }]]),
    };
    expect(planPostgresGrants(state, [{ service: 'audit-trail', password: secret }])).toEqual([]);
  });

  it('hands over a schema and what is in it, strips extra attributes, and revokes foreign grants', () => {
    const state: PostgresState = {
      ...emptyState,
      publicDatabasePrivileges: ['CONNECT', 'CREATE', 'TEMPORARY'],
      publicSchemaPrivileges: undefined,
      roles: new Map([['audit_trail', { superuser: true, createdb: true, createrole: false, replication: false, bypassrls: false, login: true, password: null, config: ['search_path=public'], memberOf: ['pg_read_all_data'], connect: true }]]),
      schemas: new Map([['audit_trail', { owner: 'n3xus', grantees: ['PUBLIC'] }]]),
      foreignObjects: [
        { schema: 'audit_trail', kind: 'table', name: '"audit_trail"."entries"', owner: 'n3xus' },
        { schema: 'audit_trail', kind: 'function', name: '"audit_trail"."digest"(text)', owner: 'n3xus' },
      ],
      foreignSchemaGrants: [{ role: 'audit_trail', schema: 'event_bus' }],
    };
    expect(renderPostgresSteps(planPostgresGrants(state, [{ service: 'audit-trail', password: 'p'.repeat(16) }]))).toBe(
      [
        '(database): REVOKE CREATE, TEMPORARY ON DATABASE "n3xus" FROM PUBLIC (PUBLIC may CREATE and TEMPORARY)',
        'audit-trail: ALTER ROLE "audit_trail" NOSUPERUSER NOCREATEDB (is SUPERUSER, CREATEDB)',
        `audit-trail: ALTER ROLE "audit_trail" PASSWORD '…' (no password)`,
        'audit-trail: REVOKE "pg_read_all_data" FROM "audit_trail" (member of pg_read_all_data)',
        'audit-trail: ALTER ROLE "audit_trail" SET search_path TO "audit_trail" (search_path is public)',
        'audit-trail: ALTER SCHEMA "audit_trail" OWNER TO "audit_trail" (owned by n3xus)',
        'audit-trail: ALTER TABLE "audit_trail"."entries" OWNER TO "audit_trail" (table owned by n3xus)',
        'audit-trail: ALTER FUNCTION "audit_trail"."digest"(text) OWNER TO "audit_trail" (function owned by n3xus)',
        'audit-trail: REVOKE ALL ON SCHEMA "audit_trail" FROM PUBLIC (granted to PUBLIC)',
        'audit-trail: REVOKE ALL ON SCHEMA "event_bus" FROM "audit_trail" (granted on schema event_bus)',
        '',
      ].join('\n'),
    );
  });

  it('refuses input it cannot make roles from, naming the service', () => {
    const plan = (service: string, secret = 'p'.repeat(16)) => () => planPostgresGrants(emptyState, [{ service, password: secret }]);
    expect(plan('Identity')).toThrow(/Expected a service name .* got "Identity"/);
    expect(plan('pg-stats')).toThrow(/pg_stats, which PostgreSQL reserves/);
    expect(plan('audit-trail', 'n3xus')).toThrow(/password of service audit-trail to have at least 16 characters/);
    expect(() => planPostgresGrants(emptyState, [{ service: 'a', password: 'p'.repeat(16) }, { service: 'a', password: 'q'.repeat(16) }])).toThrow(/listed twice/);
  });
});

describeUnless(missingServers, 'provisionPostgres on a real PostgreSQL', () => {
  let dbUrl: string;
  let database: string;
  const a = svc('orders');
  const b = svc('ledger');
  const creds = [
    { service: a, password: password() },
    { service: b, password: password() },
  ];

  beforeAll(async () => {
    dbUrl = await freshDatabase();
    database = new URL(dbUrl).pathname.slice(1);
    await provisionPostgres(postgresUrl, database, creds);
    for (const { service } of creds) await migrateAs(asUser(dbUrl, roleName(service)), service);
  });

  it('lets the kit migrate as the role, which then works in its own schema', async () => {
    await withClient(asUser(dbUrl, roleName(a)), async (client) => {
      await client.query("INSERT INTO items (name) VALUES ('first')");
      expect((await client.query('SELECT current_user AS u, current_schema() AS s, count(*)::int AS n FROM items')).rows[0]).toEqual({ u: roleName(a), s: roleName(a), n: 1 });
      expect(await sqlState(client, "UPDATE items SET name = 'again'")).toBe('ok');
      expect(await sqlState(client, 'CREATE TABLE extra (x int)')).toBe('ok');
    });
  });

  it('denies one service’s role every read and write of another’s table', async () => {
    await withClient(asUser(dbUrl, roleName(a)), async (client) => {
      const other = `${roleName(b)}.items`;
      expect(await sqlState(client, `SELECT * FROM ${other}`)).toBe('42501');
      expect(await sqlState(client, `INSERT INTO ${other} (name) VALUES ('forged')`)).toBe('42501');
      expect(await sqlState(client, `UPDATE ${other} SET name = 'forged'`)).toBe('42501');
      expect(await sqlState(client, `DELETE FROM ${other}`)).toBe('42501');
    });
  });

  it('denies a role CREATE in public, in another’s schema, of a schema and of a temporary table', async () => {
    await withClient(asUser(dbUrl, roleName(a)), async (client) => {
      expect(await sqlState(client, 'CREATE TABLE public.squat (x int)')).toBe('42501');
      expect(await sqlState(client, `CREATE TABLE ${roleName(b)}.squat (x int)`)).toBe('42501');
      expect(await sqlState(client, `CREATE SCHEMA squat_${tag}`)).toBe('42501');
      expect(await sqlState(client, 'CREATE TEMPORARY TABLE squat (x int)')).toBe('42501');
    });
  });

  it('gives the roles LOGIN and no other attribute', async () => {
    const { rows } = await withClient(postgresUrl, (c) =>
      c.query('SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [creds.map((c) => roleName(c.service))]),
    );
    expect(rows).toEqual(
      [roleName(b), roleName(a)].map((rolname) => ({ rolname, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false, rolcanlogin: true })),
    );
  });

  it('changes nothing when run a second time', async () => {
    expect(await provisionPostgres(postgresUrl, database, creds)).toEqual([]);
  });

  it('rotates passwords without touching a row', async () => {
    const rotated = creds.map(({ service }) => ({ service, password: password() }));
    const before = await withClient(dbUrl, (c) => c.query(`SELECT * FROM ${roleName(a)}.items ORDER BY id`));
    const steps = await provisionPostgres(postgresUrl, database, rotated);
    expect(renderPostgresSteps(steps)).toBe(
      [b, a].map((s) => `${s}: ALTER ROLE "${roleName(s)}" PASSWORD '…' (password differs)\n`).join(''),
    );
    const stored = await withClient(postgresUrl, (c) => c.query<{ rolname: string; rolpassword: string }>('SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1)', [rotated.map((r) => roleName(r.service))]));
    for (const { service, password: secret } of rotated) {
      expect(scramVerifierMatches(stored.rows.find((r) => r.rolname === roleName(service))!.rolpassword, secret)).toBe(true);
    }
    expect((await withClient(dbUrl, (c) => c.query(`SELECT * FROM ${roleName(a)}.items ORDER BY id`))).rows).toEqual(before.rows);
    expect(await provisionPostgres(postgresUrl, database, rotated)).toEqual([]);
  });

  it('takes over a schema the superuser made, with everything in it, keeping its rows', async () => {
    const c = svc('archive');
    const schema = roleName(c);
    await migrateAs(dbUrl, c, items); // as the superuser, as fleets did before roles
    await withClient(dbUrl, async (client) => {
      await client.query(`INSERT INTO ${schema}.items (name) VALUES ('kept-1'), ('kept-2')`);
      await client.query(`CREATE SEQUENCE ${schema}.tickets`);
      await client.query(`CREATE VIEW ${schema}.names AS SELECT name FROM ${schema}.items`);
      await client.query(`CREATE TYPE ${schema}.mood AS ENUM ('ok', 'sad')`);
      await client.query(`CREATE DOMAIN ${schema}.label AS text CHECK (VALUE <> '')`);
      await client.query(`CREATE FUNCTION ${schema}.shout(t text) RETURNS text LANGUAGE sql AS 'SELECT upper(t)'`);
    });
    const all = [...creds, { service: c, password: password() }];
    const steps = await provisionPostgres(postgresUrl, database, all);
    expect(steps.filter((s) => s.service === c && /OWNER TO/.test(s.action)).map((s) => `${s.action} (${s.cause})`)).toEqual([
      `ALTER SCHEMA "${schema}" OWNER TO "${schema}" (owned by postgres)`,
      `ALTER TABLE ${schema}.items OWNER TO "${schema}" (table owned by postgres)`,
      `ALTER VIEW ${schema}.names OWNER TO "${schema}" (view owned by postgres)`,
      `ALTER TABLE ${schema}.schema_migrations OWNER TO "${schema}" (table owned by postgres)`,
      `ALTER SEQUENCE ${schema}.tickets OWNER TO "${schema}" (sequence owned by postgres)`,
      `ALTER DOMAIN ${schema}.label OWNER TO "${schema}" (domain owned by postgres)`,
      `ALTER TYPE ${schema}.mood OWNER TO "${schema}" (type owned by postgres)`,
      `ALTER FUNCTION ${schema}.shout(t text) OWNER TO "${schema}" (function owned by postgres)`,
    ]);
    const more: Migration[] = [...items, { id: '002-notes', sql: 'ALTER TABLE items ADD COLUMN note text' }];
    expect(await migrateAs(asUser(dbUrl, schema), c, more)).toEqual(['002-notes']);
    await withClient(asUser(dbUrl, schema), async (client) => {
      await client.query("INSERT INTO items (name, note) VALUES ('new', 'by the role')");
      expect((await client.query('SELECT name FROM items ORDER BY id')).rows.map((r) => r.name)).toEqual(['kept-1', 'kept-2', 'new']);
      expect((await client.query("SELECT shout('x') AS s, nextval('tickets')::int AS n, 'ok'::mood AS m, 'a'::label AS l")).rows[0]).toEqual({ s: 'X', n: 1, m: 'ok', l: 'a' });
      expect((await client.query('SELECT count(*)::int AS n FROM names')).rows[0]).toEqual({ n: 3 });
    });
    expect(await provisionPostgres(postgresUrl, database, all)).toEqual([]);
  });

  it('refuses to provision as a role that is not a superuser, saying so', async () => {
    const attempt = provisionPostgres(asUser(dbUrl, roleName(a)), database, creds);
    await expect(attempt).rejects.toThrow(PostgresProvisionError);
    await expect(attempt).rejects.toThrow(`which is not a superuser`);
  });
});

describeUnless(missingServers, 'SCRAM verifiers on a real PostgreSQL', () => {
  const superPassword = password();
  let scram: LocalServer | undefined;
  let unavailable = '';

  beforeAll(async () => {
    try {
      scram = await startLocalPostgres({ scramPassword: superPassword });
    } catch (err) {
      // The suite's own PostgreSQL may be an external one (N3XUS_TEST_DATABASE_URL) on a machine without initdb.
      if (process.env.CI === 'true') throw err;
      unavailable = (err as Error).message;
      console.warn(`[skipped] logins with SCRAM verifiers: ${unavailable}`);
    }
  });
  afterAll(() => scram?.stop());

  /** Whether `user` can log in to the SCRAM server with `secret`: 'ok', or the SQLSTATE of the refusal. */
  const login = async (user: string, secret: string) => {
    try {
      return await withClient(asUser(scram!.url, user, secret), async (c) => ((await c.query('SELECT current_user AS u')).rows[0].u === user ? 'ok' : 'someone else'));
    } catch (err) {
      return (err as pg.DatabaseError).code ?? String(err);
    }
  };

  it('is what PostgreSQL itself stores for a password, given its salt', async () => {
    const role = `probe_${tag}`;
    const secret = password();
    const stored = await withClient(postgresUrl, async (c) => {
      await c.query("SET password_encryption = 'scram-sha-256'");
      await c.query(`CREATE ROLE ${role} PASSWORD ${pg.escapeLiteral(secret)}`);
      return (await c.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.p;
    });
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;
    expect(scramVerifier(secret, Buffer.from(salt!, 'base64'), Number(iterations))).toBe(stored);
  });

  it('logs a provisioned role in with its password and refuses any other', async (ctx) => {
    if (!scram) return ctx.skip(`no SCRAM PostgreSQL of its own: ${unavailable}`);
    const service = svc('billing');
    const secret = password();
    await provisionPostgres(scram.url, 'postgres', [{ service, password: secret }]);
    expect(await login(roleName(service), secret)).toBe('ok');
    expect(await login(roleName(service), password())).toBe('28P01');
  });

  it('rotates a password: the new one logs in, the old one is refused', async (ctx) => {
    if (!scram) return ctx.skip(`no SCRAM PostgreSQL of its own: ${unavailable}`);
    const service = svc('payouts');
    const [before, after] = [password(), password()];
    await provisionPostgres(scram.url, 'postgres', [{ service, password: before }]);
    await provisionPostgres(scram.url, 'postgres', [{ service, password: after }]);
    expect(await login(roleName(service), after)).toBe('ok');
    expect(await login(roleName(service), before)).toBe('28P01');
  });

  it('says which server refused the admin login, without the password', async (ctx) => {
    if (!scram) return ctx.skip(`no SCRAM PostgreSQL of its own: ${unavailable}`);
    const wrong = password();
    const attempt = provisionPostgres(asUser(scram.url, 'postgres', wrong), 'postgres', [{ service: svc('x'), password: password() }]);
    await expect(attempt).rejects.toThrow(/^Could not connect to PostgreSQL at 127\.0\.0\.1:\d+\/postgres as postgres: password authentication failed for user "postgres"$/);
    await expect(attempt).rejects.not.toThrow(wrong);
  });
});
