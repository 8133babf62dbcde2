import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { runBootstrap, type BootstrapOptions, type BootstrapResult } from '../../src/bootstrap/bootstrap.ts';
import type { CheckId, CheckResult } from '../../src/bootstrap/checks.ts';
import { DockerApiError, DockerEngine } from '../../src/docker/engine.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { fixtureContext } from '../docker/fixtures.ts';
import { describeDocker, removeTestResources, SESSION_ID, SESSION_LABEL, TEST_LABELS } from '../support/docker.ts';
import { freePort, listenOnEphemeralPort, writeTestFleet, type TestService } from './fleet-files.ts';

const byId = (result: BootstrapResult, id: CheckId): CheckResult => result.checks.find((c) => c.id === id)!;

describeDocker('bootstrap against the real engine', () => {
  const engine = new DockerEngine();
  const suffix = SESSION_ID.slice(0, 8);
  const tag = `n3xus-test/bootstrap-tiny:${suffix}`;
  const project = `n3xus-test-bootstrap-${suffix}`;
  const dirs: string[] = [];
  let busy: Awaited<ReturnType<typeof listenOnEphemeralPort>> | undefined;
  /** A port published by a running container of `project`. */
  let containerPort = 0;

  /** Writes a one-network test fleet and runs the checklist on it, with the image built here as the only base. */
  async function bootstrap(network: string, services: Record<string, TestService>, options: BootstrapOptions = {}): Promise<BootstrapResult> {
    const file = await writeTestFleet({ name: project, network, services });
    dirs.push(path.dirname(file));
    return runBootstrap({
      file,
      engine,
      renderer: 'silent',
      requiredBaseImages: [tag],
      labels: TEST_LABELS,
      env: { PATH: process.env.PATH, N3XUS_HANDSHAKE: N3XUS_LAW },
      ...options,
    });
  }

  /** A network that already exists for this test, so the network check passes. */
  async function presentNetwork(name: string): Promise<string> {
    await engine.network.create({ name, labels: { ...TEST_LABELS } });
    return name;
  }

  beforeAll(async () => {
    const context = await fixtureContext('tiny');
    dirs.push(context);
    await engine.buildImage({ contextDir: context, files: ['busybox', 'hello.txt'], tag, labels: TEST_LABELS });
    busy = await listenOnEphemeralPort();
    containerPort = await freePort();
    const id = await engine.container.create({
      image: tag,
      cmd: ['/ctx/busybox', 'sleep', '600'],
      labels: { ...TEST_LABELS, [STATE_LABELS.project]: project },
      publish: [{ containerPort: 8080, hostPort: containerPort }],
    });
    await engine.container.start(id);
  });

  afterAll(async () => {
    await busy?.close();
    await removeTestResources(engine);
    await engine.image.remove(tag, { force: true });
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('reports the engine reachable, with its API version', async () => {
    const result = await bootstrap(await presentNetwork(`${project}-engine`), { web: { hostPort: await freePort(), image: tag } });
    expect(byId(result, 'engine')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^API 1\.\d+ \(Docker .+\) at /) as unknown });
  });

  it('passes every check on a ready fleet: port free, image present, network present, handshake set', async () => {
    const result = await bootstrap(await presentNetwork(`${project}-ready`), { web: { hostPort: await freePort(), image: tag } });
    expect(result.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(byId(result, 'base-images').status).toBe('ok');
    expect(byId(result, 'networks')).toMatchObject({ status: 'ok', detail: `${project}-ready present` });
  });

  it('fails for a port this process holds, naming the port, the service and the process', async () => {
    const result = await bootstrap(await presentNetwork(`${project}-busy`), { web: { hostPort: busy!.port, image: tag } });
    const command = readFileSync('/proc/self/comm', 'utf8').trim();
    expect(result.ok).toBe(false);
    expect(byId(result, 'ports').detail).toContain(`port ${busy!.port}/tcp (service web): held by process ${command} (pid ${process.pid})`);
  });

  it("passes for a port held by this project's own container: the fleet is already running", async () => {
    const result = await bootstrap(await presentNetwork(`${project}-ours`), { web: { hostPort: containerPort, image: tag } });
    expect(byId(result, 'ports')).toMatchObject({ status: 'ok', detail: `0 ports free, 1 port in use by our own fleet (project "${project}")` });
  });

  it("fails for that container's port seen from another project, naming the container, its project and the fix", async () => {
    const result = await bootstrap(await presentNetwork(`${project}-other`), { web: { hostPort: containerPort, image: tag } }, { project: `${project}-other` });
    const ports = byId(result, 'ports');
    expect(ports.status).toBe('fail');
    expect(ports.detail).toMatch(new RegExp(`port ${containerPort}/tcp \\(service web\\): held by container \\S+ of n3xus project "${project}"`));
    expect(ports.fix).toContain(`n3xus down --project ${project}`);
  });

  it('fails for an image that is missing and not ours, without offering to build it', async () => {
    const result = await bootstrap(await presentNetwork(`${project}-image`), { web: { hostPort: await freePort(), image: `n3xus-test/never-built:${suffix}` } }, { fix: true });
    const images = byId(result, 'base-images');
    expect(images.status).toBe('fail');
    expect(images.detail).toContain(`missing: n3xus-test/never-built:${suffix} (web)`);
    expect(images.fix).toContain('cannot be built here without a registry');
  });

  it('fails for a missing network; --fix creates it with the project label, and the re-check says fixed', async () => {
    const network = `${project}-fix`;
    const services = { web: { hostPort: await freePort(), image: tag } };
    const before = await bootstrap(network, services);
    expect(byId(before, 'networks')).toMatchObject({ status: 'fail', detail: `${network} missing` });
    expect(before.ok).toBe(false);

    const fixed = await bootstrap(network, services, { fix: true });
    expect(byId(fixed, 'networks')).toMatchObject({ status: 'fixed', detail: `created ${network}; ${network} present` });
    expect(fixed.ok).toBe(true);
    const created = (await engine.network.list({ labels: { [SESSION_LABEL]: SESSION_ID } })).find((n) => n.name === network);
    expect(created?.labels).toMatchObject({ [STATE_LABELS.project]: project, ...TEST_LABELS });

    const after = await bootstrap(network, services, { fix: true });
    expect(byId(after, 'networks').status).toBe('ok');
  });

  it('fails, saying why, when --fix cannot create the network', async () => {
    // Docker 20.10 accepts almost any network name, so the engine's refusal is simulated; every other call is real.
    const refusing = new DockerEngine();
    const network = refusing.network;
    Object.defineProperty(refusing, 'network', {
      value: { ...network, list: network.list.bind(network), create: () => Promise.reject(new DockerApiError('create network x', 'permission denied', 403)) },
    });
    const result = await bootstrap(`${project}-refused`, { web: { hostPort: await freePort(), image: tag } }, { fix: true, engine: refusing });
    expect(byId(result, 'networks')).toMatchObject({ status: 'fail', detail: `${project}-refused missing\n--fix failed: Docker create network x failed: permission denied` });
    expect(result.ok).toBe(false);
  });
});
