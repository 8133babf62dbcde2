/**
 * The embedded PostgreSQL fallback (PGlite behind pglite-socket), as the process driver runs it when no PostgreSQL
 * is installed (forced here with N3XUS_POSTGRES=embedded): the infra stage comes up on it, a service reaches /ready
 * through it, and it serves many pooled clients at once; and the limit launch warns about.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { findEmbeddedPostgres, findRedis } from '../../src/launch/local-servers.ts';
import { EMBEDDED_POSTGRES_NOTICE, ProcessDriver } from '../../src/launch/process-driver.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { freePort } from '../support/local-servers.ts';

const ROOT = projectRoot();
const PICKED = ['postgres', 'redis', 'v-supercore'];
const project = `pdpg-${process.pid}`;
const missing = [findEmbeddedPostgres() ? '' : '@electric-sql/pglite-socket (npm ci)', findRedis() ? '' : 'redis-server'].filter((m) => m !== '');
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`The embedded PostgreSQL test needs ${missing.join(', ')}, and CI must run it.`);

let stateDir = '';
let fleet: Fleet;
let pgPort = 0;
const driver = (): ProcessDriver => new ProcessDriver({ stateDir, fleet, env: { ...process.env, N3XUS_POSTGRES: 'embedded' } });

describe.skipIf(missing.length > 0)(`the embedded PostgreSQL${missing.length > 0 ? ` (skipped: needs ${missing.join(', ')})` : ''}`, () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-pdpg-'));
    chmodSync(stateDir, 0o755);
    const ours = parse(readFileSync(path.join(ROOT, 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const services: Record<string, Record<string, unknown>> = {};
    for (const name of PICKED) {
      const s = structuredClone(ours.services[name]!);
      const port = await freePort();
      if (name === 'postgres') pgPort = port;
      s.ports = [`127.0.0.1:${port}:${(s.labels as Record<string, string>)['n3xus.port']}`];
      services[name] = s;
    }
    fleet = parseFleet(stringify({ services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} } }), path.join(ROOT, 'compose', 'embedded-test.yml'), { env: {} });
  });
  afterAll(async () => {
    await down(driver(), project, { volumes: true, timeoutS: 5 });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings up the infra stage on it, and a service becomes ready against it', async () => {
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: driver(), project, healthTimeoutMs: 180_000 });
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => `${s.service}:${s.outcome}`)).toEqual(['postgres:healthy', 'redis:healthy', 'v-supercore:healthy']);
    expect(result.notices).toEqual([EMBEDDED_POSTGRES_NOTICE]);
    const state = await driver().observe(project);
    const postgres = state.find((i) => i.labels['n3xus.service'] === 'postgres')!;
    expect(readFileSync(`/proc/${postgres.pid}/cmdline`, 'utf8')).toContain('pglite');
  }, 240_000);

  it('serves 98 pooled clients at once, each in a schema it names in its queries, with the fleet\'s credentials', async () => {
    const pools = Array.from({ length: 98 }, () => new pg.Pool({ connectionString: `postgres://n3xus:n3xus@127.0.0.1:${pgPort}/n3xus`, max: 2 }));
    try {
      const counts = await Promise.all(
        pools.map(async (pool, i) => {
          await pool.query(`CREATE SCHEMA IF NOT EXISTS embedded_${i}`);
          await pool.query(`CREATE TABLE IF NOT EXISTS embedded_${i}.t (id serial PRIMARY KEY, v text NOT NULL)`);
          await Promise.all([pool.query(`INSERT INTO embedded_${i}.t (v) VALUES ($1)`, [`row ${i}`]), pool.query('SELECT 1')]);
          return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM embedded_${i}.t`)).rows[0]!.n;
        }),
      );
      expect(counts).toEqual(Array.from({ length: 98 }, () => 1));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  }, 120_000);

  // Why launch prints EMBEDDED_POSTGRES_NOTICE: should pglite-socket ever keep per-connection settings, this fails,
  // and the notice (and the README's caveat) can go.
  it('does not keep the search_path a client asks for at connect time: all connections share one session', async () => {
    const connect = async (schema: string): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: `postgres://n3xus:n3xus@127.0.0.1:${pgPort}/n3xus`, options: `-c search_path=${schema}` });
      await client.connect();
      return client;
    };
    const [a, b] = [await connect('service_a'), await connect('service_b')];
    try {
      expect((await a.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path).toBe('public');
      expect((await b.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path).toBe('public');
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  }, 30_000);
});
