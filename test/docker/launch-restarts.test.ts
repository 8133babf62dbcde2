/**
 * launch tells the truth about restarts, on the real engine: a small fleet cut from our compose file (PostgreSQL,
 * Redis, v-supercore, identity-registry; the real images, on ports and under a project of its own) in which
 * v-supercore crashes once (exit 3) after it has answered /ready, and Docker's restart policy (unless-stopped) starts
 * it again while launch still waits for identity-registry. It is up at the end; launch says it restarted.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { launch, type LaunchResult } from '../../src/launch/launch.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { runCli } from '../support/cli.ts';
import { describeWithImage, SESSION_ID } from '../support/docker.ts';
import { AIRGAP, cutFleet, launchSecrets } from '../support/fleet-cut.ts';
import { freePort } from '../support/local-servers.ts';

const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const id = SESSION_ID.slice(0, 8);
const project = `n3xus-restarts-${id}`;
const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry'];
const dir = path.join(tmpdir(), `n3xus-restarts-${id}`);
const file = path.join(dir, 'fleet.yml');

/**
 * v-supercore as usual, except that the first time a container runs it, it exits 3 once /ready has answered 200 and
 * 3 s more have passed (long after launch has seen it healthy). The marker it leaves in the container's own
 * filesystem outlives a restart of that container, not a new container.
 */
const CRASH_ONCE = `
const fs = require('node:fs');
import('/opt/n3xus/bin/start.mjs');
if (!fs.existsSync('/tmp/crashed-once')) {
  fs.writeFileSync('/tmp/crashed-once', '');
  const poll = setInterval(() => {
    fetch('http://127.0.0.1:3001/ready').then((r) => {
      if (r.status !== 200) return;
      clearInterval(poll);
      setTimeout(() => { console.log('crashing once'); process.exit(3); }, 3000);
    }, () => undefined);
  }, 200);
}`;

type Services = Record<string, Record<string, unknown>>;

/** v-supercore crashes once (see CRASH_ONCE), on a root filesystem it can write and no tmpfs on /tmp. */
function crashOnce(services: Services): void {
  const supercore = services['v-supercore']!;
  supercore.command = ['node', '-e', CRASH_ONCE];
  supercore.read_only = false;
  delete supercore.tmpfs;
}

/** As {@link crashOnce}, and identity-registry starts 15 s late: launch is still waiting on it meanwhile. */
function crashOnceWhileWaiting(services: Services): void {
  crashOnce(services);
  services['identity-registry']!.command = ['node', '-e', "setTimeout(() => import('/opt/n3xus/bin/start.mjs'), 15000)"];
}

let ports: Record<string, number> = {};

function testFleet(patch: (services: Services) => void): Fleet {
  return parseFleet(cutFleet(PICKED, ports, { driver: 'bridge', name: `${project}-net` }, patch), file, { env: AIRGAP });
}

function run(fleet: Fleet): Promise<LaunchResult> {
  return launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, driver) });
}

async function containerOf(service: string): Promise<{ id: string; restartCount: number }> {
  const listed = await engine.container.list({ labels: { [STATE_LABELS.project]: project, [STATE_LABELS.service]: service } });
  const info = await engine.container.inspect(listed[0]!.id);
  return { id: info.id, restartCount: info.restartCount ?? 0 };
}

/** `n3xus launch` on the fleet file, on fresh containers (the last launch's removed first, so v-supercore crashes again). */
async function freshCli(...flags: string[]): ReturnType<typeof runCli> {
  await down(driver, project, { timeoutS: 1 });
  return runCli(['launch', '-f', file, '--project', project, '--driver', 'docker', ...flags], AIRGAP);
}

await describeWithImage('n3xus/identity-registry:3.0', 'launch reports the services that restarted while it ran', () => {
  beforeAll(async () => {
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, cutFleet(PICKED, ports, { driver: 'bridge', name: `${project}-net` }, crashOnceWhileWaiting));
  });
  afterAll(async () => {
    await down(driver, project, { volumes: true, timeoutS: 1 });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('names a service that crashed and was restarted by the engine, with its exit code, and still succeeds', async () => {
    const result = await run(testFleet(crashOnceWhileWaiting));
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => [s.service, s.outcome])).toEqual([
      ['postgres', 'healthy'],
      ['redis', 'healthy'],
      ['v-supercore', 'healthy'],
      ['identity-registry', 'healthy'],
    ]);
    expect(result.restarts).toEqual([{ service: 'v-supercore', count: 1, exitCodes: [3] }]);
    // The engine agrees: one restart by its restart policy.
    expect((await containerOf('v-supercore')).restartCount).toBe(1);
  }, 120_000);

  it('does not count the containers it stopped and replaced itself', async () => {
    const before = await containerOf('identity-registry');
    // identity-registry's command changes back: launch removes its container and creates another.
    const result = await run(testFleet(crashOnce));
    expect(result.services.map((s) => `${s.service}:${s.action}:${s.outcome}`)).toEqual([
      'postgres:keep:healthy',
      'redis:keep:healthy',
      'v-supercore:keep:healthy',
      'identity-registry:recreate:healthy',
    ]);
    expect((await containerOf('identity-registry')).id).not.toBe(before.id);
    expect(result.restarts).toEqual([]);
  }, 120_000);

  it('--strict fails the launch with one message naming the service, its restarts and exit code (exit 29)', async () => {
    const cli = await freshCli('--strict');
    expect(cli.code).toBe(29);
    expect(cli.message).toContain('1 service exited and restarted during the launch: v-supercore (1 restart, exit 3). With --strict, that fails the launch.');
    expect(cli.message).toContain('n3xus logs v-supercore');
    expect(`${cli.stdout}${cli.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(cli.stdout).toContain('4 of 4 services healthy');
    expect(cli.stdout).toContain('restarted during the launch: v-supercore (1 restart, exit 3)');
  }, 120_000);

  it('without --strict, --json reports the restart and exits 0', async () => {
    const cli = await freshCli('--json');
    expect(cli.code).toBe(0);
    const result = JSON.parse(cli.stdout) as LaunchResult;
    expect(result.failures).toEqual([]);
    expect(result.restarts).toEqual([{ service: 'v-supercore', count: 1, exitCodes: [3] }]);
  }, 120_000);
});
