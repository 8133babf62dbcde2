/**
 * The launch executor on a one-node swarm (made by the global setup): a small fleet cut from our compose file
 * (PostgreSQL, Redis, one core and one federation service, the real images) as Swarm services under a project of
 * its own, on an overlay network, reached through the loopback gateway on ports of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { SwarmDriver } from '../../src/drivers/swarm/swarm-driver.ts';
import { GATEWAY_LABELS, GATEWAY_ROLE } from '../../src/drivers/swarm/gateway.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { CREDENTIAL_KEYS } from '../../src/launch/desired.ts';
import { down } from '../../src/launch/down.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { launch, type LaunchResult } from '../../src/launch/launch.ts';
import { PortBusyError } from '../../src/launch/prechecks.ts';
import { fleetStatus } from '../../src/launch/status.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { observeContainers } from '../../src/verify/containers.ts';
import { judgeContainer } from '../../src/verify/judge.ts';
import type { VerifyReport } from '../../src/verify/types.ts';
import { runCli } from '../support/cli.ts';
import { describeWithSwarm, eventually, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { AIRGAP, cutFleet, cutSecretsDir, launchSecrets } from '../support/fleet-cut.ts';
import { freePort } from '../support/local-servers.ts';

const engine = new DockerEngine();
const project = `n3xus-swarm-${SESSION_ID.slice(0, 8)}`;
/** The images built here, and a password of this run's own: the secrets test looks for it. */
const ENV = { ...AIRGAP };
const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry'];

let ports: Record<string, number> = {};

/** Our compose file cut down to four services on free host ports, as YAML; `patch` edits service definitions. */
function testDoc(patch?: Parameters<typeof cutFleet>[3]): string {
  return cutFleet(PICKED, ports, { driver: 'overlay', name: `${project}-net` }, patch);
}

function testFleet(patch?: Parameters<typeof cutFleet>[3]): Fleet {
  return parseFleet(testDoc(patch), 'test-fleet.yml', { env: ENV });
}

function driverFor(fleet: Fleet): SwarmDriver {
  return new SwarmDriver(engine, { fleet });
}

async function services(): Promise<Map<string, { id: string; version: number }>> {
  const list = await engine.swarm.listServices({ labels: { [STATE_LABELS.project]: project } });
  return new Map(list.map((s) => [s.labels[STATE_LABELS.service]!, { id: s.id, version: s.version }]));
}

function run(fleet: Fleet, options: Partial<Parameters<typeof launch>[0]> = {}): Promise<LaunchResult> {
  const driver = driverFor(fleet);
  return launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 90_000, ...launchSecrets(fleet, driver), ...options });
}

await describeWithSwarm('n3xus/cli:3.0', 'launch on a swarm', () => {
  beforeAll(async () => {
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
  });
  afterAll(async () => {
    await down(driverFor(testFleet()), project, { volumes: true, timeoutS: 1 });
  });

  it('runs each service as a Swarm service, stage by stage, each answering on 127.0.0.1 through the gateway', async () => {
    const result = await run(testFleet());
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => [s.service, s.action, s.outcome])).toEqual([
      ['postgres', 'create', 'healthy'],
      ['redis', 'create', 'healthy'],
      ['v-supercore', 'create', 'healthy'],
      ['identity-registry', 'create', 'healthy'],
    ]);
    expect([...(await services()).keys()].sort()).toEqual([...PICKED].sort());
    const ready = await fetch(`http://127.0.0.1:${ports['identity-registry']}/ready`);
    expect(ready.status).toBe(200);
    // The gateway publishes on loopback only.
    const [gateway] = await engine.container.list({ labels: { [STATE_LABELS.project]: project, [GATEWAY_LABELS.role]: GATEWAY_ROLE } });
    expect(gateway?.running).toBe(true);
  }, 240_000);

  it('hands every credential over as a secret file: none is in any service environment the engine reports', async () => {
    // Every password of the cut's secret files (the URLs' and PostgreSQL's), none of which may be in an environment.
    const dir = cutSecretsDir(`${project}-net`);
    const values = readdirSync(dir).map((name) => readFileSync(path.join(dir, name), 'utf8'));
    // The passwords in the URLs, PostgreSQL's, and the services' caller keys (Ed25519 seeds).
    const seeds = readdirSync(dir).filter((name) => name.endsWith('-caller-key')).map((name) => readFileSync(path.join(dir, name), 'utf8'));
    expect(seeds).toHaveLength(2);
    const passwords = values.flatMap((v) => [...v.matchAll(/:\/\/[^:/@]+:([^@]+)@/g)].map((m) => m[1]!)).concat(readFileSync(path.join(dir, 'postgres-password'), 'utf8'), ...seeds);
    expect(passwords.length).toBeGreaterThanOrEqual(7);
    for (const service of await engine.swarm.listServices({ labels: { [STATE_LABELS.project]: project } })) {
      const env = ((service.spec.TaskTemplate as { ContainerSpec: { Env?: string[] } }).ContainerSpec.Env ?? []);
      for (const entry of env) {
        const key = entry.slice(0, entry.indexOf('='));
        expect(CREDENTIAL_KEYS as readonly string[]).not.toContain(key);
        for (const password of passwords) expect(entry).not.toContain(password);
        expect(entry).not.toContain('55-45-17');
      }
    }
    const secrets = await engine.swarm.listSecrets({ labels: { [STATE_LABELS.project]: project } });
    expect(secrets.map((s) => s.name.replace(/_[0-9a-f]{12}$/, '')).sort()).toEqual(
      [
        'caller-keys',
        'identity-registry-caller-key',
        'identity-registry-database-url',
        'identity-registry-redis-url',
        'n3xus-handshake',
        'postgres-password',
        'postgres-roles',
        'redis-acl',
        'v-supercore-caller-key',
        'v-supercore-database-url',
        'v-supercore-redis-url',
      ].map((s) => `${project}_${s}`),
    );
  });

  it('is a no-op on a healthy, unchanged fleet: no service is updated', async () => {
    const before = await services();
    const result = await run(testFleet());
    expect(result.noOp).toBe(true);
    expect(await services()).toEqual(before);
  }, 60_000);

  it('updates only the service whose configuration changed, in place', async () => {
    const before = await services();
    const changed = testFleet((s) => {
      (s['v-supercore']!.environment as Record<string, string>).LOG_LEVEL = 'debug';
    });
    const result = await run(changed);
    expect(result.services.map((s) => `${s.service}:${s.action}:${s.outcome}`)).toEqual(['postgres:keep:healthy', 'redis:keep:healthy', 'v-supercore:recreate:healthy', 'identity-registry:keep:healthy']);
    const after = await services();
    // The same service, one version on: updated, not removed and created again.
    expect(after.get('v-supercore')!.id).toBe(before.get('v-supercore')!.id);
    expect(after.get('v-supercore')!.version).toBeGreaterThan(before.get('v-supercore')!.version);
    for (const name of ['postgres', 'redis', 'identity-registry']) expect(after.get(name)).toEqual(before.get(name));
  }, 120_000);

  it('runs the replicas asked for, and the container check fails while one of them is missing', async () => {
    const fleet = testFleet();
    const result = await run(fleet, { replicas: new Map([['identity-registry', 2]]) });
    expect(result.failures).toEqual([]);
    const driver = driverFor(fleet);
    const registry = await eventually(async () => {
      const found = (await driver.observe(project)).find((i) => i.labels[STATE_LABELS.service] === 'identity-registry')!;
      if (found.replicas?.running !== 2) throw new Error(`replicas: ${JSON.stringify(found.replicas)}`);
      return found;
    }, 60_000);
    expect(registry.replicas!.tasks.map((t) => t.address)).toHaveLength(2);
    const state = await observeContainers('on', project, 5_000, '127.0.0.1', { kind: 'swarm', where: 'the swarm', list: (p) => driver.observe(p) });
    expect(judgeContainer(state.byService.get('identity-registry'), 'identity-registry', project).status).toBe('pass');
    // One replica's container killed by hand: until Swarm has replaced it, the check names the missing copy.
    const victim = registry.replicas!.tasks[0]!;
    const task = (await engine.swarm.listTasks({ services: [registry.id] })).find((t) => t.id === victim.id)!;
    await engine.container.remove(task.containerId!);
    const short = await eventually(async () => {
      const found = (await driver.observe(project)).find((i) => i.labels[STATE_LABELS.service] === 'identity-registry')!;
      if (found.replicas!.running !== 1) throw new Error(`replicas: ${JSON.stringify(found.replicas)}`);
      return found;
    }, 10_000, 50);
    expect(judgeContainer(short, 'identity-registry', project)).toMatchObject({ status: 'fail', code: 'replicas-missing', message: expect.stringContaining('1 of 2 replicas') });
    // Swarm puts a new task in its place.
    await eventually(async () => {
      const found = (await driver.observe(project)).find((i) => i.labels[STATE_LABELS.service] === 'identity-registry')!;
      if (found.replicas!.running !== 2) throw new Error(`replicas: ${JSON.stringify(found.replicas)}`);
    }, 60_000);
    // status shows the copies, and does not take a service launched with two for a changed one. The new task runs a
    // moment before its server listens, and the gateway may send the probe to it: healthy once it answers.
    const row = await eventually(async () => {
      const found = (await fleetStatus(fleet, project, driver)).services.find((s) => s.service === 'identity-registry')!;
      if (!found.healthy) throw new Error(`not healthy yet: ${found.detail}`);
      return found;
    }, 30_000);
    expect(row).toMatchObject({ state: 'running', replicas: { running: 2, desired: 2 }, configChanged: false, healthy: true });
  }, 180_000);

  it('verifies from inside the network: every replica at its own address, and names a replica that does not answer', async () => {
    // The fleet still runs identity-registry twice (the test before). The CLI reads the same fleet from a file.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-swarm-verify-'));
    const file = path.join(dir, 'fleet.yml');
    await writeFile(file, testDoc());
    await writeFile(path.join(dir, 'airgap.env'), Object.entries(ENV).map(([k, v]) => `${k}=${v}`).join('\n'));
    const args = ['verify', '--full', '--driver', 'swarm', '-f', file, '-p', project, '--threshold', '100', '--json'];
    try {
      const healthy = await runCli(args, { N3XUS_CACHE_DIR: dir });
      expect(healthy.message).toBe('');
      expect(healthy.code).toBe(0);
      const report = JSON.parse(healthy.stdout) as VerifyReport;
      expect(report.host).toBe(`inside network ${project}-net`);
      const registry = report.services.find((s) => s.name === 'identity-registry')!;
      expect(registry.checks.find((c) => c.name === 'replicas')).toMatchObject({ status: 'pass', message: 'all 2 replicas answer GET /health' });

      // One replica hangs (its processes stopped): Swarm, with no healthcheck, still counts it as running.
      const driver = driverFor(testFleet());
      const instance = (await driver.observe(project)).find((i) => i.labels[STATE_LABELS.service] === 'identity-registry')!;
      const task = (await engine.swarm.listTasks({ services: [instance.id] })).find((t) => t.id === instance.replicas!.tasks[0]!.id)!;
      await engine.container.pause(task.containerId!);
      try {
        const broken = await runCli(args, { N3XUS_CACHE_DIR: dir });
        expect(broken.code).toBe(20);
        const failed = (JSON.parse(broken.stdout) as VerifyReport).services.find((s) => s.name === 'identity-registry')!;
        expect(failed.checks.find((c) => c.name === 'replicas')).toMatchObject({ status: 'fail', message: expect.stringContaining(`task ${task.id.slice(0, 12)} at ${instance.replicas!.tasks[0]!.address}`) });
      } finally {
        await engine.container.unpause(task.containerId!);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses to launch when a port it would publish is taken, and creates nothing', async () => {
    await down(driverFor(testFleet()), project, { volumes: true, timeoutS: 1 });
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports['v-supercore'], '127.0.0.1', resolve));
    try {
      await expect(run(testFleet())).rejects.toBeInstanceOf(PortBusyError);
      expect((await services()).size).toBe(0);
      expect(await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  it('refuses to launch when another Swarm service publishes one of its ports, naming that service', async () => {
    const other = await engine.swarm.createService({
      Name: `${project}-squatter`,
      Labels: TEST_LABELS,
      TaskTemplate: { ContainerSpec: { Image: 'n3xus/node:24', Command: ['node', '-e', 'setInterval(() => {}, 1000)'] } },
      Mode: { Replicated: { Replicas: 0 } },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 9, PublishedPort: ports.redis, PublishMode: 'host' }] },
    });
    try {
      const error = await run(testFleet()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortBusyError);
      expect((error as PortBusyError).message).toContain(`127.0.0.1:${ports.redis} (service "redis", held by Swarm service "${project}-squatter", published on every interface)`);
      expect((await services()).size).toBe(0);
    } finally {
      await engine.swarm.removeService(other);
    }
  }, 60_000);

  it('down leaves nothing of the project: services, gateway, network, secrets, configs, volume', async () => {
    const fleet = testFleet();
    expect((await run(fleet)).failures).toEqual([]);
    const status = await fleetStatus(fleet, project, driverFor(fleet));
    expect(status.healthy).toBe(4);
    const result = await down(driverFor(fleet), project, { volumes: true, timeoutS: 1 });
    expect(result.removed).toHaveLength(4);
    const label = { [STATE_LABELS.project]: project };
    expect(await engine.swarm.listServices({ labels: label })).toEqual([]);
    // A removed service's task containers go a moment after it, as with docker stack rm.
    await eventually(async () => {
      const left = await engine.container.list({ labels: label });
      if (left.length > 0) throw new Error(`containers still there: ${left.map((c) => `${c.name} (${c.status})`).join(', ')}`);
    }, 30_000);
    expect(await engine.swarm.listSecrets({ labels: label })).toEqual([]);
    expect(await engine.swarm.listConfigs({ labels: label })).toEqual([]);
    expect(await engine.volume.list({ labels: label })).toEqual([]);
    await eventually(async () => {
      if ((await engine.network.list({ labels: label })).length > 0) throw new Error('network still there');
    }, 30_000);
  }, 240_000);
});
