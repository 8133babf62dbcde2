/**
 * The launch executor on the real engine: a small fleet cut from our compose file (PostgreSQL, Redis, one core
 * and one federation service, the real images) on ports of its own, under a project of its own.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { desiredInstances } from '../../src/launch/desired.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { down } from '../../src/launch/down.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { launch, type LaunchEvent, type LaunchResult } from '../../src/launch/launch.ts';
import { PortBusyError } from '../../src/launch/prechecks.ts';
import { fleetStatus } from '../../src/launch/status.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { freePort } from '../support/local-servers.ts';
import { describeWithImage, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { AIRGAP, cutFleet, launchSecrets, onDataNetwork } from '../support/fleet-cut.ts';

const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const project = `n3xus-test-${SESSION_ID.slice(0, 8)}`;
const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry'];

let ports: Record<string, number> = {};

/** Our compose file cut down to four services on free host ports; `patch` edits service definitions. */
function testFleet(patch?: Parameters<typeof cutFleet>[3]): Fleet {
  return parseFleet(cutFleet(PICKED, ports, { driver: 'bridge', name: `${project}-net` }, patch), 'test-fleet.yml', { env: AIRGAP });
}

async function containers(): Promise<Map<string, { id: string; status: string }>> {
  const list = await engine.container.list({ labels: { [STATE_LABELS.project]: project } });
  const map = new Map<string, { id: string; status: string }>();
  for (const c of list) {
    const service = c.labels[STATE_LABELS.service]!;
    if (map.has(service)) throw new Error(`two containers for ${service}`);
    map.set(service, { id: c.id, status: c.status });
  }
  return map;
}

const CONNECT_SCRIPT = `
const [host, port] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port), timeout: 3000 });
socket.on('connect', () => { console.log('open'); process.exit(0); });
socket.on('timeout', () => { console.log('timeout'); process.exit(0); });
socket.on('error', (error) => { console.log(error.code); process.exit(0); });
`;

/**
 * What a TCP connect to `host`:`port` gives ('open', 'timeout' or the error code) from a one-shot container on
 * `networks`, or from this process when `networks` is undefined.
 */
async function connectFrom(networks: string[] | undefined, host: string, port: number): Promise<string> {
  if (networks === undefined) {
    return new Promise((resolve) => {
      const socket = createConnection({ host, port, timeout: 3000 }, () => (socket.destroy(), resolve('open')));
      socket.on('timeout', () => (socket.destroy(), resolve('timeout')));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }
  const id = await engine.container.create({
    image: 'n3xus/identity-registry:3.0',
    entrypoint: ['node', '-e', CONNECT_SCRIPT],
    cmd: [host, String(port)],
    labels: { ...TEST_LABELS, [STATE_LABELS.project]: project },
    network: networks[0],
    extraNetworks: networks.slice(1),
  });
  try {
    await engine.container.start(id);
    await engine.container.wait(id, { timeoutMs: 30_000 });
    return (await engine.container.logs(id)).stdout.trim();
  } finally {
    await engine.container.remove(id);
  }
}

async function run(fleet: Fleet, options: Partial<Parameters<typeof launch>[0]> = {}): Promise<{ result: LaunchResult; events: LaunchEvent[] }> {
  const events: LaunchEvent[] = [];
  const result = await launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, onEvent: (e) => events.push(e), ...launchSecrets(fleet, driver), ...options });
  return { result, events };
}

await describeWithImage('n3xus/identity-registry:3.0', 'launch on the engine', () => {
  beforeAll(async () => {
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
  });
  afterAll(async () => {
    await down(driver, project, { volumes: true, timeoutS: 1 });
  });

  it('starts the stages in order and returns once every service answers /ready', async () => {
    const { result, events } = await run(testFleet());
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => [s.service, s.action, s.outcome])).toEqual([
      ['postgres', 'create', 'healthy'],
      ['redis', 'create', 'healthy'],
      ['v-supercore', 'create', 'healthy'],
      ['identity-registry', 'create', 'healthy'],
    ]);
    expect(events.filter((e) => e.type === 'stage-start').map((e) => (e as { stage: string }).stage)).toEqual(['infra', 'core', 'federation']);
    // Healthy means answering on the published port, on 127.0.0.1.
    const ready = await fetch(`http://127.0.0.1:${ports['identity-registry']}/ready`);
    expect(ready.status).toBe(200);
    expect([...(await containers()).values()].every((c) => c.status === 'running')).toBe(true);
  }, 120_000);

  it('is a no-op on a healthy, unchanged fleet: nothing is recreated', async () => {
    const before = await containers();
    const { result, events } = await run(testFleet());
    expect(result.noOp).toBe(true);
    expect(events.filter((e) => e.type === 'service-step')).toEqual([]);
    expect(await containers()).toEqual(before);
  }, 60_000);

  it('recreates only the service whose configuration changed', async () => {
    const before = await containers();
    const changed = testFleet((s) => {
      (s['v-supercore']!.environment as Record<string, string>).LOG_LEVEL = 'debug';
    });
    const { result } = await run(changed);
    expect(result.services.map((s) => `${s.service}:${s.action}`)).toEqual(['postgres:keep', 'redis:keep', 'v-supercore:recreate', 'identity-registry:keep']);
    expect(result.services.every((s) => s.outcome === 'healthy')).toBe(true);
    const after = await containers();
    expect(after.get('v-supercore')!.id).not.toBe(before.get('v-supercore')!.id);
    expect(after.get('identity-registry')!.id).toBe(before.get('identity-registry')!.id);
    expect(after.get('postgres')!.id).toBe(before.get('postgres')!.id);
  }, 120_000);

  it('reports a service that breaks the runtime law with exit 45 and its log, and stops it rather than restart it forever', async () => {
    const lawless = testFleet((s) => {
      delete (s['identity-registry']!.environment as Record<string, string>).N3XUS_HANDSHAKE;
    });
    const { result } = await run(lawless);
    expect(result.failures).toHaveLength(1);
    const failure = result.failures[0]!;
    expect(failure).toMatchObject({ service: 'identity-registry', stage: 'federation', kind: 'law-violation', exitCode: 45 });
    expect(failure.logs.join('\n')).toContain('n3xus_law_violation');
    // Its restart policy is unless-stopped: left alone, the engine would restart it again and again.
    await new Promise((r) => setTimeout(r, 2_000));
    const info = await engine.container.inspect((await containers()).get('identity-registry')!.id);
    expect(info.status).toBe('exited');
    expect(info.exitCode).toBe(45);
  }, 120_000);

  it('reports a crashing service with its exit code and last log lines, and the services it blocks', async () => {
    const crashing = testFleet((s) => {
      s['v-supercore']!.command = ['node', '-e', 'console.log("cannot open the constitution"); process.exit(3)'];
      s['v-supercore']!.restart = 'no';
      (s['identity-registry']!.labels as Record<string, string>)['n3xus.calls'] = 'v-supercore';
    });
    const { result } = await run(crashing);
    const failure = result.failures.find((f) => f.service === 'v-supercore')!;
    expect(failure).toMatchObject({ kind: 'exited', exitCode: 3 });
    expect(failure.logs).toContain('cannot open the constitution');
    expect(failure.blocks).toContain('identity-registry');
    // Without --keep-going, the later stage is not started.
    expect(result.services.find((s) => s.service === 'identity-registry')!.outcome).toBe('not-reached');
  }, 120_000);

  it('joins every network a service names: PostgreSQL and Redis on an internal network that only the services join, unreachable from the services\' network', async () => {
    const { result } = await run(testFleet(onDataNetwork));
    expect(result.failures).toEqual([]);
    const [net, data, admin] = [`${project}-net`, `${project}-net-data`, `${project}-net-admin`];
    const networks = new Map((await engine.network.list({ labels: { [STATE_LABELS.project]: project } })).map((n) => [n.name, n]));
    expect([net, data, admin].map((n) => networks.get(n)?.internal)).toEqual([false, true, false]);
    const byService = await containers();
    const joined = async (service: string) => (await engine.container.inspect(byService.get(service)!.id)).networks ?? {};
    const postgres = await joined('postgres');
    expect(Object.keys(postgres).sort()).toEqual([admin, data].sort());
    expect(Object.keys(await joined('redis')).sort()).toEqual([admin, data].sort());
    expect(Object.keys(await joined('v-supercore')).sort()).toEqual([data, net].sort());
    const supercore = (await joined('v-supercore'))[net]!;

    // A container on the services' network, such as anything an operator attaches there: PostgreSQL has no name
    // there, and its address on the data network is not reachable from it.
    expect(await connectFrom([net], 'postgres', 5432)).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(await connectFrom([net], postgres[data]!, 5432)).not.toBe('open');
    expect(await connectFrom([net], 'redis', 6379)).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    // On the data network, PostgreSQL answers (the probe can tell), and nothing beyond that network is routed.
    expect(await connectFrom([data], 'postgres', 5432)).toBe('open');
    expect(await connectFrom([data], supercore, 3001)).not.toBe('open');
    // The host reaches PostgreSQL on its loopback port, which the admin network carries.
    expect(await connectFrom(undefined, '127.0.0.1', ports.postgres!)).toBe('open');
  }, 120_000);

  it('finishes an interrupted launch on the next run, without duplicates', async () => {
    await down(driver, project, { timeoutS: 1 });
    const fleet = testFleet();
    // Ctrl-C once the infra stage is up: nothing new is scheduled after that.
    const controller = new AbortController();
    const first = await run(fleet, { signal: controller.signal, onEvent: (e) => e.type === 'stage-done' && controller.abort() });
    expect(first.result.interrupted).toBe(true);
    expect(first.result.services.filter((s) => s.outcome === 'healthy').map((s) => s.service)).toEqual(['postgres', 'redis']);
    // A launch killed (kill -9) between creating a container and starting it leaves it created, not started.
    const want = desiredInstances(fleet, project, fleet.services.filter((s) => s.name === 'v-supercore'), new Map([[fleet.services[2]!.image, (await engine.image.inspect(fleet.services[2]!.image)).id]]), new Map(), launchSecrets(fleet, driver).secretValues)[0]!;
    await driver.create(want);

    const second = await run(fleet);
    expect(second.result.services.map((s) => `${s.service}:${s.action}:${s.outcome}`)).toEqual([
      'postgres:keep:healthy',
      'redis:keep:healthy',
      'v-supercore:start:healthy',
      'identity-registry:create:healthy',
    ]);
    expect((await containers()).size).toBe(4);
    const status = await fleetStatus(fleet, project, driver);
    expect(status.healthy).toBe(4);
  }, 180_000);

  it('refuses to start anything when a host port is taken by another program', async () => {
    await down(driver, project, { timeoutS: 1 });
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports['identity-registry'], '127.0.0.1', resolve));
    try {
      await expect(run(testFleet())).rejects.toBeInstanceOf(PortBusyError);
      expect((await containers()).size).toBe(0);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  it('names a docker compose container that holds a port it needs, and says how to proceed', async () => {
    await down(driver, project, { timeoutS: 1 });
    // As docker-compose would label it, publishing identity-registry's port on 127.0.0.1.
    const squatter = await engine.container.create({
      name: `${project}-compose-squatter`,
      image: 'n3xus/identity-registry:3.0',
      entrypoint: ['node', '-e', 'setInterval(() => {}, 1000)'],
      labels: { ...TEST_LABELS, 'com.docker.compose.project': 'seedfleet', 'com.docker.compose.service': 'identity-registry' },
      publish: [{ containerPort: 3011, hostPort: ports['identity-registry']!, protocol: 'tcp' }],
    });
    try {
      await engine.container.start(squatter);
      const error = await run(testFleet()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PortBusyError);
      expect((error as PortBusyError).message).toBe(
        `Port 127.0.0.1:${ports['identity-registry']} (service "identity-registry", held by container ${project}-compose-squatter, service identity-registry of docker compose project "seedfleet") is in use. Nothing was created.`,
      );
      expect((error as PortBusyError).suggestions[0]).toContain('docker-compose -p seedfleet -f <its compose file> down');
      expect((await containers()).size).toBe(0);
    } finally {
      await engine.container.remove(squatter);
    }
  }, 60_000);

  it('down removes every container of the project, later stages first, and its network', async () => {
    await run(testFleet());
    const stages: string[] = [];
    const result = await down(driver, project, { volumes: true, timeoutS: 1, onStage: (stage) => stages.push(stage) });
    expect(stages).toEqual(['federation', 'core', 'infra']);
    expect(result.removed).toHaveLength(4);
    expect(result.networks).toEqual([`${project}-net`]);
    expect(result.volumes).toEqual([`${project}_pgdata`]);
    expect((await containers()).size).toBe(0);
  }, 120_000);
});
