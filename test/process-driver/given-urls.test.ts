/**
 * PostgreSQL and Redis given by URL (N3XUS_POSTGRES_URL, N3XUS_REDIS_URL): the process driver starts no server of
 * its own, the services get those URLs, the published ports forward to them (so launch, status and verify probe
 * them as usual), and down leaves the servers alone.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cutSecrets, launchSecrets } from '../support/fleet-cut.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { readState } from '../../src/drivers/process/process-state.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { freePort } from '../support/local-servers.ts';

const ROOT = projectRoot();
const PICKED = ['postgres', 'redis', 'v-supercore'];
const project = `pdurl-${process.pid}`;
const adminUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');
const missing = [adminUrl ? '' : `PostgreSQL (${inject('postgresMissing')})`, redisUrl ? '' : `Redis (${inject('redisMissing')})`].filter((m) => m !== '');

let stateDir = '';
let fleet: Fleet;
let databaseUrl = '';
const database = `n3xus_pdurl_${process.pid}`;
const driver = (): ProcessDriver => new ProcessDriver({ stateDir, fleet, env: { ...process.env, N3XUS_POSTGRES_URL: databaseUrl, N3XUS_REDIS_URL: redisUrl } });

describe.skipIf(missing.length > 0)(`servers given by URL${missing.length > 0 ? ` (skipped: needs ${missing.join(', ')})` : ''}`, () => {
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-pdurl-'));
    chmodSync(stateDir, 0o755);
    const ours = parse(readFileSync(path.join(ROOT, 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const services: Record<string, Record<string, unknown>> = {};
    for (const name of PICKED) {
      const s = structuredClone(ours.services[name]!);
      s.ports = [`127.0.0.1:${await freePort()}:${(s.labels as Record<string, string>)['n3xus.port']}`];
      services[name] = s;
    }
    fleet = parseFleet(stringify({ services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) }), path.join(ROOT, 'compose', 'url-test.yml'), { env: {} });
  });
  afterAll(async () => {
    if (stateDir !== '') await down(driver(), project, { volumes: true, timeoutS: 2 });
    rmSync(stateDir, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('brings the fleet up on them: the services get the URLs, the published ports forward to the servers', async () => {
    const d = driver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: d, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, d) });
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => `${s.service}:${s.outcome}`)).toEqual(['postgres:healthy', 'redis:healthy', 'v-supercore:healthy']);
    const records = readState(stateDir, project).records;
    const service = records.find((r) => r.service === 'v-supercore')!;
    // By file, as in a container: the given URLs, credentials and database included, in place of the fleet's.
    expect(service.env.DATABASE_URL).toBeUndefined();
    expect(readFileSync(service.env.DATABASE_URL_FILE!, 'utf8')).toBe(databaseUrl);
    expect(readFileSync(service.env.REDIS_URL_FILE!, 'utf8')).toBe(redisUrl);
    expect(statSync(service.env.DATABASE_URL_FILE!).mode & 0o777).toBe(0o600);
    expect(records.find((r) => r.service === 'postgres')!.argv.join(' ')).toContain('tcp-forward');
    // The service migrated into the given database.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const schemas = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'v_supercore'");
    await client.end();
    expect(schemas.rows[0]!.n).toBe(1);
  }, 120_000);

  it('down stops the forwarders and the services, and leaves the given servers running', async () => {
    await down(driver(), project, { timeoutS: 2 });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await client.end();
  }, 60_000);
});
