import net from 'node:net';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { BASE_IMAGE_TAGS, buildBaseImages } from '../../src/images/bases.ts';
import { describeWithImage, eventually, removeTestResources, runToCompletion, SESSION_ID, TEST_LABELS } from '../support/docker.ts';

const engine = new DockerEngine();

afterAll(async () => {
  await removeTestResources(engine);
});

await describeWithImage(BASE_IMAGE_TAGS.node, 'n3xus/node:24', () => {
  it('runs node -e', async () => {
    const result = await runToCompletion(engine, { image: BASE_IMAGE_TAGS.node, cmd: ['node', '-e', 'console.log(1+1)'] });
    expect(result).toEqual({ exitCode: 0, stdout: '2\n', stderr: '' });
  });

  it('runs /bin/sh -c', async () => {
    const result = await runToCompletion(engine, { image: BASE_IMAGE_TAGS.node, cmd: ['/bin/sh', '-c', 'echo ok'] });
    expect(result).toEqual({ exitCode: 0, stdout: 'ok\n', stderr: '' });
  });

  it('is Node 24 with a node user (1000:1000) and a world-writable sticky /tmp', async () => {
    const result = await runToCompletion(engine, {
      image: BASE_IMAGE_TAGS.node,
      user: 'node',
      cmd: ['sh', '-c', 'node -p process.versions.node; id -u; id -g; stat -c %a /tmp; touch /tmp/x ~/y && echo writable'],
    });
    const [version, uid, gid, tmpMode, writable] = result.stdout.trim().split('\n');
    expect(result.exitCode).toBe(0);
    expect(version).toMatch(/^24\./);
    expect([uid, gid, tmpMode, writable]).toEqual(['1000', '1000', '1777', 'writable']);
  });

  it('resolves another container by its network alias (compose service names)', async () => {
    const network = `n3xus-test-${SESSION_ID.slice(0, 8)}`;
    await engine.network.create({ name: network, labels: TEST_LABELS });
    const peer = await engine.container.create({
      image: BASE_IMAGE_TAGS.node,
      cmd: ['sleep', '60'],
      labels: TEST_LABELS,
      network,
      networkAliases: ['svc-alpha'],
    });
    await engine.container.start(peer);
    const result = await runToCompletion(engine, {
      image: BASE_IMAGE_TAGS.node,
      network,
      cmd: ['node', '-e', 'require("node:dns").lookup("svc-alpha", { family: 4 }, (e, a) => { if (e) throw e; console.log(a); })'],
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await engine.container.remove(peer);
    await engine.network.remove(network);
  });
});

await describeWithImage(BASE_IMAGE_TAGS.node, 'buildBaseImages', () => {
  it('leaves an image alone when what it is built from has not changed', async () => {
    // The first call rebuilds only if this machine's Node 24 differs from the one in the image.
    await buildBaseImages({ engine, only: ['node'] });
    const before = await engine.image.inspect(BASE_IMAGE_TAGS.node);
    const [result] = await buildBaseImages({ engine, only: ['node'] });
    expect(result).toMatchObject({ image: 'node', action: 'skipped', cause: 'up to date', durationMs: 0, imageId: before.id });
  }, 120_000);
});

await describeWithImage(BASE_IMAGE_TAGS.postgres, 'n3xus/postgres:15', () => {
  it('accepts a password connection on a 127.0.0.1 published port and refuses a wrong password', async () => {
    const id = await engine.container.create({
      image: BASE_IMAGE_TAGS.postgres,
      env: { POSTGRES_PASSWORD: 'test-secret', POSTGRES_USER: 'fleet', POSTGRES_DB: 'fleetdb' },
      labels: TEST_LABELS,
      publish: [{ containerPort: 5432 }],
      healthcheck: { test: ['CMD', 'pg_isready', '-U', 'fleet', '-d', 'fleetdb'], intervalMs: 1_000, timeoutMs: 2_000, retries: 30 },
    });
    await engine.container.start(id);
    const port = (await engine.container.inspect(id)).ports['5432/tcp'];
    expect(port).toBeGreaterThan(0);
    const query = async (password: string): Promise<Record<string, unknown>> => {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'fleet', password, database: 'fleetdb', connectionTimeoutMillis: 2_000 });
      await client.connect();
      try {
        const { rows } = await client.query('select current_user as "user", current_database() as db, version() as version');
        return rows[0] as Record<string, unknown>;
      } finally {
        await client.end();
      }
    };
    const row = await eventually(() => query('test-secret'), 60_000);
    expect(row).toMatchObject({ user: 'fleet', db: 'fleetdb' });
    expect(String(row.version)).toMatch(/^PostgreSQL 15\./);
    await expect(query('wrong')).rejects.toThrow(/password authentication failed/);
    // pg_isready, used by the healthcheck, is in the image.
    await eventually(async () => expect((await engine.container.inspect(id)).health).toBe('healthy'), 30_000, 500);
    await engine.container.remove(id);
  }, 120_000);
});

await describeWithImage(BASE_IMAGE_TAGS.redis, 'n3xus/redis:7', () => {
  it('answers PING on a 127.0.0.1 published port and has redis-cli for its healthcheck', async () => {
    const id = await engine.container.create({
      image: BASE_IMAGE_TAGS.redis,
      labels: TEST_LABELS,
      publish: [{ containerPort: 6379 }],
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], intervalMs: 1_000, timeoutMs: 2_000, retries: 30 },
    });
    await engine.container.start(id);
    const port = (await engine.container.inspect(id)).ports['6379/tcp'] ?? 0;
    const reply = await eventually(() => sendRedis(port, 'PING\r\n'), 30_000);
    expect(reply).toBe('+PONG\r\n');
    await eventually(async () => expect((await engine.container.inspect(id)).health).toBe('healthy'), 30_000, 500);
    await engine.container.remove(id);
  }, 90_000);
});

/** Sends one inline Redis command and resolves with the first reply chunk. */
function sendRedis(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(command));
    socket.setTimeout(2_000, () => socket.destroy(new Error('no reply within 2000 ms')));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString('utf8'));
    });
    socket.once('error', reject);
    // While Redis starts, the engine's port proxy accepts and then closes the connection without a word: without
    // this the promise would never settle, and eventually() would wait on it forever.
    socket.once('close', () => reject(new Error('connection closed without a reply')));
  });
}
