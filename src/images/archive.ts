/**
 * Air-gapped image archives: every image a fleet runs, saved as one `docker save` tar archive on a machine that
 * has them, and loaded on a site without a registry. Saving writes to a hidden temporary file next to the output
 * and renames it at the end, so an interrupted or failed save never leaves a half-written archive under the
 * output name. Both directions read the archive's table of contents (`manifest.json` and the entries it names)
 * to tell a complete archive from a cut-off or damaged one before anything is believed or sent to the engine.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { DockerApiError, type ImageClient } from '../docker/engine.ts';
import { interpolationEnv } from '../fleet/env-file.ts';
import { loadFleetCached } from '../fleet/cached-fleet.ts';
import { DEFAULT_FLEET_FILE } from '../fleet/fleet-file.ts';
import type { Env, Fleet } from '../fleet/model.ts';
import { BLOCK_BYTES, TarDamage, tarEntries } from './tar.ts';

export { EnvFileError, parseEnvFile } from '../fleet/env-file.ts';

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** An archive could not be written, read or loaded; the message names the file and what to do. */
export class ImageArchiveError extends Error {
  override readonly name = 'ImageArchiveError';
  readonly code = 'ARCHIVE_ERROR';
  /** The archive in question. */
  readonly file: string;
  readonly suggestions: readonly string[];

  constructor(file: string, message: string, suggestions: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
    this.suggestions = suggestions;
  }
}

/** Images to be saved that are not on the engine; nothing was written. */
export class MissingImagesError extends Error {
  override readonly name = 'MissingImagesError';
  readonly code = 'ARCHIVE_ERROR';
  readonly images: readonly FleetImage[];
  readonly suggestions: readonly string[];

  constructor(images: readonly FleetImage[]) {
    const listed = images.map((i) => (i.services.length === 0 ? i.image : `${i.image} (${plural(i.services.length, 'service')} ${i.services.join(', ')})`));
    super(
      `${images.length === 1 ? 'Image' : `${images.length} images`} not on this engine, so no archive was written: ` +
        `${listed.join('; ')}. Run n3xus images build`,
    );
    this.images = images;
    const publicNames = images.filter((i) => !i.image.startsWith('n3xus/')).map((i) => i.image);
    this.suggestions = [
      'Build the fleet images on this machine: n3xus images build',
      ...(publicNames.length === 0
        ? []
        : [`${publicNames.join(', ')} ${publicNames.length === 1 ? 'is a public image' : 'are public images'}; pass --env-file compose/airgap.env to use the ones n3xus builds instead.`]),
    ];
  }
}

/** A save or load stopped by Ctrl-C (or SIGTERM); a save removed its temporary file. */
export class ArchiveInterruptedError extends Error {
  override readonly name = 'ArchiveInterruptedError';
  readonly code = 'INTERRUPTED';
  readonly file: string;
  readonly suggestions: readonly string[] = [];

  constructor(file: string, what: 'save' | 'load', options?: { cause?: unknown }) {
    super(what === 'save' ? `Interrupted; ${file} was not written` : `Interrupted while loading ${file}; the images loaded so far stay on the engine`, options);
    this.file = file;
  }
}


// ---------------------------------------------------------------------------------------------------------------
// Which images a fleet needs

/** One image the fleet runs, with the services that run it. */
export interface FleetImage {
  /** The reference as the fleet file gives it after interpolation, e.g. `n3xus/audit-trail:3.0`. */
  image: string;
  services: string[];
}

/** The images of a fleet's services, each once, in the order of the file. */
export function fleetImages(fleet: Pick<Fleet, 'services'>): FleetImage[] {
  const byImage = new Map<string, FleetImage>();
  for (const service of fleet.services) {
    const entry = byImage.get(service.image);
    if (entry) entry.services.push(service.name);
    else byImage.set(service.image, { image: service.image, services: [service.name] });
  }
  return [...byImage.values()];
}


/** Options of {@link loadFleetImages}. */
export interface FleetImagesOptions {
  /** The compose file; default compose/docker-compose.full.yml. */
  file?: string;
  /** An env file for interpolation; default `airgap.env` next to the compose file, when there is one. */
  envFile?: string;
  /** Variables that take precedence over the env file's, as the shell's do with compose; default `process.env`. */
  env?: Env;
}

/**
 * The images a fleet file needs, its `${VAR:-default}` references resolved against the env file and the
 * environment (the environment wins).
 * @throws FleetFileError when the compose file is missing or invalid; EnvFileError when `envFile` cannot be read.
 */
export async function loadFleetImages(options: FleetImagesOptions = {}): Promise<{ fleet: Fleet; images: FleetImage[]; envFile: string | undefined }> {
  const file = options.file ?? DEFAULT_FLEET_FILE;
  const { env, envFile } = interpolationEnv(file, { envFile: options.envFile, ...(options.env ? { env: options.env } : {}) });
  const fleet = await loadFleetCached(file, { env });
  return { fleet, images: fleetImages(fleet), envFile };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading an archive's table of contents

/** One image in an archive, as its `manifest.json` lists it. */
export interface ArchiveImage {
  /** `sha256:…`, the image ID (the digest of its config). */
  id: string;
  tags: string[];
}

const COMPRESSED_MAGIC = [Buffer.from([0x1f, 0x8b]), Buffer.from('BZh'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];

/**
 * Reads the images an uncompressed `docker save` archive holds, checking on the way that it is a tar archive,
 * that it is complete (every entry whole, the end-of-archive marker present) and that every config and layer
 * its manifest names is in it. Only the entry headers and the manifest are read, so this takes milliseconds
 * even for gigabytes. Resolves `undefined` for a compressed archive (the engine reads those too).
 * @throws ImageArchiveError saying what is wrong and where.
 */
export async function readArchiveManifest(file: string): Promise<ArchiveImage[] | undefined> {
  const corrupt = (reason: string): ImageArchiveError =>
    new ImageArchiveError(file, `${file} is not a complete image archive: ${reason}`, [
      'Make it again with n3xus images save on a machine that has the images, and copy it whole (compare sha256sum on both ends).',
    ]);
  const handle = await open(file, 'r');
  try {
    const fileBytes = (await handle.stat()).size;
    if (fileBytes === 0) throw corrupt('it is empty');
    const block = Buffer.alloc(BLOCK_BYTES);
    const head = await handle.read(block, 0, BLOCK_BYTES, 0);
    if (COMPRESSED_MAGIC.some((magic) => head.bytesRead >= magic.length && block.subarray(0, magic.length).equals(magic))) return undefined;
    let walked: Awaited<ReturnType<typeof tarEntries>>;
    try {
      walked = await tarEntries(handle, fileBytes, (name) => name === 'manifest.json');
    } catch (error) {
      if (error instanceof TarDamage) throw corrupt(error.message);
      throw error;
    }
    const entries = new Set(walked.entries.map((e) => e.name));
    const manifestText = walked.data.get('manifest.json')?.toString('utf8');
    if (manifestText === undefined) throw corrupt('it has no manifest.json, so it was not made by docker save or n3xus images save');
    let manifest: unknown;
    try {
      manifest = JSON.parse(manifestText);
    } catch {
      throw corrupt('its manifest.json is not JSON');
    }
    if (!Array.isArray(manifest)) throw corrupt('its manifest.json is not a list of images');
    return manifest.map((item: unknown, index): ArchiveImage => {
      const { Config: config, RepoTags: tags, Layers: layers } = (item ?? {}) as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
      const hex = typeof config === 'string' ? /([0-9a-f]{64})(?:\.json)?$/.exec(config)?.[1] : undefined;
      if (typeof config !== 'string' || hex === undefined) throw corrupt(`manifest.json entry ${index} names no image config`);
      const missing = [config, ...(Array.isArray(layers) ? layers.filter((l): l is string => typeof l === 'string') : [])].filter((e) => !entries.has(e));
      if (missing.length > 0) throw corrupt(`manifest.json entry ${index} names ${missing.length} entries the archive lacks, e.g. ${missing[0]}`);
      return { id: `sha256:${hex}`, tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [] };
    });
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Save and load

/** Options of {@link saveImageArchive}. */
export interface SaveArchiveOptions {
  /** The images to save: references (`name:tag` or ID), or fleet images that also say which services run them. */
  images: readonly (string | FleetImage)[];
  /** Where to write the archive; an existing file there is replaced once the new archive is complete. */
  outputPath: string;
  /** Aborting (Ctrl-C) stops the save, removes the temporary file and rejects with an ArchiveInterruptedError. */
  signal?: AbortSignal;
}

/** A written archive. */
export interface SaveArchiveResult {
  /** Absolute path of the archive. */
  file: string;
  images: Array<{ image: string; id: string }>;
  /** Size of the archive in bytes. */
  sizeBytes: number;
  durationMs: number;
}

/** Existence checks at once: enough to hide the round trips, few enough not to crowd the engine. */
const INSPECT_CONCURRENCY = 8;

/**
 * Writes one tar archive of the images (`docker save`), via a temporary file next to `outputPath` that is renamed
 * once the archive is complete and checked.
 * @throws MissingImagesError (nothing written) when an image is not on the engine; ImageArchiveError when the
 *   output cannot be written; ArchiveInterruptedError when `signal` aborts.
 */
export async function saveImageArchive(engine: { image: Pick<ImageClient, 'inspect' | 'save'> }, options: SaveArchiveOptions): Promise<SaveArchiveResult> {
  const startedAt = performance.now();
  const wanted = options.images.map((i): FleetImage => (typeof i === 'string' ? { image: i, services: [] } : i));
  if (wanted.length === 0) throw new TypeError('Expected `images` to list at least one image');
  const file = path.resolve(options.outputPath);
  await checkOutputPath(file);

  const limit = pLimit(INSPECT_CONCURRENCY);
  const found = await Promise.all(
    wanted.map((entry) =>
      limit(async () => {
        try {
          return { ...entry, id: (await engine.image.inspect(entry.image)).id };
        } catch (error) {
          if (error instanceof DockerApiError && error.statusCode === 404) return { ...entry, id: undefined };
          throw error;
        }
      }),
    ),
  );
  const missing = found.filter((f) => f.id === undefined);
  if (missing.length > 0) throw new MissingImagesError(missing.map(({ image, services }) => ({ image, services })));
  const images = found.map(({ image, id }) => ({ image, id: id ?? '' }));

  // Hidden and named after this process, so it is never taken for an archive and two saves do not collide.
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
  const { signal } = options;
  try {
    signal?.throwIfAborted();
    const archive = await engine.image.save(
      images.map((i) => i.image),
      signal === undefined ? {} : { signal },
    );
    // flush: fsync before close, so the rename below never exposes an archive whose bytes are not on disk yet.
    await pipeline(archive, createWriteStream(temporary, { flags: 'wx', flush: true }), signal === undefined ? {} : { signal });
    const saved = (await readArchiveManifest(temporary)) ?? [];
    const savedIds = new Set(saved.map((s) => s.id));
    const absent = images.filter((i) => !savedIds.has(i.id));
    if (absent.length > 0) {
      throw new ImageArchiveError(file, `The engine's archive lacks ${absent.map((a) => a.image).join(', ')}; nothing was written to ${file}`, ['Run the save again; if it recurs, check the engine log.']);
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    if (signal?.aborted) throw new ArchiveInterruptedError(file, 'save');
    if (error instanceof ImageArchiveError && error.file === temporary) {
      throw new ImageArchiveError(file, error.message.replace(temporary, `The archive the engine wrote for ${file}`), error.suggestions, { cause: error });
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EDQUOT') {
      throw new ImageArchiveError(file, `Cannot write the archive ${file}: ${(error as Error).message}; nothing was written`, ['Free some space or pass another -o/--output.'], { cause: error });
    }
    throw error;
  }
  const sizeBytes = (await stat(file)).size;
  return { file, images, sizeBytes, durationMs: Math.round(performance.now() - startedAt) };
}

async function checkOutputPath(file: string): Promise<void> {
  const directory = path.dirname(file);
  const dirStat = await stat(directory).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    throw new ImageArchiveError(file, `Cannot write the archive ${file}: directory ${directory} does not exist`, ['Create the directory first, or pass another -o/--output.']);
  }
  const fileStat = await stat(file).catch(() => undefined);
  if (fileStat?.isDirectory()) {
    throw new ImageArchiveError(file, `Cannot write the archive ${file}: it is a directory`, [`Name a file, e.g. -o ${path.join(file, 'fleet-images.tar')}`]);
  }
}

/** Options of {@link loadImageArchive}. */
export interface LoadArchiveOptions {
  inputPath: string;
  /** Aborting (Ctrl-C) stops sending the archive and rejects with an ArchiveInterruptedError. */
  signal?: AbortSignal;
}

/** A loaded archive. */
export interface LoadArchiveResult {
  /** Absolute path of the archive. */
  file: string;
  sizeBytes: number;
  /** What the engine reports having loaded: tags, and `sha256:…` IDs of untagged images. */
  loaded: string[];
  /** The images the archive's manifest lists (empty for a compressed archive, which is not read ahead). */
  images: ArchiveImage[];
  durationMs: number;
}

/**
 * Loads a `docker save` archive into the engine (`docker load`), after checking that it is complete.
 * @throws ImageArchiveError when the file is missing, not an image archive, cut off or refused by the engine.
 */
export async function loadImageArchive(engine: { image: Pick<ImageClient, 'load'> }, options: LoadArchiveOptions): Promise<LoadArchiveResult> {
  const startedAt = performance.now();
  const file = path.resolve(options.inputPath);
  const fileStat = await stat(file).catch(() => undefined);
  if (fileStat === undefined || !fileStat.isFile()) {
    throw new ImageArchiveError(file, `No image archive at ${file}: ${fileStat === undefined ? 'no such file' : 'not a file'}`, [
      'Pass the archive written by n3xus images save with -i/--input.',
    ]);
  }
  const images = (await readArchiveManifest(file)) ?? [];
  const { signal } = options;
  try {
    signal?.throwIfAborted();
    const result = await engine.image.load(createReadStream(file), signal === undefined ? {} : { signal });
    return { file, sizeBytes: fileStat.size, loaded: result.loaded, images, durationMs: Math.round(performance.now() - startedAt) };
  } catch (error) {
    if (signal?.aborted) throw new ArchiveInterruptedError(file, 'load');
    if (error instanceof DockerApiError) {
      throw new ImageArchiveError(file, `The engine could not load ${file}: ${error.message}`, ['Make the archive again with n3xus images save and copy it whole.'], { cause: error });
    }
    throw error;
  }
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
