/**
 * Images to the engines of other machines without a registry (issue 13): the archive `images save` writes, sent to
 * each engine through its API (`POST /images/load`), each engine getting only the layers it lacks. An engine loads
 * a `docker save` archive layer by layer and reads a layer's file only when it does not have that layer already
 * (by its chain ID), so an archive without those files loads as well (checked on Docker 20.10: the 92 MB archive of
 * n3xus/redis:7 without its three layer files, 20 kB, loaded on an engine that had them). What travels to a node
 * is therefore the manifests, the image configs, and the layers it lacks.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { ImageClient } from '../docker/engine.ts';
import { ImageArchiveError } from './archive.ts';
import { BLOCK_BYTES, TarDamage, tarEntries, type TarEntry } from './tar.ts';

const BLOCK = BLOCK_BYTES;

/** Every entry of the archive `file` and the data of those `read` names (see tarEntries in tar.ts). */
async function archiveEntries(file: string, read: (name: string) => boolean): Promise<{ entries: TarEntry[]; data: Map<string, Buffer> }> {
  const handle = await open(file, 'r');
  try {
    return await tarEntries(handle, (await handle.stat()).size, read);
  } catch (error) {
    if (error instanceof TarDamage) throw new ImageArchiveError(file, `${file} is not a complete image archive: ${error.message}`, ['Make it again with n3xus images save.']);
    throw error;
  } finally {
    await handle.close();
  }
}

/** The chain ID of each layer of an image, from its layers' diff IDs (`sha256:…`), bottom first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? diffId : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** One layer file of an archive: its entry, and the chain ID it makes in its image. */
export interface ArchiveLayer {
  path: string;
  chainId: string;
  bytes: number;
}

/** One image of an archive, as its manifest.json and its config say. */
export interface ArchiveImage {
  /** The names it was saved under (`n3xus/redis:7`). */
  repoTags: string[];
  /** Its config's entry and bytes (the image config JSON, whose sha256 is the image ID). */
  config: { path: string; bytes: Buffer };
  /** Its layer files, bottom first, each with the diff ID (the sha256 of the uncompressed layer) its config gives. */
  layers: { path: string; diffId: string }[];
}

/** An archive's entries, its images, and its layers by the chain ID they make. */
export interface ArchiveIndex {
  file: string;
  entries: TarEntry[];
  images: ArchiveImage[];
  /** Every layer file, once (several images may share it), with the chain IDs it makes in each image. */
  layers: Map<string, { bytes: number; chainIds: Set<string> }>;
  totalBytes: number;
}

/** Reads an archive's table of contents, manifest and image configs (kilobytes), not its layers. */
export async function indexArchive(file: string): Promise<ArchiveIndex> {
  const small = (name: string) => name === 'manifest.json' || (name.endsWith('.json') && !name.includes('/'));
  const { entries, data } = await archiveEntries(file, small);
  const manifestText = data.get('manifest.json');
  if (manifestText === undefined) throw new ImageArchiveError(file, `${file} has no manifest.json, so it was not made by docker save or n3xus images save`, ['Make it again with n3xus images save.']);
  const manifest = JSON.parse(manifestText.toString('utf8')) as { Config: string; Layers: string[]; RepoTags?: string[] | null }[];
  const sizes = new Map(entries.map((e) => [e.name, e.size]));
  const layers = new Map<string, { bytes: number; chainIds: Set<string> }>();
  const images: ArchiveImage[] = [];
  for (const image of manifest) {
    const config = data.get(image.Config);
    if (config === undefined) throw new ImageArchiveError(file, `${file} lacks the image config ${image.Config} its manifest names`, ['Make it again with n3xus images save.']);
    const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
    if (diffIds.length !== image.Layers.length) throw new ImageArchiveError(file, `${file}: the image config ${image.Config} names ${diffIds.length} layers and the manifest ${image.Layers.length}`, ['Make it again with n3xus images save.']);
    images.push({ repoTags: image.RepoTags ?? [], config: { path: image.Config, bytes: config }, layers: image.Layers.map((p, i) => ({ path: p, diffId: diffIds[i]! })) });
    const chains = chainIds(diffIds);
    image.Layers.forEach((path, i) => {
      const layer = layers.get(path) ?? { bytes: sizes.get(path) ?? 0, chainIds: new Set<string>() };
      if (chains[i] !== undefined) layer.chainIds.add(chains[i]);
      layers.set(path, layer);
    });
  }
  const last = entries[entries.length - 1];
  return { file, entries, images, layers, totalBytes: (last?.end ?? 0) + 2 * BLOCK };
}

/**
 * The layer files a node that has the layers `present` (chain IDs) need not get: each one whose every chain ID in
 * the archive's images is present there.
 */
export function layersPresent(index: ArchiveIndex, present: ReadonlySet<string>): Set<string> {
  return new Set([...index.layers].filter(([, layer]) => layer.chainIds.size > 0 && [...layer.chainIds].every((c) => present.has(c))).map(([path]) => path));
}

/** The archive without the entries in `skip`, as a stream, and how many bytes it will be. */
export function archiveWithout(index: ArchiveIndex, skip: ReadonlySet<string>): { stream: Readable; bytes: number } {
  const kept = index.entries.filter((e) => !skip.has(e.name));
  const bytes = kept.reduce((sum, e) => sum + (e.end - e.start), 0) + 2 * BLOCK;
  async function* chunks(): AsyncGenerator<Buffer> {
    const handle = await open(index.file, 'r');
    try {
      for (const entry of kept) {
        let at = entry.start;
        while (at < entry.end) {
          const length = Math.min(1 << 20, entry.end - at);
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, at);
          if (bytesRead === 0) throw new Error(`${index.file} changed while it was being sent`);
          yield buffer.subarray(0, bytesRead);
          at += bytesRead;
        }
      }
      yield Buffer.alloc(2 * BLOCK);
    } finally {
      await handle.close();
    }
  }
  return { stream: Readable.from(chunks()), bytes };
}

/** The chain IDs of every layer an engine has, from its images' layers. */
export async function presentLayers(image: Pick<ImageClient, 'list' | 'inspect'>): Promise<Set<string>> {
  const limit = pLimit(8);
  const present = new Set<string>();
  await Promise.all(
    (await image.list()).map((id) =>
      limit(async () => {
        const info = await image.inspect(id).catch(() => undefined); // removed meanwhile
        for (const chain of chainIds(info?.layers ?? [])) present.add(chain);
      }),
    ),
  );
  return present;
}

/** What one engine got. */
export interface Distributed {
  engine: string;
  /** Bytes sent to it, of the archive's `totalBytes`. */
  bytes: number;
  layersSent: number;
  layersKept: number;
  loaded: string[];
  durationMs: number;
}

/**
 * Loads the archive into each engine (`targets`, by a name to report), each getting only the layers it lacks,
 * `concurrency` engines at a time (default all). Rejects on the first engine that fails, naming it.
 */
export async function distributeArchive(
  file: string,
  targets: readonly { name: string; image: Pick<ImageClient, 'list' | 'inspect' | 'load'> }[],
  options: { concurrency?: number; signal?: AbortSignal; onDone?: (done: Distributed) => void } = {},
): Promise<{ index: ArchiveIndex; engines: Distributed[] }> {
  const index = await indexArchive(file);
  const limit = pLimit(options.concurrency ?? Math.max(1, targets.length));
  const engines = await Promise.all(
    targets.map((target) =>
      limit(async (): Promise<Distributed> => {
        const started = performance.now();
        const skip = layersPresent(index, await presentLayers(target.image));
        const { stream, bytes } = archiveWithout(index, skip);
        let loaded: string[];
        try {
          loaded = (await target.image.load(stream, options.signal === undefined ? {} : { signal: options.signal })).loaded;
        } catch (error) {
          throw new ImageArchiveError(file, `The engine at ${target.name} could not load ${file}: ${(error as Error).message}`, ['Check that engine (docker -H … info), then run the command again: what it has already is not sent twice.'], { cause: error });
        }
        const done: Distributed = { engine: target.name, bytes, layersSent: index.layers.size - skip.size, layersKept: skip.size, loaded, durationMs: Math.round(performance.now() - started) };
        options.onDone?.(done);
        return done;
      }),
    ),
  );
  return { index, engines };
}
