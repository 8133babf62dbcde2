/**
 * The launch executor with the process driver: our compose file cut to four services (PostgreSQL, Redis, one core
 * and one federation service) on free ports, run as real processes from dist/fleet, with a PostgreSQL and a Redis
 * the driver starts itself. Real HTTP, real PIDs; every process is stopped and the state directory removed after.
 */
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchSecrets } from '../support/fleet-cut.ts';
import { cutProcessFleet, missingForProcessFleet } from '../support/process-fleet.ts';
import { describeUnless } from '../support/skip-or-fail.ts';
import type { Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { launch, type LaunchEvent, type LaunchResult } from '../../src/launch/launch.ts';
import { PortBusyError } from '../../src/launch/prechecks.ts';
import { ProcessDriver, START_MARK } from '../../src/drivers/process/process-driver.ts';
import { fleetStatus } from '../../src/launch/status.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { eventually } from '../support/docker.ts';
import { freePort } from '../support/local-servers.ts';
import { isZombie, pidAlive } from '../../src/process/detached.ts';

const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry'];
const project = `pd-${process.pid}`;
const missing = missingForProcessFleet();
let ports: Record<string, number> = {};
let stateDir = '';

/** Our compose file cut down to four services on free host ports (host port differs from the container's). */
const testFleet = (patch?: (services: Record<string, Record<string, unknown>>) => void): Fleet => cutProcessFleet(PICKED, ports, project, patch);

function newDriver(fleet: Fleet = testFleet()): ProcessDriver {
  return new ProcessDriver({ stateDir, fleet });
}

async function run(fleet: Fleet, options: Partial<Parameters<typeof launch>[0]> = {}): Promise<{ result: LaunchResult; events: LaunchEvent[] }> {
  const events: LaunchEvent[] = [];
  const driver = newDriver(fleet);
  const result = await launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, onEvent: (e) => events.push(e), ...launchSecrets(fleet, driver), ...options });
  return { result, events };
}

/** Service → PID of its running instance, from a fresh driver (as a later invocation would read it). */
async function pids(): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (const i of await newDriver().observe(project)) if (i.running) map.set(i.labels['n3xus.service']!, i.pid!);
  return map;
}

/** Whether `pid` runs: a zombie (exited, waiting for PID 1 to reap it) does not. */
function alive(pid: number): boolean {
  return pidAlive(pid) && !isZombie(pid);
}

describeUnless(missing, 'launch with the process driver', () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-pd-'));
    // Run as root, the driver runs PostgreSQL as nobody, which must reach the data directory (mkdtemp makes it 0700).
    chmodSync(stateDir, 0o755);
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
  });
  afterAll(async () => {
    await down(newDriver(), project, { volumes: true, timeoutS: 2 });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts the stages in order, PostgreSQL and Redis included, and returns once every service answers /ready', async () => {
    const { result, events } = await run(testFleet());
    expect(result.failures).toEqual([]);
    expect(result.driver).toBe('process');
    expect(result.services.map((s) => [s.service, s.action, s.outcome])).toEqual([
      ['postgres', 'create', 'healthy'],
      ['redis', 'create', 'healthy'],
      ['v-supercore', 'create', 'healthy'],
      ['identity-registry', 'create', 'healthy'],
    ]);
    expect(events.filter((e) => e.type === 'stage-start').map((e) => (e as { stage: string }).stage)).toEqual(['infra', 'core', 'federation']);
    // /ready answers 200 only once the service reached PostgreSQL and Redis through the rewritten addresses.
    const ready = await fetch(`http://127.0.0.1:${ports['identity-registry']}/ready`);
    expect(ready.status).toBe(200);
    expect([...(await pids()).keys()].sort()).toEqual([...PICKED].sort());
  }, 120_000);

  it('is a no-op on a healthy, unchanged fleet: the same processes keep running', async () => {
    const before = await pids();
    const { result, events } = await run(testFleet());
    expect(result.noOp).toBe(true);
    expect(events.filter((e) => e.type === 'service-step')).toEqual([]);
    expect(await pids()).toEqual(before);
  }, 60_000);

  it('status from a new driver instance reads the state file and probes every service', async () => {
    const status = await fleetStatus(testFleet(), project, newDriver());
    expect(status.services.map((s) => [s.service, s.state, s.healthy])).toEqual(PICKED.map((s) => [s, 'running', true]));
    expect(status.services.every((s) => typeof s.uptimeS === 'number')).toBe(true);
  }, 30_000);

  it('a killed service shows as exited with its exit code, and the next launch starts it again, its full log rotated', async () => {
    // The fleet's logging allows 3 files of 10 MiB: a log past that is rotated when the service next starts.
    const log = newDriver().logFile(project, 'v-supercore');
    appendFileSync(log, Buffer.alloc(10 * 1024 * 1024 + 1, 'x'));
    const before = statSync(log).size;
    const pid = (await pids()).get('v-supercore')!;
    process.kill(pid, 'SIGKILL'); // the wrapper; its node child is killed with the group below
    process.kill(-pid, 'SIGKILL');
    const exited = await eventually(async () => {
      const status = await fleetStatus(testFleet(), project, newDriver());
      const s = status.services.find((x) => x.service === 'v-supercore')!;
      if (s.state !== 'exited') throw new Error(`still ${s.state}`);
      return s;
    }, 10_000);
    expect(exited.healthy).toBe(false);
    const { result } = await run(testFleet());
    expect(result.services.map((s) => `${s.service}:${s.action}:${s.outcome}`)).toEqual(['postgres:keep:healthy', 'redis:keep:healthy', 'v-supercore:start:healthy', 'identity-registry:keep:healthy']);
    expect((await pids()).get('v-supercore')).not.toBe(pid);
    expect(statSync(`${log}.1`).size).toBeGreaterThanOrEqual(before);
    expect(readFileSync(log, 'utf8').startsWith(START_MARK)).toBe(true);
    expect(statSync(log).size).toBeLessThan(1024 * 1024);
  }, 90_000);

  it('recreates only the service whose configuration changed', async () => {
    const before = await pids();
    const changed = testFleet((s) => {
      (s['v-supercore']!.environment as Record<string, string>).LOG_LEVEL = 'debug';
    });
    const { result } = await run(changed);
    expect(result.services.map((s) => `${s.service}:${s.action}`)).toEqual(['postgres:keep', 'redis:keep', 'v-supercore:recreate', 'identity-registry:keep']);
    expect(result.services.every((s) => s.outcome === 'healthy')).toBe(true);
    const after = await pids();
    expect(after.get('v-supercore')).not.toBe(before.get('v-supercore'));
    expect(alive(before.get('v-supercore')!)).toBe(false);
    expect(after.get('identity-registry')).toBe(before.get('identity-registry'));
    expect(after.get('postgres')).toBe(before.get('postgres'));
  }, 90_000);

  it('reports a service that breaks the runtime law with exit 45 and its log lines', async () => {
    const lawless = testFleet((s) => {
      delete (s['identity-registry']!.environment as Record<string, string>).N3XUS_HANDSHAKE;
    });
    const { result } = await run(lawless);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ service: 'identity-registry', stage: 'federation', kind: 'law-violation', exitCode: 45 });
    expect(result.failures[0]!.logs.join('\n')).toContain('n3xus_law_violation');
  }, 90_000);

  it('reports a service that crashes on start with its exit code and the lines it printed, and what it blocks', async () => {
    const crashing = testFleet((s) => {
      s['v-supercore']!.command = ['node', '-e', 'console.log("cannot open the constitution"); process.exit(3)'];
      (s['identity-registry']!.labels as Record<string, string>)['n3xus.calls'] = 'v-supercore';
    });
    const { result } = await run(crashing);
    const failure = result.failures.find((f) => f.service === 'v-supercore')!;
    expect(failure).toMatchObject({ kind: 'exited', exitCode: 3 });
    expect(failure.logs).toEqual(['cannot open the constitution']);
    expect(failure.blocks).toContain('identity-registry');
    expect(result.services.find((s) => s.service === 'identity-registry')!.outcome).toBe('not-reached');
  }, 90_000);

  it('refuses to start anything when a host port is taken by another program, and leaves that program alone', async () => {
    await down(newDriver(), project, { timeoutS: 2 });
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports['identity-registry'], '127.0.0.1', resolve));
    try {
      const error = await run(testFleet()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortBusyError);
      expect((error as Error).message).toContain(`127.0.0.1:${ports['identity-registry']} (service "identity-registry")`);
      expect(await newDriver().observe(project)).toEqual([]);
      expect(blocker.listening).toBe(true);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  it('down stops and forgets only its own processes, later stages first', async () => {
    await run(testFleet());
    const started = await pids();
    const stages: string[] = [];
    const result = await down(newDriver(), project, { volumes: true, timeoutS: 2, onStage: (stage) => stages.push(stage) });
    expect(stages).toEqual(['federation', 'core', 'infra']);
    expect(result.removed).toHaveLength(4);
    for (const pid of started.values()) expect(alive(pid)).toBe(false);
    expect(await newDriver().observe(project)).toEqual([]);
    expect(existsSync(path.join(stateDir, project, 'data'))).toBe(false);
  }, 120_000);
});
