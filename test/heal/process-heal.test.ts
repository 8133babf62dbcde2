/**
 * `n3xus heal`'s watcher on real processes (issue 14): our compose file cut to PostgreSQL, Redis, v-supercore and
 * identity-registry, launched by the process driver on free ports; a service's process killed; the watcher brings it
 * back, through the driver, within a few of its intervals. Everything is stopped and removed after.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { dependencies, watch, type WatchEvent } from '../../src/heal/watch.ts';
import { down } from '../../src/launch/down.ts';
import { launch } from '../../src/launch/launch.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { isZombie, pidAlive } from '../../src/process/detached.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { eventually } from '../support/docker.ts';
import { launchSecrets } from '../support/fleet-cut.ts';
import { cutProcessFleet, missingForProcessFleet } from '../support/process-fleet.ts';
import { describeUnless } from '../support/skip-or-fail.ts';
import { freePort } from '../support/local-servers.ts';

const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry'];
const project = `heal-${process.pid}`;
const missing = missingForProcessFleet();
let ports: Record<string, number> = {};
let stateDir = '';

const testFleet = (): Fleet => cutProcessFleet(PICKED, ports, project);
const newDriver = () => new ProcessDriver({ stateDir, fleet: testFleet() });

/** Service → PID of its running instance. */
async function pids(): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (const i of await newDriver().observe(project)) if (i.running) map.set(i.labels['n3xus.service']!, i.pid!);
  return map;
}

describe('what heal restarts first', () => {
  it('puts PostgreSQL and Redis before every service, and a service after the earlier-stage peers it calls', () => {
    const fleet = parseFleet(readFileSync(path.join(projectRoot(), 'compose', 'docker-compose.full.yml'), 'utf8'), path.join(projectRoot(), 'compose', 'docker-compose.full.yml'), { env: {} });
    const deps = new Map(dependencies(fleet).map((s) => [s.name, s.dependsOn]));
    expect(deps.get('postgres')).toEqual([]);
    expect(deps.get('identity-registry')).toEqual(expect.arrayContaining(['postgres', 'redis']));
    // content-registry (domain) calls identity-registry (federation): an earlier stage, so a dependency.
    expect(deps.get('content-registry')).toEqual(expect.arrayContaining(['postgres', 'redis', 'identity-registry']));
    for (const [name, on] of deps) for (const dep of on) expect(fleet.services.find((s) => s.name === dep), `${name} → ${dep}`).toBeDefined();
  });
});

describeUnless(missing, 'heal on a fleet of processes', () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-heal-'));
    chmodSync(stateDir, 0o755);
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
    const fleet = testFleet();
    const driver = newDriver();
    const result = await launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, driver) });
    expect(result.failures).toEqual([]);
  }, 120_000);
  afterAll(async () => {
    await down(newDriver(), project, { volumes: true, timeoutS: 2 });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings a killed service back within a few intervals, says so, and leaves the rest alone', async () => {
    const before = await pids();
    const victim = before.get('identity-registry')!;
    process.kill(-victim, 'SIGKILL');
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const watching = watch({ fleet: testFleet(), project, driver: newDriver(), intervalMs: 300, signal: controller.signal, onEvent: (e) => events.push(e) });
    try {
      const back = await eventually(async () => {
        const now = await pids();
        const pid = now.get('identity-registry');
        if (pid === undefined || pid === victim) throw new Error('not restarted yet');
        const res = await fetch(`http://127.0.0.1:${ports['identity-registry']}/health`);
        if (res.status !== 200) throw new Error(`health ${res.status}`);
        return now;
      }, 20_000);
      for (const name of ['postgres', 'redis', 'v-supercore']) expect(back.get(name), name).toBe(before.get(name));
      await eventually(async () => {
        if (!events.some((e) => e.kind === 'recovered' && e.service === 'identity-registry')) throw new Error('no recovery yet');
      }, 5_000);
    } finally {
      controller.abort();
      await watching;
    }
    const restarts = events.filter((e) => e.kind === 'restart');
    expect(restarts).toEqual([expect.objectContaining({ kind: 'restart', service: 'identity-registry', reason: expect.stringMatching(/^(stopped, exit code unknown|exited with code .*)$/) })]);
    expect(events.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
  }, 60_000);

  it('creates an instance that was removed altogether again, through launch, with its secrets', async () => {
    const driver = newDriver();
    const victim = (await driver.observe(project)).find((i) => i.labels['n3xus.service'] === 'identity-registry')!;
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const fleet = testFleet();
    let sweeps = 0;
    const watching = watch({ fleet, project, driver: newDriver(), intervalMs: 300, signal: controller.signal, onEvent: (e) => events.push(e), onSweep: () => (sweeps += 1), secretValues: launchSecrets(fleet, driver).secretValues! });
    try {
      // Seen once first: the watcher keeps up what it has seen run, not what was never launched.
      await eventually(async () => {
        if (sweeps === 0) throw new Error('no sweep yet');
      }, 10_000);
      await driver.remove(victim.id);
      await eventually(async () => {
        if (!events.some((e) => e.kind === 'recreated' && e.service === 'identity-registry')) throw new Error(`not recreated yet: ${JSON.stringify(events)}`);
      }, 30_000);
    } finally {
      controller.abort();
      await watching;
    }
    const now = (await newDriver().observe(project)).filter((i) => i.labels['n3xus.service'] === 'identity-registry');
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(victim.id);
    expect((await fetch(`http://127.0.0.1:${ports['identity-registry']}/ready`)).status).toBe(200);
    expect(events.filter((e) => e.kind === 'restart').map((e) => [e.service, 'reason' in e ? e.reason : ''])).toEqual([['identity-registry', 'gone']]);
  }, 60_000);

  it('decides nothing while a launch holds the fleet or the list of instances fails, and says so once each', async () => {
    const victim = (await pids()).get('v-supercore')!;
    process.kill(-victim, 'SIGKILL');
    let held = true;
    let failures = 3;
    const real = newDriver();
    const flaky = new Proxy(real, {
      get: (target, key) =>
        key === 'observe'
          ? (p: string) => (failures-- > 0 ? Promise.reject(new Error('connect ECONNREFUSED /var/run/docker.sock')) : target.observe(p))
          : typeof target[key as keyof ProcessDriver] === 'function'
            ? (target[key as keyof ProcessDriver] as (...args: unknown[]) => unknown).bind(target)
            : target[key as keyof ProcessDriver],
    });
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const watching = watch({ fleet: testFleet(), project, driver: flaky, intervalMs: 200, signal: controller.signal, onEvent: (e) => events.push(e), heldBy: () => (held ? 'launch (pid 1)' : undefined) });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Held: nothing restarted, one line saying why.
      expect((await pids()).get('v-supercore')).toBeUndefined();
      expect(events.map((e) => e.kind)).toEqual(['paused']);
      held = false;
      await eventually(async () => {
        const pid = (await pids()).get('v-supercore');
        if (pid === undefined || pid === victim) throw new Error('not restarted yet');
      }, 20_000);
    } finally {
      controller.abort();
      await watching;
    }
    expect(events.map((e) => e.kind).slice(0, 5)).toEqual(['paused', 'resumed', 'unreachable', 'reachable', 'restart']);
    expect(events.find((e) => e.kind === 'unreachable')).toMatchObject({ error: 'connect ECONNREFUSED /var/run/docker.sock' });
  }, 60_000);

  it('stops when its signal aborts, and down then leaves no process of the fleet', async () => {
    const controller = new AbortController();
    const watching = watch({ fleet: testFleet(), project, driver: newDriver(), intervalMs: 60_000, signal: controller.signal, onEvent: () => {} });
    await new Promise((resolve) => setTimeout(resolve, 500));
    controller.abort();
    await watching;
    const running = [...(await pids()).values()];
    expect(running).toHaveLength(4);
    await down(newDriver(), project, { timeoutS: 2 });
    for (const pid of running) expect(pidAlive(pid) && !isZombie(pid), `pid ${pid}`).toBe(false);
  }, 60_000);
});
