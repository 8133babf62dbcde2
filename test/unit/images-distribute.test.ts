/**
 * The archive surgery of `images distribute` (src/images/distribute.ts) on real tar files made by tar(1) in the
 * docker save layout: the chain IDs of each layer, which layer files a node that has some layers need not get, and
 * the archive without them, which tar(1) reads back whole.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from 'node:fs/promises';
import { archiveWithout, chainIds, indexArchive, layersPresent } from '../../src/images/distribute.ts';
import { tarEntries } from '../../src/images/tar.ts';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
let dir = '';
let archive = '';

/** Two images sharing their base layer, as docker save lays them out (with a layer name long enough for PAX). */
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-distribute-'));
  const root = path.join(dir, 'root');
  const layer = (name: string, bytes: number) => {
    mkdirSync(path.join(root, name), { recursive: true });
    writeFileSync(path.join(root, name, 'layer.tar'), Buffer.alloc(bytes, name.length));
    return `${name}/layer.tar`;
  };
  const base = layer('base', 10_000);
  const app = layer('app', 3_000);
  const other = layer(`other-${'x'.repeat(120)}`, 5_000);
  const config = (name: string, diffIds: string[]) => {
    writeFileSync(path.join(root, `${name}.json`), JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } }));
    return `${name}.json`;
  };
  const manifest = [
    { Config: config('a'.repeat(64), [sha('base'), sha('app')]), RepoTags: ['img/app:1'], Layers: [base, app] },
    { Config: config('b'.repeat(64), [sha('base'), sha('other')]), RepoTags: ['img/other:1'], Layers: [base, other] },
  ];
  writeFileSync(path.join(root, 'manifest.json'), JSON.stringify(manifest));
  archive = path.join(dir, 'images.tar');
  execFileSync('tar', ['-cf', archive, '--format=pax', '-C', root, '.']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('images distribute: the archive a node gets', () => {
  it('computes chain IDs as the engine does: the first is the diff ID, each next the digest of "previous next"', () => {
    expect(chainIds([sha('base'), sha('app')])).toEqual([sha('base'), sha(`${sha('base')} ${sha('app')}`)]);
    expect(chainIds([])).toEqual([]);
  });

  it('indexes every layer file once, with the chain IDs it makes in each image', async () => {
    const index = await indexArchive(archive);
    expect([...index.layers.keys()].sort()).toEqual(['app/layer.tar', 'base/layer.tar', `other-${'x'.repeat(120)}/layer.tar`].sort());
    expect(index.layers.get('base/layer.tar')).toEqual({ bytes: 10_000, chainIds: new Set([sha('base')]) });
  });

  it('leaves out the layer files whose layers the node has, and nothing else', async () => {
    const index = await indexArchive(archive);
    // A node with the base layer and the app image.
    const present = new Set(chainIds([sha('base'), sha('app')]));
    const skip = layersPresent(index, present);
    expect([...skip].sort()).toEqual(['app/layer.tar', 'base/layer.tar']);
    const { stream, bytes } = archiveWithout(index, skip);
    const out = path.join(dir, 'without.tar');
    await pipeline(stream, createWriteStream(out));
    const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n').filter(Boolean).map((n) => n.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(names).toContain('manifest.json');
    expect(names).toContain(`other-${'x'.repeat(120)}/layer.tar`);
    expect(names).not.toContain('app/layer.tar');
    expect(names).not.toContain('base/layer.tar');
    const handle = await open(out, 'r');
    const { entries } = await tarEntries(handle, (await handle.stat()).size).finally(() => handle.close());
    expect(entries.at(-1)!.end + 1024).toBe(bytes);
    expect(bytes).toBeLessThan(index.totalBytes - 13_000);
  });

  it('sends everything to a node that has none of the layers, and the same bytes as the archive', async () => {
    const index = await indexArchive(archive);
    const skip = layersPresent(index, new Set());
    expect(skip.size).toBe(0);
    const { bytes } = archiveWithout(index, skip);
    expect(bytes).toBe(index.totalBytes);
  });
});
