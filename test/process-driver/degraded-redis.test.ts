/**
 * Without redis-server (forced here with N3XUS_REDIS=none), the process driver runs the fleet without Redis: launch
 * says so and goes on, the services come up degraded (ready but for Redis), a relaunch changes nothing, and
 * status and verify report Redis as unavailable, never as passed.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cutSecrets, launchSecrets } from '../support/fleet-cut.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { findPostgres } from '../../src/drivers/process/local-servers.ts';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { fleetStatus } from '../../src/launch/status.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { verifyFleet } from '../../src/verify/verify.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import { freePort } from '../support/local-servers.ts';

const ROOT = projectRoot();
const PICKED = ['postgres', 'redis', 'v-supercore'];
const project = `pdredis-${process.pid}`;
const missing = findPostgres() ? [] : ['PostgreSQL (postgres, initdb)'];
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`The degraded Redis test needs ${missing.join(', ')}, and CI must run it.`);

let stateDir = '';
let file = '';
let fleet: Fleet;
const driver = (): ProcessDriver => new ProcessDriver({ stateDir, fleet, env: { ...process.env, N3XUS_REDIS: 'none' } });

describe.skipIf(missing.length > 0)(`the fleet without Redis${missing.length > 0 ? ` (skipped: needs ${missing.join(', ')})` : ''}`, () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-pdredis-'));
    chmodSync(stateDir, 0o755);
    const ours = parse(readFileSync(path.join(ROOT, 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const services: Record<string, Record<string, unknown>> = {};
    for (const name of PICKED) {
      const s = structuredClone(ours.services[name]!);
      s.ports = [`127.0.0.1:${await freePort()}:${(s.labels as Record<string, string>)['n3xus.port']}`];
      if (s.build) (s.build as Record<string, unknown>).context = path.join(ROOT, 'dist/fleet');
      services[name] = s;
    }
    file = path.join(stateDir, 'fleet.yml');
    writeFileSync(file, stringify({ name: project, services, networks: { 'nexus-net': {} }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) }));
    fleet = parseFleet(readFileSync(file, 'utf8'), file, { env: {} });
  });
  afterAll(async () => {
    await down(driver(), project, { volumes: true, timeoutS: 2 });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('launch reports Redis as degraded, with the reason, and brings up the services without it', async () => {
    const d = driver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: d, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, d) });
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => `${s.service}:${s.outcome}`)).toEqual(['postgres:healthy', 'redis:degraded', 'v-supercore:healthy']);
    expect(result.degraded).toEqual([{ service: 'redis', reason: expect.stringContaining('redis-server is not installed') as string }]);
  }, 120_000);

  it('a second launch changes nothing', async () => {
    const d = driver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver: d, project, ...launchSecrets(fleet, d) });
    expect(result.noOp).toBe(true);
    expect(result.degraded.map((d) => d.service)).toEqual(['redis']);
  }, 60_000);

  it('status shows Redis degraded and unhealthy, the services healthy', async () => {
    const status = await fleetStatus(fleet, project, driver());
    expect(status.services.map((s) => [s.service, s.state, s.healthy])).toEqual([
      ['postgres', 'running', true],
      ['redis', 'degraded', false],
      ['v-supercore', 'running', true],
    ]);
  }, 30_000);

  it('verify reports Redis as unavailable, never as passed', async () => {
    const report = await verifyFleet({
      mode: 'full',
      fleetFile: file,
      project,
      threshold: 0,
      cacheDir: stateDir,
      instances: { kind: 'process', where: stateDir, list: (p) => driver().observe(p) },
    });
    const redis = report.services.find((s) => s.name === 'redis')!;
    expect(redis.operational).toBe(false);
    expect(redis.checks.some((c) => c.status === 'pass')).toBe(false);
    expect(redis.checks.find((c) => c.name === 'container')?.message).toContain('redis-server is not installed');
    // One root cause, in one line, with the one command that makes it green.
    const summary = renderSummary(report).split('\n');
    expect(summary).toContain('  Redis is not running (degraded mode): 1 service not ready because of it; run n3xus bootstrap --fix');
    expect(summary.filter((l) => l.includes('because of it'))).toHaveLength(1);
    expect(report.operationalPercent).toBeLessThan(100);
  }, 60_000);
});
