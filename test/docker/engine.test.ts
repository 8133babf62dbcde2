import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerApiError, DockerEngine, EngineUnreachableError, ImageBuildError } from '../../src/docker/engine.ts';
import { describeDocker, removeTestResources, runToCompletion, SESSION_ID, SESSION_LABEL, TEST_LABELS } from '../support/docker.ts';
import { fixtureContext } from './fixtures.ts';

describe('DockerEngine without an engine', () => {
  it('ping rejects with EngineUnreachableError naming the socket and what to do', async () => {
    const engine = new DockerEngine({ socketPath: '/nonexistent/docker.sock' });
    const error = await engine.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as EngineUnreachableError).endpoint).toBe('/nonexistent/docker.sock');
    expect((error as Error).message).toMatch(/^Docker engine not reachable at \/nonexistent\/docker.sock: .*ENOENT.*Start it \(dockerd\) or set DOCKER_HOST$/);
  });
});

describeDocker('DockerEngine against a real engine', () => {
  const engine = new DockerEngine();
  const tag = `n3xus-test/tiny:${SESSION_ID.slice(0, 8)}`;
  const contexts: string[] = [];
  let imageId = '';

  beforeAll(async () => {
    const contextDir = await fixtureContext('tiny');
    contexts.push(contextDir);
    const result = await engine.buildImage({ contextDir, files: ['busybox', 'hello.txt'], tag, labels: TEST_LABELS });
    imageId = result.imageId;
  });

  afterAll(async () => {
    await removeTestResources(engine);
    await engine.image.remove(tag, { force: true });
    await Promise.all(contexts.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('ping reports the engine API version', async () => {
    const info = await engine.ping();
    expect(info.apiVersion).toMatch(/^1\.\d+$/);
    expect(info.version).not.toBe('');
  });

  it('builds an image from only the listed files and labels it', async () => {
    // The fixture's RUN step fails if secret.txt, present in the directory but not listed, reached the engine.
    const info = await engine.imageInspect(tag);
    expect(info.id).toBe(imageId);
    expect(info.labels).toMatchObject(TEST_LABELS);
    expect(info.sizeBytes).toBeGreaterThan(1_000_000);
  });

  it('imageExists is true for a built tag and false for an unknown one', async () => {
    expect(await engine.imageExists(tag)).toBe(true);
    expect(await engine.imageExists('n3xus-test/never-built:0')).toBe(false);
  });

  it('imageInspect of an unknown image rejects with a 404 DockerApiError', async () => {
    const error = await engine.imageInspect('n3xus-test/never-built:0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerApiError);
    expect((error as DockerApiError).statusCode).toBe(404);
  });

  it('a failing RUN step rejects with ImageBuildError carrying the tag, the reason and the output tail', async () => {
    const contextDir = await fixtureContext('failing');
    contexts.push(contextDir);
    const failingTag = `n3xus-test/failing:${SESSION_ID.slice(0, 8)}`;
    const lines: string[] = [];
    const error = await engine
      .buildImage({ contextDir, files: ['busybox'], tag: failingTag, onOutput: (line) => lines.push(line) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    const buildError = error as ImageBuildError;
    expect(buildError.tag).toBe(failingTag);
    expect(buildError.detail).toMatch(/returned a non-zero code: 3/);
    expect(buildError.outputTail).toContain('n3xus-fixture-marker');
    expect(buildError.outputTail.length).toBeLessThanOrEqual(20);
    expect(buildError.message).toContain('n3xus-fixture-marker');
    expect(lines).toContain('n3xus-fixture-marker');
    expect(await engine.imageExists(failingTag)).toBe(false);
    // The layers of the steps that succeeded stay in the engine's cache; remove the ones this build made.
    for (const match of buildError.outputTail.join('\n').matchAll(/ ---> ([0-9a-f]{12})$/gm)) {
      await engine.image.remove(match[1] ?? '').catch(() => undefined);
    }
  });

  it('a build whose Dockerfile is missing rejects with ImageBuildError before any step', async () => {
    const contextDir = contexts[0] ?? '';
    const error = await engine
      .buildImage({ contextDir, files: ['hello.txt'], dockerfile: 'hello.txt', tag: 'n3xus-test/bad:0' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
  });

  it('rejects context paths outside the context directory before calling the engine', async () => {
    await expect(engine.buildImage({ contextDir: contexts[0] ?? '', files: ['../etc'], tag: 'n3xus-test/bad:0' })).rejects.toThrow(
      /relative to contextDir and inside it/,
    );
  });

  it('runs a container to its exit code with stdout and stderr apart', async () => {
    const result = await runToCompletion(engine, {
      image: tag,
      cmd: ['/ctx/busybox', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 7'],
    });
    expect(result).toEqual({ exitCode: 7, stdout: 'to-stdout\n', stderr: 'to-stderr\n' });
  });

  it('finds its containers by label, and a removed container is gone from the engine', async () => {
    const id = await engine.container.create({ image: tag, cmd: ['/ctx/busybox', 'sleep', '30'], labels: TEST_LABELS });
    await engine.container.start(id);
    const listed = await engine.container.list({ labels: { [SESSION_LABEL]: SESSION_ID } });
    expect(listed.map((c) => c.id)).toContain(id);
    expect((await engine.container.inspect(id)).running).toBe(true);

    await engine.container.remove(id);
    const error = await engine.container.inspect(id).catch((e: unknown) => e);
    expect((error as DockerApiError).statusCode).toBe(404);
    await expect(engine.container.remove(id)).resolves.toBeUndefined();
  });

  it('creates a container with the log driver and options it is given', async () => {
    const id = await engine.container.create({
      image: tag,
      cmd: ['/ctx/busybox', 'sleep', '30'],
      labels: TEST_LABELS,
      logConfig: { type: 'json-file', config: { 'max-size': '1m', 'max-file': '2' } },
    });
    try {
      expect((await engine.container.inspect(id)).logConfig).toEqual({ type: 'json-file', config: { 'max-size': '1m', 'max-file': '2' } });
    } finally {
      await engine.container.remove(id);
    }
  });

  it('publishes a container port and reports its host port in inspect and list', async () => {
    const id = await engine.container.create({
      image: tag,
      cmd: ['/ctx/busybox', 'sleep', '30'],
      labels: TEST_LABELS,
      publish: [{ containerPort: 8080 }],
    });
    try {
      await engine.container.start(id);
      const info = await engine.container.inspect(id);
      expect(info.ports['8080/tcp']).toBeGreaterThan(0);
      const [listed] = await engine.container.list({ labels: { [SESSION_LABEL]: SESSION_ID } });
      expect(listed?.ports['8080/tcp']).toBe(info.ports['8080/tcp']);
    } finally {
      await engine.container.remove(id);
    }
  });
});
