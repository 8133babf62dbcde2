/**
 * The embedded PostgreSQL fallback (PGlite behind pglite-socket), as the process driver runs it when no PostgreSQL
 * is installed (forced here with N3XUS_POSTGRES=embedded): the infra stage comes up on it, a service reaches /ready
 * through it, and it serves many pooled clients at once, each connection with its own search_path and
 * transactions, as the services need.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cutSecrets, launchSecrets } from '../support/fleet-cut.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { findEmbeddedPostgres, findRedis } from '../../src/drivers/process/local-servers.ts';
import { EMBEDDED_POSTGRES_NOTICE, ProcessDriver } from '../../src/drivers/process/process-driver.ts';
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
    fleet = parseFleet(stringify({ services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) }), path.join(ROOT, 'compose', 'embedded-test.yml'), { env: {} });
  });
  afterAll(async () => {
    await down(driver(), project, { volumes: true, timeoutS: 5 });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings up the infra stage on it, and a service becomes ready against it', async () => {
    const d = driver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: d, project, healthTimeoutMs: 180_000, ...launchSecrets(fleet, d) });
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => `${s.service}:${s.outcome}`)).toEqual(['postgres:healthy', 'redis:healthy', 'v-supercore:healthy']);
    expect(result.notices).toEqual([EMBEDDED_POSTGRES_NOTICE]);
    const state = await driver().observe(project);
    const postgres = state.find((i) => i.labels['n3xus.service'] === 'postgres')!;
    expect(readFileSync(`/proc/${postgres.pid}/cmdline`, 'utf8')).toContain('pglite');
  }, 240_000);

  it('serves 98 pooled clients at once, each in the schema its connections ask for, with same-named tables apart', async () => {
    // As the kit connects: options=-c search_path=<its schema>, then unqualified table names.
    const pools = Array.from({ length: 98 }, (_, i) => new pg.Pool({ connectionString: `postgres://n3xus:n3xus@127.0.0.1:${pgPort}/n3xus`, options: `-c search_path=embedded_${i}`, max: 2 }));
    try {
      const rows = await Promise.all(
        pools.map(async (pool, i) => {
          await pool.query(`CREATE SCHEMA IF NOT EXISTS embedded_${i}`);
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('CREATE TABLE IF NOT EXISTS rules (id serial PRIMARY KEY, v text NOT NULL)');
            await client.query('INSERT INTO rules (v) VALUES ($1)', [`service ${i}`]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
          await Promise.all([pool.query('INSERT INTO rules (v) VALUES ($1)', [`service ${i}`]), pool.query('SELECT 1')]);
          return (await pool.query<{ n: number; v: string }>('SELECT count(*)::int AS n, min(v) AS v FROM rules')).rows[0]!;
        }),
      );
      expect(rows).toEqual(Array.from({ length: 98 }, (_, i) => ({ n: 2, v: `service ${i}` })));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  }, 120_000);

  it('rolls back what a client began when its connection drops mid-transaction', async () => {
    const url = `postgres://n3xus:n3xus@127.0.0.1:${pgPort}/n3xus`;
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query('CREATE TABLE IF NOT EXISTS public.dropped (v text)');
    const dropper = new pg.Client({ connectionString: url });
    await dropper.connect();
    await dropper.query('BEGIN');
    await dropper.query("INSERT INTO public.dropped VALUES ('uncommitted')");
    dropper.on('error', () => undefined); // the dropped connection is the point
    (dropper as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    // The next client is served (the dead one no longer holds the session) and sees nothing of its transaction.
    const { rows } = await setup.query<{ n: number }>('SELECT count(*)::int AS n FROM public.dropped');
    expect(rows[0]!.n).toBe(0);
    await setup.end();
  }, 30_000);
});
