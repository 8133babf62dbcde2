/**
 * The `container` check against a real Docker engine: containers started here from the tiny fixture image, in a
 * project of their own, read back with one list call (and an inspect for those in trouble) and judged.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { autoDockerVeto, observeContainers } from '../../src/verify/containers.ts';
import { VerifyUnavailableError } from '../../src/verify/errors.ts';
import { judgeContainer } from '../../src/verify/judge.ts';
import { fixtureContext } from '../docker/fixtures.ts';
import { describeDocker, eventually, removeTestResources, SESSION_ID, TEST_LABELS } from '../support/docker.ts';

describe('container state without an engine', () => {
  const saved = process.env.DOCKER_HOST;
  beforeAll(() => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('auto: container checks are off, and the report says why', async () => {
    const state = await observeContainers('auto', 'n3xus', 2_000);
    expect(state.docker).toMatchObject({ used: false, project: 'n3xus', reason: expect.stringContaining('Docker engine not reachable') });
  });

  it('--docker: could not verify, one message saying what to do', async () => {
    const error = await observeContainers('on', 'n3xus', 2_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerifyUnavailableError);
    expect((error as VerifyUnavailableError).message).toMatch(/^Container checks were asked for \(--docker\) but the Docker engine did not answer: /);
  });

  it('auto: a fleet on another host is not judged by this machine\'s containers', async () => {
    expect(autoDockerVeto('127.0.0.1', {})).toBeUndefined();
    expect(autoDockerVeto('localhost', {})).toBeUndefined();
    expect(autoDockerVeto('staging.example.com', { DOCKER_HOST: 'tcp://staging.example.com:2376' })).toBeUndefined();
    expect(autoDockerVeto('staging.example.com', {})).toBe('staging.example.com is not this machine and DOCKER_HOST is not set (use --docker with DOCKER_HOST pointing at its engine)');
  });

  it('--no-docker: the engine is not asked', async () => {
    expect((await observeContainers('off', 'n3xus', 2_000)).docker).toEqual({ used: false, reason: 'container checks turned off (--no-docker)', project: 'n3xus' });
  });
});

describeDocker('container state from a real engine', () => {
  const engine = new DockerEngine();
  const tag = `n3xus-test/tiny:${SESSION_ID.slice(0, 8)}-verify`;
  const project = `verify-test-${SESSION_ID.slice(0, 8)}`;
  const busybox = '/ctx/busybox';
  let contextDir = '';

  const run = async (service: string, cmd: string[], extra: Partial<Parameters<DockerEngine['container']['create']>[0]> = {}) => {
    const id = await engine.container.create({ image: tag, cmd, labels: { ...TEST_LABELS, 'n3xus.project': project, 'n3xus.service': service }, ...extra });
    await engine.container.start(id);
    return id;
  };

  beforeAll(async () => {
    contextDir = await fixtureContext('tiny');
    await engine.buildImage({ contextDir, files: ['busybox', 'hello.txt'], tag, labels: TEST_LABELS });
    await run('steady', [busybox, 'sleep', '300']);
    await run('crashing', [busybox, 'sh', '-c', 'exit 3'], { restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } });
    await run('sick', [busybox, 'sleep', '300'], { healthcheck: { test: ['CMD', busybox, 'sh', '-c', 'echo database unreachable; exit 1'], intervalMs: 200, retries: 1, startIntervalMs: 200 } });
    // Wait for the engine to give up on the crashing one and to call the sick one unhealthy.
    await eventually(async () => {
      const containers = await engine.container.list({ labels: { 'n3xus.project': project } });
      const byService = new Map(containers.map((c) => [c.labels['n3xus.service'], c]));
      if (byService.get('crashing')?.status !== 'exited' || byService.get('sick')?.health !== 'unhealthy') throw new Error('not settled yet');
      if ((await engine.container.inspect(byService.get('crashing')!.id)).restartCount !== 2) throw new Error('still restarting');
    }, 30_000);
  });

  afterAll(async () => {
    await removeTestResources(engine);
    await engine.image.remove(tag, { force: true });
    await rm(contextDir, { recursive: true, force: true });
  });

  it("lists the project's containers by label in one call", async () => {
    const state = await observeContainers('auto', project, 5_000);
    expect(state.docker).toEqual({ used: true, project, containers: 3 });
    expect([...state.byService.keys()].sort()).toEqual(['crashing', 'sick', 'steady']);
  });

  it('passes a running container without a healthcheck', async () => {
    const { byService } = await observeContainers('on', project, 5_000);
    expect(judgeContainer(byService.get('steady'), 'steady', project)).toMatchObject({ status: 'pass', message: 'running, no Docker healthcheck' });
  });

  it('fails a container that exited, with its exit code and how often the engine restarted it', async () => {
    const { byService } = await observeContainers('on', project, 5_000);
    const check = judgeContainer(byService.get('crashing'), 'crashing', project);
    expect(check).toMatchObject({ status: 'fail', code: 'container-not-running', details: { restartCount: 2 } });
    expect(check.message).toMatch(/^container \S+ is exited with exit code 3, restarted 2 times$/);
  });

  it('fails an unhealthy container with the output of its last health check', async () => {
    const { byService } = await observeContainers('on', project, 5_000);
    expect(judgeContainer(byService.get('sick'), 'sick', project)).toMatchObject({ status: 'fail', code: 'container-unhealthy', message: expect.stringContaining('database unreachable') });
  });

  it('fails a service whose container is not there', async () => {
    const { byService } = await observeContainers('on', project, 5_000);
    expect(judgeContainer(byService.get('never-launched'), 'never-launched', project).code).toBe('container-missing');
  });

  it('auto mode turns container checks off for a project with no container', async () => {
    const state = await observeContainers('auto', `${project}-empty`, 5_000);
    expect(state.docker).toEqual({ used: false, reason: `no container labelled n3xus.project=${project}-empty or com.docker.compose.project=${project}-empty`, project: `${project}-empty`, containers: 0 });
  });
});
