/**
 * The fleet's base images, built on this machine without any registry:
 * n3xus/debian:bookworm (debootstrap + import), n3xus/node:24 (FROM scratch), and n3xus/postgres:15 and
 * n3xus/redis:7 (Debian packages on n3xus/debian:bookworm). Each image carries the hash of what it was built from
 * in a label, so a later run skips it while nothing changed.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerApiError, DockerEngine, type ImageInfo } from '../docker/engine.ts';
import { projectRoot } from '../util/project-root.ts';
import { decideBuild, type BuildCause } from './build-decision.ts';
import { createDebianRootfs, hostDebianMirror, readHostAptSources, SLIM_CONFIG, tarRootfs } from './debian-rootfs.ts';
import { resolveNodeBinary, resolveStaticBusybox, type NodeBinary } from './host-tools.ts';
import { BUSYBOX_APPLETS, ETC_FILES, stageNodeRootfs } from './node-rootfs.ts';

/** Tags of the base images; services and compose files refer to these. */
export const BASE_IMAGE_TAGS = {
  debian: 'n3xus/debian:bookworm',
  node: 'n3xus/node:24',
  postgres: 'n3xus/postgres:15',
  redis: 'n3xus/redis:7',
  registry: 'n3xus/registry:2',
} as const;

export type BaseImageName = keyof typeof BASE_IMAGE_TAGS;

/** Build order: every image comes after the image it is built on. */
export const BASE_IMAGE_ORDER: readonly BaseImageName[] = ['debian', 'node', 'postgres', 'redis', 'registry'];

/** The base each image is built `FROM`, when it is one of ours. */
export const BASE_IMAGE_PARENT: Readonly<Partial<Record<BaseImageName, BaseImageName>>> = { postgres: 'debian', redis: 'debian', registry: 'debian' };

/** Label holding the sha256 of an image's build inputs. */
export const INPUTS_LABEL = 'n3xus.image.inputs';
/** Label naming which base image this is. */
export const NAME_LABEL = 'n3xus.image.name';

/** Bumped when a recipe changes in a way its inputs do not show, to force a rebuild everywhere. */
const RECIPE_VERSION = 1;
const DEBIAN_SUITE = 'bookworm';
const NODE_MAJOR = 24;

/** Progress of {@link buildBaseImages}, one event at a time. */
export type BaseImageEvent =
  | { type: 'skip'; image: BaseImageName; tag: string; cause: BuildCause }
  | { type: 'start'; image: BaseImageName; tag: string; cause: BuildCause }
  | { type: 'output'; image: BaseImageName; tag: string; line: string }
  | { type: 'done'; image: BaseImageName; tag: string; durationMs: number; sizeBytes: number };

/** What happened to one base image. */
export interface BaseImageResult {
  image: BaseImageName;
  tag: string;
  action: 'built' | 'skipped';
  cause: BuildCause;
  imageId: string;
  /** Uncompressed size in bytes. */
  sizeBytes: number;
  /** Time spent building; 0 when skipped. */
  durationMs: number;
}

export interface BuildBaseImagesOptions {
  /** Rebuild even when the image is up to date; default false. */
  force?: boolean;
  /** Only these images (and the bases they are built on); default all. */
  only?: readonly BaseImageName[];
  engine?: DockerEngine;
  onProgress?: (event: BaseImageEvent) => void;
  /** Where Dockerfiles live; default `<project>/compose/images`. */
  composeDir?: string;
  /** Where contexts are staged and downloads cached; default `<project>/dist/images`. */
  workDir?: string;
}

/**
 * Builds the missing or outdated base images in dependency order and returns what was done for each.
 * Rejects with EngineUnreachableError when there is no engine, ImageBuildError when a Dockerfile step fails and
 * ProcessError when debootstrap, npm, strip or tar fail.
 *
 * @example
 * await buildBaseImages({ onProgress: (e) => e.type !== 'output' && console.log(e.type, e.tag) });
 */
export async function buildBaseImages(options: BuildBaseImagesOptions = {}): Promise<BaseImageResult[]> {
  const engine = options.engine ?? new DockerEngine();
  await engine.ping();
  const root = options.composeDir === undefined || options.workDir === undefined ? projectRoot() : '';
  const context: RecipeContext = {
    engine,
    composeDir: options.composeDir ?? path.join(root, 'compose/images'),
    workDir: options.workDir ?? path.join(root, 'dist/images'),
    emit: options.onProgress ?? ((): void => undefined),
  };
  const wanted = withParents(options.only ?? BASE_IMAGE_ORDER);
  const rebuilt = new Set<BaseImageName>();
  const replaced: string[] = [];
  const results: BaseImageResult[] = [];
  for (const image of BASE_IMAGE_ORDER.filter((name) => wanted.has(name))) {
    const tag = BASE_IMAGE_TAGS[image];
    const recipe = RECIPES[image];
    const inputsHash = hashInputs(await recipe.inputs(context));
    const observed = await inspectIfPresent(engine, tag);
    const parent = BASE_IMAGE_PARENT[image];
    const decision = decideBuild({
      force: options.force ?? false,
      baseRebuilt: parent !== undefined && rebuilt.has(parent),
      inputsHash,
      observed: observed && { inputsHash: observed.labels[INPUTS_LABEL] },
    });
    if (!decision.build && observed) {
      context.emit({ type: 'skip', image, tag, cause: decision.cause });
      results.push({ image, tag, action: 'skipped', cause: decision.cause, imageId: observed.id, sizeBytes: observed.sizeBytes, durationMs: 0 });
      continue;
    }
    context.emit({ type: 'start', image, tag, cause: decision.cause });
    const startedAt = performance.now();
    const labels = { [NAME_LABEL]: image, [INPUTS_LABEL]: inputsHash };
    await recipe.build(context, { tag, labels, noCache: decision.cause === 'forced', onOutput: (line) => context.emit({ type: 'output', image, tag, line }) });
    const built = await engine.image.inspect(tag);
    const durationMs = Math.round(performance.now() - startedAt);
    if (observed && observed.id !== built.id) replaced.push(observed.id);
    rebuilt.add(image);
    context.emit({ type: 'done', image, tag, durationMs, sizeBytes: built.sizeBytes });
    results.push({ image, tag, action: 'built', cause: decision.cause, imageId: built.id, sizeBytes: built.sizeBytes, durationMs });
  }
  // Replaced images are untagged now. Children go first (an old postgres before the old debian it was built on);
  // one still used by a container stays, and the engine says so with a conflict that is ignored here.
  for (const id of replaced.reverse()) await engine.image.remove(id).catch(() => undefined);
  return results;
}

/** The images asked for plus every base they are built on. */
export function withParents(images: readonly BaseImageName[]): Set<BaseImageName> {
  const wanted = new Set<BaseImageName>();
  for (const asked of images) {
    let image: BaseImageName | undefined = asked;
    while (image !== undefined && !wanted.has(image)) {
      wanted.add(image);
      image = BASE_IMAGE_PARENT[image];
    }
  }
  return wanted;
}

/** sha256 of a JSON value with object keys sorted, so equal inputs always hash equal. */
export function hashInputs(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(
        Object.entries(v)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, inner]) => [k, canonical(inner)]),
      );
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

interface RecipeContext {
  engine: DockerEngine;
  composeDir: string;
  workDir: string;
  emit: (event: BaseImageEvent) => void;
}

interface BuildTarget {
  tag: string;
  labels: Record<string, string>;
  /** True when forced: the layer cache is bypassed too, so a forced build fetches current packages. */
  noCache: boolean;
  onOutput: (line: string) => void;
}

/** How one base image is made: what it is made from (hashed for the skip decision), and how to make it. */
interface Recipe {
  inputs(context: RecipeContext): Promise<unknown>;
  build(context: RecipeContext, target: BuildTarget): Promise<void>;
}

async function inspectIfPresent(engine: DockerEngine, tag: string): Promise<ImageInfo | undefined> {
  try {
    return await engine.image.inspect(tag);
  } catch (error) {
    if (error instanceof DockerApiError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/** The files of `compose/images/<name>/` that go into its build context (the README stays out). */
async function contextFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== 'README.md').sort();
}

async function fileContents(dir: string, files: readonly string[]): Promise<Record<string, string>> {
  const entries = await Promise.all(files.map(async (file) => [file, await readFile(path.join(dir, file), 'utf8')] as const));
  return Object.fromEntries(entries);
}

const debianRecipe: Recipe = {
  async inputs() {
    const hostSources = await readHostAptSources();
    return { recipe: 'debian', RECIPE_VERSION, suite: DEBIAN_SUITE, variant: 'minbase', slim: SLIM_CONFIG, sources: hostSources?.text };
  },
  async build(context, target) {
    const mirror = await hostDebianMirror(DEBIAN_SUITE);
    target.onOutput(`debootstrap --variant=minbase ${DEBIAN_SUITE} from ${mirror}`);
    await mkdir(context.workDir, { recursive: true });
    // A fresh directory on every run: debootstrap does not reliably resume a half-made root filesystem.
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'n3xus-debian-'));
    const dir = path.join(tmp, 'rootfs');
    try {
      await createDebianRootfs({ dir, suite: DEBIAN_SUITE, mirror, hostSources: await readHostAptSources(), onLine: target.onOutput });
      const tar = tarRootfs(dir);
      await Promise.all([
        context.engine.image.import({
          tag: target.tag,
          tarStream: tar.stream,
          changes: [
            'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'CMD ["bash"]',
            ...Object.entries(target.labels).map(([key, value]) => `LABEL ${key}=${value}`),
          ],
          onOutput: target.onOutput,
        }),
        tar.completed,
      ]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
};

/** Memo of the Node binary per work directory, so inputs() and build() of one run agree without a second lookup. */
const nodeBinaries = new Map<string, Promise<NodeBinary>>();

function nodeBinaryFor(context: RecipeContext): Promise<NodeBinary> {
  const cacheDir = path.join(context.workDir, 'cache');
  let binary = nodeBinaries.get(cacheDir);
  if (binary === undefined) {
    binary = resolveNodeBinary({ major: NODE_MAJOR, cacheDir, onLine: (line) => context.emit({ type: 'output', image: 'node', tag: BASE_IMAGE_TAGS.node, line }) });
    nodeBinaries.set(cacheDir, binary);
    binary.catch(() => nodeBinaries.delete(cacheDir));
  }
  return binary;
}

const nodeRecipe: Recipe = {
  async inputs(context) {
    const node = await nodeBinaryFor(context);
    const dockerfile = await readFile(path.join(context.composeDir, 'node/Dockerfile'), 'utf8');
    return { recipe: 'node', RECIPE_VERSION, nodeVersion: node.version, dockerfile, applets: BUSYBOX_APPLETS, etc: ETC_FILES, strip: true };
  },
  async build(context, target) {
    const node = await nodeBinaryFor(context);
    const busybox = await resolveStaticBusybox({ cacheDir: path.join(context.workDir, 'cache'), onLine: target.onOutput });
    const stageDir = path.join(context.workDir, 'node');
    target.onOutput(`staging rootfs in ${stageDir}: node ${node.version} from ${node.path}, busybox from ${busybox}`);
    await stageNodeRootfs({ stageDir, nodeBinary: node.path, busybox, strip: true, onLine: target.onOutput });
    await copyFile(path.join(context.composeDir, 'node/Dockerfile'), path.join(stageDir, 'Dockerfile'));
    await context.engine.image.build({
      contextDir: stageDir,
      files: ['Dockerfile', 'rootfs', 'home'],
      tag: target.tag,
      buildArgs: { NODE_VERSION: node.version },
      labels: target.labels,
      noCache: target.noCache,
      onOutput: target.onOutput,
    });
  },
};

/** A Dockerfile under compose/images/<dir> built on n3xus/debian:bookworm. */
function debianPackageRecipe(dir: string): Recipe {
  return {
    async inputs(context) {
      const contextDir = path.join(context.composeDir, dir);
      const files = await contextFiles(contextDir);
      const base = await context.engine.image.inspect(BASE_IMAGE_TAGS.debian);
      return { recipe: dir, RECIPE_VERSION, files: await fileContents(contextDir, files), baseImageId: base.id };
    },
    async build(context, target) {
      const contextDir = path.join(context.composeDir, dir);
      await context.engine.image.build({
        contextDir,
        files: await contextFiles(contextDir),
        tag: target.tag,
        buildArgs: { BASE_IMAGE: BASE_IMAGE_TAGS.debian },
        labels: target.labels,
        noCache: target.noCache,
        onOutput: target.onOutput,
      });
    },
  };
}

const RECIPES: Readonly<Record<BaseImageName, Recipe>> = {
  debian: debianRecipe,
  node: nodeRecipe,
  postgres: debianPackageRecipe('postgres'),
  redis: debianPackageRecipe('redis'),
  registry: debianPackageRecipe('registry'),
};
