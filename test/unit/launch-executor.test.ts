/**
 * The executor's decisions (who is blocked, who is not reached, --keep-going, --phase prerequisites) against an
 * in-memory driver whose "containers" are real HTTP servers on 127.0.0.1: the orchestration logic without Docker.
 * The Docker driver itself is tested on the engine (test/docker/launch.test.ts).
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ContainerInfo } from '../../src/docker/inspect.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import type { DesiredInstance } from '../../src/launch/desired.ts';
import type { FleetDriver, Instance, InstanceEvent } from '../../src/drivers/driver.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { checkPrerequisites, launch, PrerequisiteError } from '../../src/launch/launch.ts';
import { parsePhase, planLaunch } from '../../src/plan/plan.ts';
import { freePort } from '../support/local-servers.ts';

/** Instances that are HTTP servers answering /ready; a service named in `crash` exits 1 instead of listening. */
class ServerDriver implements FleetDriver {
  readonly kind = 'process' as const;
  readonly logTimestamps = false;
  readonly instances = new Map<string, Instance>();
  readonly servers = new Map<string, Server>();
  readonly started: string[] = [];
  /** A list is taken when asked for and handed over this much later, as an engine under load does. */
  observeDelayMs = 0;
  /** How long starting a service takes, by service. */
  readonly startDelayMs = new Map<string, number>();
  constructor(private readonly crash: ReadonlySet<string> = new Set()) {}

  async observe(): Promise<Instance[]> {
    const list = [...this.instances.values()].map((i) => ({ ...i }));
    if (this.observeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.observeDelayMs));
    return list;
  }
  async resolveImages(images: readonly string[]): Promise<Map<string, string | undefined>> {
    return new Map(images.map((i) => [i, `sha256:${i}`]));
  }
  async prepare(): Promise<void> {}
  async create(want: DesiredInstance): Promise<string> {
    const id = `id-${want.service.name}`;
    const info: ContainerInfo = { id, name: want.name, image: want.service.image, imageId: want.imageId, labels: { ...want.labels }, status: 'created', running: false, exitCode: 0, health: undefined, lastHealthOutput: undefined, ports: {} };
    this.instances.set(id, info);
    return id;
  }
  async start(id: string): Promise<void> {
    const info = this.instances.get(id)!;
    const service = info.labels[STATE_LABELS.service]!;
    const delay = this.startDelayMs.get(service);
    if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
    this.started.push(service);
    if (this.crash.has(service)) {
      Object.assign(info, { status: 'exited', running: false, exitCode: 1 });
      return;
    }
    const port = Number(info.labels['test.host-port']);
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.servers.set(id, server);
    Object.assign(info, { status: 'running', running: true });
  }
  async stop(id: string): Promise<void> {
    const server = this.servers.get(id);
    if (server) await new Promise((resolve) => server.close(resolve));
    this.servers.delete(id);
    const info = this.instances.get(id);
    if (info) Object.assign(info, { status: 'exited', running: false });
  }
  async remove(id: string): Promise<void> {
    await this.stop(id);
    this.instances.delete(id);
  }
  async inspect(id: string): Promise<Instance> {
    return { ...this.instances.get(id)! };
  }
  async logs(id: string): Promise<string[]> {
    return [`${id} says goodbye`];
  }
  async streamLogs(): Promise<{ interrupted: boolean }> {
    return { interrupted: false };
  }
  async removeResources(): Promise<{ networks: string[]; volumes: string[] }> {
    return { networks: [], volumes: [] };
  }
  async close(): Promise<void> {
    for (const id of [...this.servers.keys()]) await this.stop(id);
  }
}

/**
 * A {@link ServerDriver} that reports starts and exits as the Docker driver's event stream does, and whose engine can
 * restart an instance behind launch's back ({@link crashAndRestart}).
 */
class WatchedDriver extends ServerDriver {
  #onEvent: ((event: InstanceEvent) => void) | undefined;
  /** Whether the watch was on at each start. */
  readonly watchedStarts: boolean[] = [];
  /** Called as launch creates an instance of `service`. */
  onCreate: (service: string) => void = () => undefined;

  get watching(): boolean {
    return this.#onEvent !== undefined;
  }
  async watchInstances(_project: string, options: { onEvent: (event: InstanceEvent) => void; signal: AbortSignal }): Promise<void> {
    this.#onEvent = options.onEvent;
    options.signal.addEventListener('abort', () => (this.#onEvent = undefined), { once: true });
  }
  override async create(want: DesiredInstance): Promise<string> {
    this.onCreate(want.service.name);
    return super.create(want);
  }
  override async start(id: string): Promise<void> {
    this.watchedStarts.push(this.watching);
    await super.start(id);
    this.#onEvent?.({ kind: 'start', id, service: this.#service(id) });
  }
  override async stop(id: string): Promise<void> {
    const running = this.instances.get(id)?.running === true;
    await super.stop(id);
    if (running) this.#onEvent?.({ kind: 'exit', id, service: this.#service(id), exitCode: 143 });
  }
  /** The engine's restart policy at work: `service` exits with `exitCode` and is started again. */
  crashAndRestart(service: string, exitCode: number): void {
    this.#onEvent?.({ kind: 'exit', id: `id-${service}`, service, exitCode });
    this.#onEvent?.({ kind: 'start', id: `id-${service}`, service });
  }
  #service(id: string): string {
    return this.instances.get(id)?.labels[STATE_LABELS.service] ?? '';
  }
}

/** core: a; federation: b (calls a), c (independent); domain: d (depends on b). */
async function fleet(): Promise<Fleet> {
  const service = async (stage: string, extra: Record<string, unknown> = {}, calls = '') => {
    const port = await freePort();
    return { image: 'img', ports: [`127.0.0.1:${port}:${port}`], labels: { 'n3xus.stage': stage, 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port), 'n3xus.calls': calls, 'test.host-port': String(port) }, ...extra };
  };
  const services = { a: await service('core'), b: await service('federation', {}, 'a'), c: await service('federation'), d: await service('domain', { depends_on: ['b'] }) };
  return parseFleet(stringify({ services }), 'exec.yml', { env: {} });
}

const drivers: ServerDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

describe('the launch executor', () => {
  it('stops after the failing stage without --keep-going: later stages are not reached', async () => {
    const f = await fleet();
    const driver = new ServerDriver(new Set(['b']));
    drivers.push(driver);
    const result = await launch({ fleet: f, plan: planLaunch(f), driver, project: 'p', probeIntervalMs: 20 });
    expect(result.failures.map((x) => [x.service, x.kind, x.exitCode, x.logs])).toEqual([['b', 'exited', 1, ['id-b says goodbye']]]);
    expect(result.failures[0]!.blocks.sort()).toEqual(['d']);
    expect(Object.fromEntries(result.services.map((s) => [s.service, s.outcome]))).toEqual({ a: 'healthy', b: 'failed', c: 'healthy', d: 'not-reached' });
    expect(driver.started).not.toContain('d');
  });

  it('with --keep-going starts what does not depend on the failure, and marks the dependents blocked', async () => {
    const base = await fleet();
    // e is in d's stage but depends on nothing that fails.
    const port = await freePort();
    const withE = parseFleet(
      stringify({
        services: {
          ...Object.fromEntries(base.services.map((s) => [s.name, { image: 'img', ports: [`127.0.0.1:${s.hostPort}:${s.port}`], labels: s.labels, ...(s.name === 'd' ? { depends_on: ['b'] } : {}) }])),
          e: { image: 'img', ports: [`127.0.0.1:${port}:${port}`], labels: { 'n3xus.stage': 'domain', 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port), 'test.host-port': String(port) } },
        },
      }),
      'exec.yml',
      { env: {} },
    );
    const driver = new ServerDriver(new Set(['b']));
    drivers.push(driver);
    const result = await launch({ fleet: withE, plan: planLaunch(withE), driver, project: 'p', keepGoing: true, probeIntervalMs: 20 });
    expect(Object.fromEntries(result.services.map((s) => [s.service, s.outcome]))).toEqual({ a: 'healthy', b: 'failed', c: 'healthy', d: 'blocked', e: 'healthy' });
    expect(driver.started).toContain('e');
    expect(driver.started).not.toContain('d');
  });

  it('--phase without --with-deps names the earlier services that are not healthy', async () => {
    const f = await fleet();
    const driver = new ServerDriver();
    drivers.push(driver);
    const earlier = f.services.filter((s) => s.stage === 'core' || s.stage === 'federation');
    const domain = parsePhase('domain');
    await expect(checkPrerequisites(f, domain, driver, 'p', earlier)).rejects.toThrow(PrerequisiteError);
    await expect(checkPrerequisites(f, domain, driver, 'p', earlier)).rejects.toThrow(/^Stage domain relies on what starts before it, and 3 of those services are not healthy: a \(core: not launched\)/);
    await expect(checkPrerequisites(f, parsePhase('7-8'), driver, 'p', earlier)).rejects.toMatchObject({ message: expect.stringMatching(/^Phases 7-8 rely on what starts before them, and 3 of those services are not healthy/), suggestions: [expect.stringContaining('n3xus launch --phase 7-8 --with-deps')] });
    await launch({ fleet: f, plan: planLaunch(f, { only: parsePhase('federation'), withDeps: true }), driver, project: 'p', probeIntervalMs: 20 });
    await expect(checkPrerequisites(f, domain, driver, 'p', earlier)).resolves.toBeUndefined();
  });

  it('judges a service it has just started by a list taken after the start, not by one already in flight', async () => {
    // The CI failure of stop 7: two stopped services of one batch were started; the first one's list was still in
    // flight when the second's start returned, and it showed the second exited from before.
    const f = await fleet();
    const driver = new ServerDriver();
    drivers.push(driver);
    const first = await launch({ fleet: f, plan: planLaunch(f), driver, project: 'p', probeIntervalMs: 20 });
    expect(first.failures).toEqual([]);
    for (const service of ['b', 'c']) await driver.stop(`id-${service}`);
    driver.observeDelayMs = 150;
    driver.startDelayMs.set('c', 50);
    const again = await launch({ fleet: f, plan: planLaunch(f), driver, project: 'p', probeIntervalMs: 20 });
    expect(again.failures.map((x) => `${x.service}: ${x.message}`)).toEqual([]);
    expect(Object.fromEntries(again.services.map((s) => [s.service, `${s.action} ${s.outcome}`]))).toEqual({ a: 'keep healthy', b: 'start healthy', c: 'start healthy', d: 'keep healthy' });
  });

  it('reports a service the engine restarted while it ran, and not the instance it replaced itself', async () => {
    const f = await fleet();
    const driver = new WatchedDriver();
    drivers.push(driver);
    expect((await launch({ fleet: f, plan: planLaunch(f), driver, project: 'p', probeIntervalMs: 20 })).restarts).toEqual([]);
    // c's configuration changes: launch removes its instance (an exit, 143) and creates another; meanwhile a, kept,
    // crashes with exit 3 and its restart policy starts it again.
    const changed = parseFleet(
      stringify({ services: Object.fromEntries(f.services.map((s) => [s.name, { image: 'img', ports: [`127.0.0.1:${s.hostPort}:${s.port}`], labels: s.labels, ...(s.name === 'c' ? { environment: { CHANGED: '1' } } : {}), ...(s.name === 'd' ? { depends_on: ['b'] } : {}) }])) }),
      'exec.yml',
      { env: {} },
    );
    driver.onCreate = (service) => service === 'c' && driver.crashAndRestart('a', 3);
    const result = await launch({ fleet: changed, plan: planLaunch(changed), driver, project: 'p', probeIntervalMs: 20 });
    expect(Object.fromEntries(result.services.map((s) => [s.service, `${s.action} ${s.outcome}`]))).toEqual({ a: 'keep healthy', b: 'keep healthy', c: 'recreate healthy', d: 'keep healthy' });
    expect(result.restarts).toEqual([{ service: 'a', count: 1, exitCodes: [3] }]);
  });

  it('fails a service that was healthy, then stopped before the launch ended, with its exit code', async () => {
    const f = await fleet();
    const driver = new ServerDriver();
    drivers.push(driver);
    // a (core) is killed once d (domain, the last stage) starts: healthy at its turn, gone at the end.
    const result = await launch({
      fleet: f,
      plan: planLaunch(f),
      driver,
      project: 'p',
      probeIntervalMs: 20,
      onEvent: (event) => {
        if (event.type === 'stage-start' && event.stage === 'domain') Object.assign(driver.instances.get('id-a')!, { status: 'exited', running: false, exitCode: 137 });
      },
    });
    expect(result.failures.map((x) => [x.service, x.kind, x.exitCode, x.message])).toEqual([['a', 'exited', 137, 'it was healthy, then stopped before the launch ended (exit 137): now exited']]);
    expect(Object.fromEntries(result.services.map((s) => [s.service, s.outcome]))).toEqual({ a: 'failed', b: 'healthy', c: 'healthy', d: 'healthy' });
  });

  it('watches from before its first start to its end', async () => {
    const f = await fleet();
    const driver = new WatchedDriver();
    drivers.push(driver);
    await launch({ fleet: f, plan: planLaunch(f), driver, project: 'p', probeIntervalMs: 20 });
    expect(driver.watchedStarts).toEqual([true, true, true, true]);
    expect(driver.watching).toBe(false);
  });
});
