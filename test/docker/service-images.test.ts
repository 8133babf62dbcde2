import { afterAll, beforeAll, expect, it } from 'vitest';
import { LAW_EXIT_CODE, N3XUS_LAW } from '@n3xus/kit';
import { DockerEngine } from '../../src/docker/engine.ts';
import { ImageBuildError } from '../../src/docker/errors.ts';
import { FLEET_DIST } from '../../src/fleet/build-fleet.ts';
import { loadCatalog } from '../../src/fleet/catalog.ts';
import { imageTag } from '../../src/fleet/service-files.ts';
import { BASE_IMAGE_TAGS } from '../../src/images/bases.ts';
import { serviceImagesBuilder } from '../../src/images/service-images.ts';
import { SESSION_ID, TEST_LABELS, describeWithImage, eventually, removeTestResources, runToCompletion } from '../support/docker.ts';

const engine = new DockerEngine();
const catalog = loadCatalog();
const SERVICES = ['v-supercore', 'feature-flags'];
const network = `n3xus-test-svc-${SESSION_ID.slice(0, 8)}`;
const hostPorts = new Map<string, number>();

afterAll(async () => {
  await removeTestResources(engine);
});

await describeWithImage(BASE_IMAGE_TAGS.postgres, 'service images on a real engine', () => {
  beforeAll(async () => {
    // Builds what is missing or stale (in CI the whole fleet is already built, so this only checks).
    await serviceImagesBuilder({ only: SERVICES })({ engine, force: false, onLine: () => undefined });
    await engine.network.create({ name: network, labels: TEST_LABELS });
    const pg = await engine.container.create({
      image: BASE_IMAGE_TAGS.postgres,
      env: { POSTGRES_USER: 'n3xus', POSTGRES_PASSWORD: 'n3xus', POSTGRES_DB: 'n3xus' },
      labels: TEST_LABELS,
      network,
      networkAliases: ['postgres'],
    });
    const redis = await engine.container.create({ image: BASE_IMAGE_TAGS.redis, labels: TEST_LABELS, network, networkAliases: ['redis'] });
    await Promise.all([engine.container.start(pg), engine.container.start(redis)]);
    for (const name of SERVICES) {
      const entry = catalog.services.find((s) => s.name === name)!;
      const id = await engine.container.create({
        image: imageTag(catalog, name),
        env: {
          N3XUS_HANDSHAKE: N3XUS_LAW,
          DATABASE_URL: 'postgres://n3xus:n3xus@postgres:5432/n3xus',
          REDIS_URL: 'redis://redis:6379',
        },
        labels: TEST_LABELS,
        network,
        publish: [{ containerPort: entry.port }],
        // The image's own probe, every second, so that the test sees Docker's verdict quickly.
        healthcheck: { test: ['CMD', '/bin/sh', '/opt/n3xus/bin/health.sh'], intervalMs: 1000, timeoutMs: 3000, retries: 3 },
      });
      await engine.container.start(id);
      const info = await engine.container.inspect(id);
      hostPorts.set(name, info.ports[`${entry.port}/tcp`]!);
    }
  }, 240_000);

  it('starts each service from its image: healthy to Docker, answering on its 127.0.0.1 port, ready with PostgreSQL and Redis', async () => {
    for (const name of SERVICES) {
      const base = `http://127.0.0.1:${hostPorts.get(name)}`;
      await eventually(async () => {
        const res = await fetch(`${base}/ready`);
        if (res.status !== 200) throw new Error(`${name} not ready: ${res.status} ${await res.text()}`);
      }, 60_000);
      expect((await fetch(`${base}/v1/anything`)).status).toBe(451);
      const [container] = (await engine.container.list({ labels: TEST_LABELS })).filter((c) => c.image === imageTag(catalog, name));
      await eventually(async () => {
        const info = await engine.container.inspect(container!.id);
        if (info.health !== 'healthy') throw new Error(`${name}: Docker health ${info.health}`);
      }, 30_000);
    }
  });

  it('serves its API from its own schema (feature-flags: create and read a flag)', async () => {
    const base = `http://127.0.0.1:${hostPorts.get('feature-flags')}`;
    const headers = { 'x-n3xus-handshake': N3XUS_LAW, 'content-type': 'application/json' };
    const created = await fetch(`${base}/v1/flags`, { method: 'POST', headers, body: JSON.stringify({ key: 'new-ui', enabled: true, rolloutPercent: 10 }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(await (await fetch(`${base}/v1/flags/${id}`, { headers })).json()).toMatchObject({ key: 'new-ui', rolloutPercent: 10 });
  });

  it('runs as the unprivileged user 1000', async () => {
    const out = await runToCompletion(engine, { image: imageTag(catalog, 'feature-flags'), entrypoint: ['/bin/sh', '-c'], cmd: ['id -u; id -g'] });
    expect(out.stdout.trim().split('\n')).toEqual(['1000', '1000']);
  });

  it('refuses to start with a wrong runtime handshake: exit code 45 and one law-violation line', async () => {
    const out = await runToCompletion(engine, { image: imageTag(catalog, 'feature-flags'), env: { N3XUS_HANDSHAKE: '55-45-18' } });
    expect(out.exitCode).toBe(LAW_EXIT_CODE);
    expect(out.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ event: 'n3xus_law_violation', reason: 'wrong', exitCode: 45 });
  });

  it('starts without compiling the kit bundle: the compile cache filled at build time is accepted, on a read-only root as launched', async () => {
    const kit = String.raw`V8 code cache for ESM file:///opt/n3xus/node_modules/@n3xus/kit/index.mjs`;
    const run = (env: Record<string, string>) =>
      runToCompletion(engine, {
        image: imageTag(catalog, 'feature-flags'),
        // A wrong handshake: the kit is imported (and compiled, or not), then its runtime law check ends the process.
        env: { N3XUS_HANDSHAKE: '55-45-18', NODE_DEBUG_NATIVE: 'COMPILE_CACHE', ...env },
        readOnlyRootfs: true,
        tmpfs: { '/tmp': '' },
      });
    const cached = await run({});
    expect(cached.exitCode).toBe(LAW_EXIT_CODE);
    expect(cached.stderr).toContain(`${kit} was accepted`);
    // The control: with the cache turned off, Node says nothing of the kit's cache, so the line above is the cache's doing.
    const uncached = await run({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(uncached.exitCode).toBe(LAW_EXIT_CODE);
    expect(uncached.stderr).not.toContain(kit);
  });

  it.each([
    ['wrong', { N3XUS_HANDSHAKE: '55-45-18' }, /N3XUS_HANDSHAKE is wrong/],
    ['missing', {}, /N3XUS_HANDSHAKE is missing/],
  ])('fails the build when the handshake build argument is %s, saying so', async (_label, args, message) => {
    const build = engine.buildImage({
      contextDir: FLEET_DIST,
      files: ['runtime', 'services/feature-flags'],
      dockerfile: 'services/feature-flags/Dockerfile',
      tag: `n3xus-test/law-${SESSION_ID.slice(0, 8)}:bad`,
      buildArgs: { BASE_IMAGE: BASE_IMAGE_TAGS.node, ...args },
      labels: TEST_LABELS,
    });
    const error = await build.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).outputTail.join('\n')).toMatch(message);
    expect(await engine.imageExists(`n3xus-test/law-${SESSION_ID.slice(0, 8)}:bad`)).toBe(false);
  });
});
