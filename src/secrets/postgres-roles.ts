/**
 * PostgreSQL least privilege: one login role per service, named like its schema and owning it, and nothing else.
 * Convergence as in src/launch/reconcile.ts: observe the catalog, plan (pure: {@link planPostgresGrants}, every
 * step with its cause), execute, all in one transaction under an advisory lock. A plaintext password never reaches
 * SQL: roles get a SCRAM-SHA-256 verifier computed here.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

/** A service's PostgreSQL credential: the password its role logs in with. */
export interface ServiceCredential {
  service: string;
  password: string;
}

/** Raised for input the roles cannot be built from, and for a PostgreSQL that refuses a step (`service` says whose). */
export class PostgresProvisionError extends Error {
  override readonly name = 'PostgresProvisionError';
  constructor(
    message: string,
    /** The service whose step failed, when one did. */
    readonly service?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The shortest password accepted, in characters: a guard against a placeholder ("n3xus") reaching a fleet. */
export const MIN_PASSWORD_LENGTH = 16;

/** PBKDF2 iterations of a verifier, PostgreSQL's own default (`scram_iterations`). */
export const SCRAM_ITERATIONS = 4096;

/** The role a service logs in as: named like, and owning, the schema the kit gives it (`identity_registry`). */
export function roleName(service: string): string {
  // The kit's schemaName (services/_kit/src/db.ts), which a test keeps equal: that module loads pg, which only
  // provisioning needs (~50 ms of every launch otherwise).
  return service.replace(/-/g, '_');
}

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802, RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>`. PostgreSQL stores a verifier
 * given as `PASSWORD '<verifier>'` as it is, so the password itself is never sent. `salt` defaults to 16 random
 * bytes. The password must be printable ASCII, which SASLprep (applied by PostgreSQL at login) leaves unchanged.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  checkPasswordText('the password', password);
  if (!Number.isInteger(iterations) || iterations < 1) throw new PostgresProvisionError(`Expected \`iterations\` to be a whole number from 1 up; got ${iterations}.`);
  if (salt.length === 0) throw new PostgresProvisionError('Expected a salt of at least one byte.');
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether `verifier` (as pg_authid.rolpassword holds it) is the SCRAM-SHA-256 verifier of `password`. */
export function scramVerifierMatches(verifier: string | null, password: string): boolean {
  const parts = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier ?? '');
  if (!parts || !isPrintableAscii(password)) return false;
  const again = scramVerifier(password, Buffer.from(parts[2]!, 'base64'), Number(parts[1]));
  return again.length === verifier!.length && timingSafeEqual(Buffer.from(again), Buffer.from(verifier!));
}

function isPrintableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function checkPasswordText(what: string, password: string): void {
  if (typeof password !== 'string' || !isPrintableAscii(password)) {
    throw new PostgresProvisionError(`Expected ${what} to be printable ASCII (PostgreSQL would SASLprep anything else).`);
  }
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

function checkCredentials(creds: readonly ServiceCredential[]): void {
  const seen = new Set<string>();
  for (const { service, password } of creds) {
    if (!SERVICE_NAME.test(service)) {
      throw new PostgresProvisionError(`Expected a service name of lower-case letters, digits and "-", starting with a letter; got ${JSON.stringify(service)}.`);
    }
    // PostgreSQL reserves role names starting with pg_.
    if (roleName(service).startsWith('pg_')) throw new PostgresProvisionError(`Service ${service} would get a role named ${roleName(service)}, which PostgreSQL reserves (pg_*).`, service);
    if (seen.has(service)) throw new PostgresProvisionError(`Service ${service} is listed twice.`, service);
    seen.add(service);
    checkPasswordText(`the PostgreSQL password of service ${service}`, password);
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new PostgresProvisionError(`Expected the PostgreSQL password of service ${service} to have at least ${MIN_PASSWORD_LENGTH} characters.`, service);
    }
  }
}

/** A role as the catalog shows it. */
export interface ObservedRole {
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  replication: boolean;
  bypassrls: boolean;
  login: boolean;
  /** pg_authid.rolpassword: a SCRAM verifier, an md5 hash, or null. */
  password: string | null;
  /** Role-wide settings (`search_path=identity_registry`). */
  config: string[];
  /** Roles it is a member of. */
  memberOf: string[];
  /** Whether it holds CONNECT on the database itself (not only through PUBLIC). */
  connect: boolean;
}

/** A schema as the catalog shows it. */
export interface ObservedSchema {
  owner: string;
  /** Who else holds a privilege on it (`PUBLIC` or a role), besides its owner and the role that should own it. */
  grantees: string[];
}

/** An object in a service's schema owned by someone other than the service's role. */
export interface ForeignObject {
  schema: string;
  /** `table`, `view`, `materialized view`, `foreign table`, `sequence`, `type`, `domain`, `function`, `procedure`, `aggregate`. */
  kind: string;
  /** Schema-qualified and quoted, with argument types for a function: `"identity_registry"."resolve"(text)`. */
  name: string;
  owner: string;
}

/** What {@link planPostgresGrants} decides from: the catalog of one database, for the services' roles. */
export interface PostgresState {
  database: string;
  /** Privileges PUBLIC holds on the database (CONNECT, CREATE, TEMPORARY). */
  publicDatabasePrivileges: string[];
  /** Privileges PUBLIC holds on schema `public`, or undefined when there is no such schema. */
  publicSchemaPrivileges: string[] | undefined;
  /** By role name; a role that does not exist is absent. */
  roles: ReadonlyMap<string, ObservedRole>;
  /** By schema name; a schema that does not exist is absent. */
  schemas: ReadonlyMap<string, ObservedSchema>;
  /** Objects in the services' schemas not owned by the schema's role. */
  foreignObjects: readonly ForeignObject[];
  /** Privileges the services' roles hold on schemas other than their own. */
  foreignSchemaGrants: readonly { role: string; schema: string }[];
}

/** One change, with its cause. `sql` may hold a password verifier; `action` never does. */
export interface PlannedStep {
  /** The service it is for; absent for a database-wide step. */
  service?: string;
  /** What is done, as SQL without the verifier: `ALTER ROLE identity_registry PASSWORD '…'`. */
  action: string;
  /** What was found: `no such role`, `password differs`, `owned by n3xus`. */
  cause: string;
  sql: string;
}

/** What {@link provisionPostgres} did, one change per entry; empty when everything was in place. */
export type PostgresChange = Omit<PlannedStep, 'sql'>;

/** `name` as an SQL identifier, as pg's escapeIdentifier quotes it. */
const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** `text` as an SQL string literal, as pg's escapeLiteral quotes it (E'' when it holds a backslash). */
function literal(text: string): string {
  const quoted = `'${text.replaceAll("'", "''").replaceAll('\\', '\\\\')}'`;
  return text.includes('\\') ? ` E${quoted}` : quoted;
}

/** The attributes a service role must have, as the catalog names them, with the SQL that sets each. */
const ROLE_ATTRIBUTES: ReadonlyArray<[keyof ObservedRole, boolean, string]> = [
  ['login', true, 'LOGIN'],
  ['superuser', false, 'NOSUPERUSER'],
  ['createdb', false, 'NOCREATEDB'],
  ['createrole', false, 'NOCREATEROLE'],
  ['replication', false, 'NOREPLICATION'],
  ['bypassrls', false, 'NOBYPASSRLS'],
];

const ALTER_BY_KIND: Readonly<Record<string, string>> = {
  table: 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED VIEW',
  'foreign table': 'FOREIGN TABLE',
  sequence: 'SEQUENCE',
  type: 'TYPE',
  domain: 'DOMAIN',
  function: 'FUNCTION',
  procedure: 'PROCEDURE',
  aggregate: 'AGGREGATE',
};

/**
 * The steps that bring `state` to least privilege for `creds` (pure, no I/O): database-wide first (PUBLIC may not
 * CREATE or use TEMPORARY tables in the database, nor use schema `public`), then per service, sorted by name: its
 * role (LOGIN and nothing more, its password, no membership, `search_path` its schema, CONNECT), its schema
 * (created for the role, or handed over with everything in it), and no grant on a schema but its own. `salt` makes
 * a new verifier's salt for a service (random by default; tests pass a fixed one).
 */
export function planPostgresGrants(state: PostgresState, creds: readonly ServiceCredential[], salt: (service: string) => Buffer = () => randomBytes(16)): PlannedStep[] {
  checkCredentials(creds);
  const steps: PlannedStep[] = [];
  const add = (service: string | undefined, sql: string, cause: string, action = sql) => steps.push({ ...(service === undefined ? {} : { service }), action, cause, sql });
  const database = ident(state.database);

  const publicDb = state.publicDatabasePrivileges.filter((p) => p === 'CREATE' || p === 'TEMPORARY').sort();
  if (publicDb.length > 0) add(undefined, `REVOKE ${publicDb.join(', ')} ON DATABASE ${database} FROM PUBLIC`, `PUBLIC may ${publicDb.join(' and ')}`);
  if (state.publicSchemaPrivileges && state.publicSchemaPrivileges.length > 0) {
    add(undefined, 'REVOKE ALL ON SCHEMA public FROM PUBLIC', `PUBLIC has ${[...state.publicSchemaPrivileges].sort().join(' and ')} on schema public`);
  }

  for (const { service, password } of [...creds].sort((a, b) => a.service.localeCompare(b.service))) {
    const role = roleName(service);
    const schema = role;
    const have = state.roles.get(role);
    const verifier = () => scramVerifier(password, salt(service));
    if (!have) {
      const attributes = ROLE_ATTRIBUTES.map(([, , sql]) => sql).join(' ');
      add(service, `CREATE ROLE ${ident(role)} ${attributes} PASSWORD ${literal(verifier())}`, 'no such role', `CREATE ROLE ${ident(role)} ${attributes} PASSWORD '…'`);
    } else {
      const wrong = ROLE_ATTRIBUTES.filter(([key, want]) => have[key] !== want);
      if (wrong.length > 0) {
        const found = wrong.map(([, want, sql]) => (want ? `not ${sql}` : sql.slice(2))).join(', ');
        add(service, `ALTER ROLE ${ident(role)} ${wrong.map(([, , sql]) => sql).join(' ')}`, `is ${found}`);
      }
      if (!scramVerifierMatches(have.password, password)) {
        const cause = have.password === null ? 'no password' : have.password.startsWith('SCRAM-SHA-256$') ? 'password differs' : 'password is not a SCRAM verifier';
        add(service, `ALTER ROLE ${ident(role)} PASSWORD ${literal(verifier())}`, cause, `ALTER ROLE ${ident(role)} PASSWORD '…'`);
      }
      for (const group of have.memberOf) add(service, `REVOKE ${ident(group)} FROM ${ident(role)}`, `member of ${group}`);
    }
    const searchPath = `search_path=${schema}`;
    if (!have?.config.includes(searchPath)) {
      const current = have?.config.find((c) => c.startsWith('search_path='));
      add(service, `ALTER ROLE ${ident(role)} SET search_path TO ${ident(schema)}`, current ? `search_path is ${current.slice('search_path='.length)}` : 'no search_path');
    }
    if (!have?.connect) add(service, `GRANT CONNECT ON DATABASE ${database} TO ${ident(role)}`, 'no CONNECT grant');

    const ownSchema = state.schemas.get(schema);
    if (!ownSchema) add(service, `CREATE SCHEMA ${ident(schema)} AUTHORIZATION ${ident(role)}`, 'no such schema');
    else if (ownSchema.owner !== role) add(service, `ALTER SCHEMA ${ident(schema)} OWNER TO ${ident(role)}`, `owned by ${ownSchema.owner}`);
    for (const object of state.foreignObjects.filter((o) => o.schema === schema)) {
      add(service, `ALTER ${ALTER_BY_KIND[object.kind] ?? 'TABLE'} ${object.name} OWNER TO ${ident(role)}`, `${object.kind} owned by ${object.owner}`);
    }
    for (const grantee of ownSchema?.grantees ?? []) {
      add(service, `REVOKE ALL ON SCHEMA ${ident(schema)} FROM ${grantee === 'PUBLIC' ? 'PUBLIC' : ident(grantee)}`, `granted to ${grantee}`);
    }
    for (const { schema: other } of state.foreignSchemaGrants.filter((g) => g.role === role)) {
      add(service, `REVOKE ALL ON SCHEMA ${ident(other)} FROM ${ident(role)}`, `granted on schema ${other}`);
    }
  }
  return steps;
}

/** The catalog of a database just created by initdb (PostgreSQL 15): PUBLIC may connect and make temporary tables, and use schema public. */
export const FRESH_DATABASE: Omit<PostgresState, 'database'> = {
  publicDatabasePrivileges: ['CONNECT', 'TEMPORARY'],
  publicSchemaPrivileges: ['USAGE'],
  roles: new Map(),
  schemas: new Map(),
  foreignObjects: [],
  foreignSchemaGrants: [],
};

/**
 * The SQL that gives a database just created by initdb the services' roles (see {@link planPostgresGrants}), in one
 * transaction: what the fleet's PostgreSQL runs at its first start (its image's N3XUS_INIT_SQL_FILE), so that a
 * fleet started by plain docker-compose has them too. Passwords appear only as SCRAM verifiers; `salt` gives each
 * service's (a fixed one keeps the script the same from one write to the next).
 */
export function postgresInitScript(database: string, creds: readonly ServiceCredential[], salt: (service: string) => Buffer): string {
  const steps = planPostgresGrants({ database, ...FRESH_DATABASE }, creds, salt);
  return ['-- n3xus: a role per service, owning its schema and nothing else. Verifiers only, never a password.', 'BEGIN;', ...steps.map((s) => `${s.sql};`), 'COMMIT;', ''].join('\n');
}

/** One line per step: `identity-registry: ALTER SCHEMA identity_registry OWNER TO identity_registry (owned by n3xus)`. */
export function renderPostgresSteps(steps: readonly PostgresChange[]): string {
  return steps.map((s) => `${s.service ?? '(database)'}: ${s.action} (${s.cause})\n`).join('');
}

/** What the catalog says, for `roles` (which are also the schemas' names). Run inside the provisioning transaction. */
async function observe(client: pg.ClientBase, roles: string[]): Promise<PostgresState> {
  const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  const privileges = async (sql: string) => (await client.query<{ p: string }>(sql)).rows.map((r) => r.p);
  const publicDatabasePrivileges = await privileges(
    `SELECT a.privilege_type AS p FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
     WHERE d.datname = current_database() AND a.grantee = 0`,
  );
  const publicSchema = await client.query<{ p: string | null }>(
    `SELECT a.privilege_type AS p FROM pg_namespace n
     LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a ON a.grantee = 0
     WHERE n.nspname = 'public'`,
  );
  const roleRows = await client.query<{
    rolname: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolreplication: boolean; rolbypassrls: boolean;
    rolcanlogin: boolean; rolpassword: string | null; rolconfig: string[] | null; member_of: string[]; connect: boolean;
  }>(
    `SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls, r.rolcanlogin, a.rolpassword, r.rolconfig,
       array(SELECT DISTINCT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of,
       EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee = r.oid AND a.privilege_type = 'CONNECT') AS connect
     FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid WHERE r.rolname = ANY($1)`,
    [roles],
  );
  const schemaRows = await client.query<{ nspname: string; owner: string; grantees: string[] }>(
    `SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner,
       array(SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END FROM aclexplode(n.nspacl) a
             WHERE a.grantee <> n.nspowner AND a.grantee IS DISTINCT FROM (SELECT oid FROM pg_roles WHERE rolname = n.nspname) ORDER BY 1) AS grantees
     FROM pg_namespace n WHERE n.nspname = ANY($1)`,
    [roles],
  );
  // Everything in the schemas that its role does not own, except what follows its owner: indexes and TOAST tables
  // (not listed), sequences owned by a column, array and multirange types, and members of an extension.
  const foreign = await client.query<ForeignObject>(
    `WITH s AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY($1)),
     member AS (SELECT objid, classid FROM pg_depend WHERE deptype = 'e')
     SELECT s.nspname AS schema,
            CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                           WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence' ELSE 'type' END AS kind,
            format('%I.%I', s.nspname, c.relname) AS name, pg_get_userbyid(c.relowner) AS owner, 1 AS rank
     FROM pg_class c JOIN s ON s.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c') AND pg_get_userbyid(c.relowner) <> s.nspname
       AND NOT EXISTS (SELECT 1 FROM member WHERE member.classid = 'pg_class'::regclass AND member.objid = c.oid)
       AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
     UNION ALL
     SELECT s.nspname, CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, format('%I.%I', s.nspname, t.typname), pg_get_userbyid(t.typowner), 2
     FROM pg_type t JOIN s ON s.oid = t.typnamespace
     WHERE t.typtype IN ('d', 'e', 'r') AND pg_get_userbyid(t.typowner) <> s.nspname
       AND NOT EXISTS (SELECT 1 FROM member WHERE member.classid = 'pg_type'::regclass AND member.objid = t.oid)
     UNION ALL
     SELECT s.nspname, CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
            format('%I.%I(%s)', s.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), pg_get_userbyid(p.proowner), 3
     FROM pg_proc p JOIN s ON s.oid = p.pronamespace
     WHERE pg_get_userbyid(p.proowner) <> s.nspname
       AND NOT EXISTS (SELECT 1 FROM member WHERE member.classid = 'pg_proc'::regclass AND member.objid = p.oid)
     ORDER BY rank, name`,
    [roles],
  );
  const foreignGrants = await client.query<{ role: string; schema: string }>(
    `SELECT DISTINCT r.rolname AS role, n.nspname AS schema FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
     WHERE r.rolname = ANY($1) AND n.nspname <> r.rolname AND n.nspowner <> r.oid ORDER BY 1, 2`,
    [roles],
  );
  return {
    database,
    publicDatabasePrivileges,
    publicSchemaPrivileges: publicSchema.rows.length === 0 ? undefined : publicSchema.rows.flatMap((r) => (r.p === null ? [] : [r.p])),
    roles: new Map(
      roleRows.rows.map((r) => [
        r.rolname,
        {
          superuser: r.rolsuper, createdb: r.rolcreatedb, createrole: r.rolcreaterole, replication: r.rolreplication, bypassrls: r.rolbypassrls,
          login: r.rolcanlogin, password: r.rolpassword, config: r.rolconfig ?? [], memberOf: r.member_of, connect: r.connect,
        },
      ]),
    ),
    schemas: new Map(schemaRows.rows.map((r) => [r.nspname, { owner: r.owner, grantees: r.grantees }])),
    foreignObjects: foreign.rows.map(({ schema, kind, name, owner }) => ({ schema, kind, name, owner })),
    foreignSchemaGrants: foreignGrants.rows,
  };
}

/** The advisory lock that keeps two provisionings of one database from interleaving. */
const LOCK_KEY = 'n3xus-provision-postgres';

/**
 * Gives every service in `creds` its own role in `database` with least privilege (see {@link planPostgresGrants}),
 * idempotently: in one transaction under an advisory lock, it observes the catalog and changes only what differs,
 * so a second run returns no change. Calling it again with new passwords rotates them (ALTER ROLE … PASSWORD);
 * rows are never touched, and sessions already open stay open. `adminUrl` is a superuser's connection string (its
 * database is replaced by `database`). Returns the changes made, each with its cause.
 */
export async function provisionPostgres(adminUrl: string, database: string, creds: readonly ServiceCredential[], connectTimeoutMs = 10_000): Promise<PostgresChange[]> {
  checkCredentials(creds);
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(database)) throw new PostgresProvisionError(`Expected a database name of letters, digits, "_" and "-"; got ${JSON.stringify(database)}.`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const where = `${url.hostname}:${url.port || 5432}/${database} as ${decodeURIComponent(url.username) || '(default user)'}`;
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: url.toString(), connectionTimeoutMillis: connectTimeoutMs, application_name: 'n3xus-provision' });
  client.on('error', () => undefined); // a connection lost mid-way fails the query in flight, which reports it
  try {
    await client.connect();
  } catch (err) {
    throw new PostgresProvisionError(`Could not connect to PostgreSQL at ${where}: ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    const me = (await client.query<{ user: string; superuser: boolean }>('SELECT current_user AS user, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user')).rows[0]!;
    if (!me.superuser) throw new PostgresProvisionError(`Connected to PostgreSQL at ${where}, which is not a superuser: only a superuser can create the roles and hand schemas over.`);
    const mine = creds.find((c) => roleName(c.service) === me.user);
    if (mine) throw new PostgresProvisionError(`Service ${mine.service} would get the role ${me.user}, which is the superuser provisioning runs as.`, mine.service);
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
    const steps = planPostgresGrants(await observe(client, creds.map((c) => roleName(c.service))), creds);
    for (const { sql, ...step } of steps) {
      await client.query(sql).catch((err: unknown) => {
        throw new PostgresProvisionError(`PostgreSQL at ${where} refused ${step.action}${step.service ? ` (service ${step.service})` : ''}: ${(err as Error).message}`, step.service, { cause: err });
      });
    }
    await client.query('COMMIT');
    return steps.map(({ sql: _sql, ...step }) => step);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof PostgresProvisionError) throw err;
    throw new PostgresProvisionError(`Could not provision the roles in PostgreSQL at ${where}: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}
