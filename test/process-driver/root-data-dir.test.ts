/**
 * As root, PostgreSQL runs as UID 65534 (it refuses root), which must reach its data directory. A checkout under a
 * directory only root may enter (/root, most often) must still launch: the data then lives under /var/lib/n3xus,
 * and down --volumes removes it there too. The state directories n3xus makes stay traversable, never listable.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { findPostgres, reachableByUnprivileged, rootDataDir, serverDataRoot } from '../../src/drivers/process/local-servers.ts';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { projectDir } from '../../src/drivers/process/process-state.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { cutSecrets, launchSecrets } from '../support/fleet-cut.ts';
import { freePort } from '../support/local-servers.ts';

const ROOT = projectRoot();
const asRoot = process.getuid?.() === 0;
const project = `pdroot-${process.pid}`;
const why = !asRoot ? 'runs as root only' : findPostgres() === undefined ? 'needs PostgreSQL installed' : '';
// .ci/run runs as root with PostgreSQL installed: under CI=true this test must run, never skip.
if (why !== '' && process.env.CI === 'true') throw new Error(`The root data directory test ${why}, and CI must run it.`);

describe.skipIf(why !== '')(`PostgreSQL's data as root, under a directory only root may enter${why === '' ? '' : ` (skipped: ${why})`}`, () => {
  let closed = '';
  let stateDir = '';
  let fleet: Fleet;
  const driver = (): ProcessDriver => new ProcessDriver({ stateDir, fleet, env: { ...process.env, N3XUS_REDIS: 'none' } });

  beforeAll(async () => {
    closed = mkdtempSync(path.join(os.tmpdir(), 'n3xus-closed-'));
    chmodSync(closed, 0o700);
    stateDir = path.join(closed, '.n3xus');
    mkdirSync(stateDir, { mode: 0o700 });
    const ours = parse(readFileSync(path.join(ROOT, 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const pg = structuredClone(ours.services.postgres!);
    pg.ports = [`127.0.0.1:${await freePort()}:5432`];
    const services = { postgres: pg };
    const file = path.join(closed, 'fleet.yml');
    writeFileSync(file, stringify({ name: project, services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) }));
    fleet = parseFleet(readFileSync(file, 'utf8'), file, { env: {} });
  });
  afterAll(async () => {
    await down(driver(), project, { volumes: true, timeoutS: 2 }).catch(() => undefined);
    rmSync(closed, { recursive: true, force: true });
  });

  it('launches PostgreSQL with its data under /var/lib/n3xus, and down --volumes removes it', async () => {
    const d = driver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: d, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, d) });
    expect(result.failures).toEqual([]);
    const dir = projectDir(stateDir, project);
    expect(reachableByUnprivileged(path.join(dir, 'data'))).toBe(false);
    const fallback = rootDataDir(dir);
    expect(existsSync(path.join(fallback, 'postgres', 'PG_VERSION'))).toBe(true);
    // n3xus's own state directory: traversable by others, not listable.
    expect(statSync(stateDir).mode & 0o007).toBe(0o001);
    const removed = await down(d, project, { volumes: true, timeoutS: 2 });
    expect(removed.volumes).toEqual([path.join(dir, 'data'), fallback]);
    expect(existsSync(fallback)).toBe(false);
  }, 120_000);

  it('keeps the data under the state directory where UID 65534 reaches it', () => {
    const open = mkdtempSync(path.join(os.tmpdir(), 'n3xus-open-'));
    try {
      chmodSync(open, 0o755);
      expect(serverDataRoot(path.join(open, '.n3xus', 'p'))).toBe(path.join(open, '.n3xus', 'p', 'data'));
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
