import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetCacheKey } from '../../src/fleet/cache.ts';
import { loadFleetCached } from '../../src/fleet/cached-fleet.ts';
import { FleetFileError, loadFleet } from '../../src/fleet/model.ts';

const OUR_FILE = 'compose/docker-compose.full.yml';
const env = { N3XUS_HANDSHAKE: '55-45-17' };
const tmp = () => mkdtemp(path.join(os.tmpdir(), 'n3xus-model-cache-'));

describe('the whole fleet model through the cache', () => {
  it('reads back exactly what the parser returns, and writes one entry', async () => {
    const cacheDir = await tmp();
    const first = await loadFleetCached(OUR_FILE, { env, cacheDir });
    expect(await readdir(cacheDir)).toEqual([expect.stringMatching(/^model-[0-9a-f]{64}\.json$/)]);
    const second = await loadFleetCached(OUR_FILE, { env, cacheDir });
    const parsed = loadFleet(OUR_FILE, { env });
    expect(second).toEqual(parsed);
    expect(first).toEqual(parsed);
    expect(second.services).toHaveLength(100);
  });

  it('serves a hit from the entry, and misses when a variable the file uses changes', async () => {
    const cacheDir = await tmp();
    await loadFleetCached(OUR_FILE, { env, cacheDir });
    const [name] = await readdir(cacheDir);
    // Plant a recognisable fleet under the same key: a hit must return it.
    await writeFile(path.join(cacheDir, name!), JSON.stringify({ project: 'planted', services: [], networks: {}, volumes: {}, warnings: [] }));
    expect(await loadFleetCached(OUR_FILE, { env, cacheDir })).toMatchObject({ project: 'planted', file: OUR_FILE });
    const changed = await loadFleetCached(OUR_FILE, { env: { N3XUS_HANDSHAKE: '55-45-17', N3XUS_POSTGRES_IMAGE: 'other/postgres:15' }, cacheDir });
    expect(changed.services).toHaveLength(100);
    expect(changed.services.find((s) => s.name === 'postgres')?.image).toBe('other/postgres:15');
  });

  it('ignores an entry that is not a fleet', async () => {
    const cacheDir = await tmp();
    await loadFleetCached(OUR_FILE, { env, cacheDir });
    const [name] = await readdir(cacheDir);
    await writeFile(path.join(cacheDir, name!), '{"services":"no"}');
    expect((await loadFleetCached(OUR_FILE, { env, cacheDir })).services).toHaveLength(100);
  });

  it('answers the same file in another checkout with that checkout\'s build contexts, not the first one\'s', async () => {
    // Seen when a checkout moved: the cached fleet sent the process driver to the old checkout's bundles.
    const cacheDir = await tmp();
    const labels = '    labels: { n3xus.stage: core, n3xus.group: core-runtime, n3xus.category: core-runtime, n3xus.port: "3000" }\n';
    const text = `name: moved\nservices:\n  web:\n    build: ./web\n    image: moved/web:1\n    ports: ["127.0.0.1:3000:3000"]\n${labels}`;
    const [a, b] = [await tmp(), await tmp()];
    await writeFile(path.join(a, 'fleet.yml'), text);
    await writeFile(path.join(b, 'fleet.yml'), text);
    // The checkout is the working directory and the file is named relative to it, as a user runs n3xus.
    const contextOf = async (dir: string) => {
      const before = process.cwd();
      process.chdir(dir);
      try {
        return (await loadFleetCached('fleet.yml', { env, cacheDir })).services[0]?.build?.context;
      } finally {
        process.chdir(before);
      }
    };
    expect(await contextOf(a)).toBe(path.join(a, 'web'));
    expect(await contextOf(b)).toBe(path.join(b, 'web'));
  });

  it('keys on the variables the file uses only', () => {
    const text = readFileSync(OUR_FILE, 'utf8');
    expect(fleetCacheKey(text, { ...env, UNRELATED: 'x' })).toBe(fleetCacheKey(text, env));
    expect(fleetCacheKey(text, { N3XUS_HANDSHAKE: 'x' })).not.toBe(fleetCacheKey(text, env));
    expect(fleetCacheKey(text, env, ['a'])).not.toBe(fleetCacheKey(text, env, ['b']));
  });

  it('reports a missing file as the parser does, and a cache it cannot write is no error', async () => {
    const cacheDir = await tmp();
    await expect(loadFleetCached('compose/nope.yml', { env, cacheDir })).rejects.toThrow(FleetFileError);
    const blocked = path.join(await tmp(), 'a-file');
    await writeFile(blocked, '');
    expect((await loadFleetCached(OUR_FILE, { env, cacheDir: path.join(blocked, 'under-a-file') })).services).toHaveLength(100);
  });
});
