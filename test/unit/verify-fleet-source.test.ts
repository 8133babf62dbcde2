import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLEET_FILE } from '../../src/fleet/fleet-file.ts';
import { displayPath } from '../../src/util/display-path.ts';
import { FleetFileError, loadFleet } from '../../src/fleet/model.ts';
import { EnvFileError, parseEnvFile } from '../../src/fleet/env-file.ts';
import { desiredInstances } from '../../src/launch/desired.ts';
import { fleetCacheKey, fromEntry, loadVerifyFleet, toEntry } from '../../src/verify/fleet-source.ts';

const OUR_FILE = 'compose/docker-compose.full.yml';
const env = {};
/** What the fleet file is interpolated with: compose/airgap.env (beside it) under `vars`. */
const withAirgap = async (vars: Record<string, string>) => ({ ...parseEnvFile(await readFile('compose/airgap.env', 'utf8')), ...vars });
const tmp = () => mkdtemp(path.join(os.tmpdir(), 'n3xus-fleet-cache-'));
const essentials = (services: Array<{ name: string; stage: string; group: string; category: string; port: number; hostPort: number; environment: Record<string, string> }>) =>
  services.map((s) => ({ name: s.name, stage: s.stage, group: s.group, category: s.category, port: s.port, hostPort: s.hostPort, peers: s.environment.N3XUS_PEERS }));

describe('the fleet as verify reads it', () => {
  it('defaults to the same file as the fleet model', async () => {
    expect((await loadVerifyFleet(undefined, { cacheDir: await tmp() })).file).toBe(displayPath(DEFAULT_FLEET_FILE));
  });

  it('reads the same services from the parser and from the cache', async () => {
    const cacheDir = await tmp();
    const parsed = await loadVerifyFleet(OUR_FILE, { env, cacheDir });
    expect(await readdir(cacheDir)).toHaveLength(1);
    const cached = await loadVerifyFleet(OUR_FILE, { env, cacheDir });
    expect(essentials(cached.services)).toEqual(essentials(parsed.services));
    expect(essentials(parsed.services)).toEqual(essentials(loadFleet(OUR_FILE, { env }).services));
    expect(cached.services).toHaveLength(100);
    expect(cached.file).toBe(OUR_FILE);
  });

  it('serves a hit from the cache entry, and re-reads the file when a variable it uses changes', async () => {
    const cacheDir = await tmp();
    const text = await readFile(OUR_FILE, 'utf8');
    const planted = toEntry({ project: 'planted', services: [{ name: 'only-in-cache', stage: 'core', group: 'g', category: 'c', port: 1, hostPort: 1, environment: {}, image: 'n3xus/x:3.0', configHash: '0'.repeat(64) }] });
    await writeFile(path.join(cacheDir, `fleet-${fleetCacheKey(text, await withAirgap({}), OUR_FILE)}.json`), JSON.stringify(planted));
    expect((await loadVerifyFleet(OUR_FILE, { env, cacheDir })).services.map((s) => s.name)).toEqual(['only-in-cache']);
    const changed = { N3XUS_HANDSHAKE: 'something-else' };
    expect(fleetCacheKey(text, await withAirgap(changed), OUR_FILE)).not.toBe(fleetCacheKey(text, await withAirgap({}), OUR_FILE));
    expect(fleetCacheKey(text, { UNRELATED: 'x' }, OUR_FILE)).toBe(fleetCacheKey(text, env, OUR_FILE));
    // The same text in another checkout: its secret files are elsewhere, so another entry.
    expect(fleetCacheKey(text, env, '/elsewhere/compose/docker-compose.full.yml')).not.toBe(fleetCacheKey(text, env, OUR_FILE));
    expect((await loadVerifyFleet(OUR_FILE, { env: changed, cacheDir })).services).toHaveLength(100);
  });

  it('ignores a cache entry that does not read back, and parses the file', async () => {
    const cacheDir = await tmp();
    const text = await readFile(OUR_FILE, 'utf8');
    await writeFile(path.join(cacheDir, `fleet-${fleetCacheKey(text, await withAirgap({}), OUR_FILE)}.json`), '{"format":1,"services":[{"name":"x"}]}');
    expect((await loadVerifyFleet(OUR_FILE, { env, cacheDir })).services).toHaveLength(100);
    expect(fromEntry({ format: 0, services: [] })).toBeUndefined();
    expect(fromEntry({ format: 1, services: [{ name: 'a', stage: 'nowhere', group: 'g', category: 'c', port: 1, hostPort: 1 }] })).toBeUndefined();
    expect(fromEntry({ format: 1, services: [{ name: 'a', stage: 'core', group: 'g', category: 'c', port: 1, hostPort: 70000 }] })).toBeUndefined();
    expect(fromEntry(null)).toBeUndefined();
  });

  it("carries each service's image and config hash, the same from the parser and from the cache, as launch computes them", async () => {
    const cacheDir = await tmp();
    // As launch reads it: with the variables of compose/airgap.env, beside the file.
    const model = loadFleet(OUR_FILE, { env: await withAirgap({}) });
    const fromParser = await loadVerifyFleet(OUR_FILE, { env, cacheDir });
    const fromCache = await loadVerifyFleet(OUR_FILE, { env, cacheDir });
    const wanted = desiredInstances(model, 'n3xus', model.services, new Map()).map((d) => [d.service.name, d.service.image, d.configHash]);
    expect(fromParser.services.map((s) => [s.name, s.image, s.configHash])).toEqual(wanted);
    expect(fromCache.services.map((s) => [s.name, s.image, s.configHash])).toEqual(wanted);
  });

  it('does not read an entry of the format before config hashes, nor one without them', () => {
    const old = { name: 'a', stage: 'core', group: 'g', category: 'c', port: 1, hostPort: 1 };
    expect(fromEntry({ format: 1, services: [old] })).toBeUndefined();
    expect(fromEntry({ format: 2, services: [old] })).toBeUndefined();
    expect(fromEntry({ format: 2, services: [{ ...old, image: 'i', configHash: 'not-a-hash' }] })).toBeUndefined();
    expect(fromEntry({ format: 2, services: [{ ...old, image: 'i', configHash: 'f'.repeat(64) }] })).toBeUndefined();
    expect(fromEntry({ format: 3, services: [{ ...old, image: 'i', configHash: 'f'.repeat(64) }] })?.services[0]).toMatchObject({ image: 'i', configHash: 'f'.repeat(64) });
    // The secrets file verify signs from is kept when it is a path, and the entry refused when it is anything else.
    expect(fromEntry({ format: 3, secretsFile: '/x/n3xus.env', services: [] })).toEqual({ secretsFile: '/x/n3xus.env', services: [] });
    expect(fromEntry({ format: 3, secretsFile: 1, services: [] })).toBeUndefined();
  });

  it('reads env files: comments, export, quotes, empty values, lines without a key', () => {
    const text = ['# comment', '', 'A=1', 'export B = two ', 'C="quoted # not a comment"', "D='single'", 'E=value # comment', 'F=', '=nokey', 'noequals', 'G=a=b'].join('\n');
    expect(parseEnvFile(text)).toMatchObject({ A: '1', B: 'two', C: 'quoted # not a comment', D: 'single', E: 'value', F: '', G: 'a=b' });
  });

  it('refuses an env file that does not exist, saying so', async () => {
    const error = await loadVerifyFleet(OUR_FILE, { env, envFile: 'compose/nope.env', cacheDir: await tmp() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvFileError);
    expect((error as Error).message).toBe('Env file compose/nope.env does not exist');
  });

  it('reports a missing file as the fleet parser does', async () => {
    await expect(loadVerifyFleet('compose/nope.yml', { env, cacheDir: await tmp() })).rejects.toBeInstanceOf(FleetFileError);
  });
});

describe('the fleet cache', () => {
  it('keeps at most 16 entries, dropping the oldest', async () => {
    const cacheDir = await tmp();
    const { utimes } = await import('node:fs/promises');
    for (let i = 0; i < 20; i++) {
      const file = path.join(cacheDir, `fleet-${String(i).padStart(64, '0')}.json`);
      await writeFile(file, '{}');
      await utimes(file, 1_000 + i, 1_000 + i);
    }
    await loadVerifyFleet(OUR_FILE, { env, cacheDir });
    const left = await readdir(cacheDir);
    expect(left).toHaveLength(16);
    expect(left).not.toContain(`fleet-${'0'.repeat(64)}.json`);
    expect(left).toContain(`fleet-${fleetCacheKey(await readFile(OUR_FILE, 'utf8'), await withAirgap({}), OUR_FILE)}.json`);
  });
});
