import pg from 'pg';
import type { Logger } from './log.ts';
import { resilience, type Resilience, type ResilienceOptions } from './resilience.ts';

/** One schema change, applied once, in order, inside a transaction. `id` is never reused or reordered. */
export interface Migration {
  id: string;
  sql: string;
}

/** A PostgreSQL dependency's state, as readiness reports it. */
export interface DependencyStatus {
  status: 'up' | 'down' | 'unconfigured';
  /** Round-trip time of the check, in ms. */
  latencyMs?: number;
  circuit?: 'closed' | 'open' | 'half-open';
  error?: string;
}

/** Raised when the database cannot serve a call (down, circuit open, or not configured). */
export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError';
  constructor(readonly dependency: string, cause?: unknown) {
    super(`${dependency} is unavailable`, { cause });
  }
}

/** `identity-registry` → `identity_registry`: each service owns the schema named after it. */
export function schemaName(service: string): string {
  return service.replace(/-/g, '_');
}

/**
 * The service's PostgreSQL: a small pool whose connections live in the service's own schema, every query going
 * through retry-with-backoff and a circuit breaker, and the service's migrations.
 */
export class Database {
  readonly schema: string;
  private readonly pool: pg.Pool | undefined;
  private readonly guard: Resilience;
  private migrationState: { applied: number; pending: number; error?: string } = { applied: 0, pending: 0 };
  private probe: Promise<unknown> | undefined;

  constructor(url: string | undefined, service: string, private readonly log: Logger, options: ResilienceOptions = {}) {
    this.schema = schemaName(service);
    this.guard = resilience('postgres', log, { isFailure: (err) => !isQueryError(err), ...options });
    if (url) {
      this.pool = new pg.Pool({
        connectionString: url,
        max: 4,
        // One connection stays open: readiness checks and the first request after a quiet spell then need no new
        // backend (a fork plus SCRAM authentication in PostgreSQL), which is what a polled fleet would pay most.
        min: 1,
        idleTimeoutMillis: 10_000,
        // Generous: when 98 services start at once on two cores, a connection (fork plus SCRAM) can take seconds.
        connectionTimeoutMillis: 5000,
        statement_timeout: 5000,
        application_name: service,
        options: `-c search_path=${this.schema}`,
      });
      // A broken idle connection is reported here; without a listener it would crash the process.
      this.pool.on('error', (err) => log.warn('postgres_idle_client_error', { err }));
    }
  }

  get configured(): boolean {
    return this.pool !== undefined;
  }

  /** Runs one statement through the policy; throws DependencyUnavailableError when PostgreSQL cannot answer. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    const pool = this.pool;
    if (!pool) throw new DependencyUnavailableError('postgres');
    try {
      return await this.guard.policy.execute(() => pool.query<R>(sql, params));
    } catch (err) {
      if (isQueryError(err)) throw err;
      throw new DependencyUnavailableError('postgres', err);
    }
  }

  /** Runs `work` in one transaction on one connection (no retry: the work may not be idempotent). */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const pool = this.pool;
    if (!pool) throw new DependencyUnavailableError('postgres');
    let client: pg.PoolClient;
    try {
      client = await this.guard.breaker.execute(() => pool.connect());
    } catch (err) {
      throw new DependencyUnavailableError('postgres', err);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** A real round trip (`SELECT 1`) with its latency, bypassing retries so readiness tells the truth at once. */
  async check(timeoutMs = 1000): Promise<DependencyStatus> {
    const pool = this.pool;
    if (!pool) return { status: 'unconfigured' };
    const started = performance.now();
    // At most one probe query per service is ever outstanding. A check that times out answers "down" but leaves
    // its query (often a connection attempt) running; starting another on every poll would pile connection
    // attempts onto a PostgreSQL that is already too slow to accept them, until none completes (seen here when
    // all 98 services started at once and were polled until ready).
    this.probe ??= pool.query('SELECT 1').finally(() => {
      this.probe = undefined;
    });
    try {
      await withTimeout(this.probe, timeoutMs);
      return { status: 'up', latencyMs: round(performance.now() - started), circuit: this.guard.state() };
    } catch (err) {
      return { status: 'down', latencyMs: round(performance.now() - started), circuit: this.guard.state(), error: message(err) };
    }
  }

  get migrations(): { applied: number; pending: number; error?: string } {
    return { ...this.migrationState };
  }

  /**
   * Applies the migrations not yet recorded in `<schema>.schema_migrations`, each in its own transaction, under
   * an advisory lock so that two replicas starting together cannot apply one twice. Returns the ids applied.
   */
  async migrate(migrations: Migration[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const m of migrations) {
      if (ids.has(m.id)) throw new Error(`Migration id ${m.id} is used twice`);
      ids.add(m.id);
    }
    this.migrationState = { applied: 0, pending: migrations.length };
    const applied: string[] = [];
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`n3xus-migrate:${this.schema}`]);
      // A service's own role owns its schema (src/secrets/postgres-roles.ts creates both) but may not create a
      // schema, which needs CREATE on the database: CREATE SCHEMA IF NOT EXISTS checks that privilege before it
      // looks for the schema, so it is sent only when the schema is missing (a superuser connection: tests, and the
      // process driver's embedded server).
      const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.schema}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set((await client.query<{ id: string }>(`SELECT id FROM ${this.schema}.schema_migrations`)).rows.map((r) => r.id));
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await client.query(m.sql);
        await client.query(`INSERT INTO ${this.schema}.schema_migrations (id) VALUES ($1)`, [m.id]);
        applied.push(m.id);
      }
      this.migrationState = { applied: migrations.length, pending: 0 };
    });
    return applied;
  }

  /** Records why migrations have not run yet (readiness shows it). */
  noteMigrationError(err: unknown): void {
    this.migrationState = { ...this.migrationState, error: message(err) };
  }

  get circuit(): 'closed' | 'open' | 'half-open' {
    return this.guard.state();
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}

/** An error PostgreSQL itself returned for a statement (bad input, constraint): not a reason to degrade. */
export function isQueryError(err: unknown): err is pg.DatabaseError {
  return err instanceof pg.DatabaseError && !/^(08|57P|53)/.test(err.code ?? '');
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return message(err.errors[0]);
  return err instanceof Error ? err.message || err.name : String(err);
}
