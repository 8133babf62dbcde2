/**
 * Images to a cluster's nodes through a private registry (issue 13, item 2): the archive `images save` writes is
 * pushed once to a registry (Debian's docker-registry, which `images registry` runs on the swarm), straight from
 * the file, through the registry's HTTP API (distribution spec v2), with no engine in between; then every node's
 * engine pulls each image from it and names it as it was saved, so launch finds the same names as after
 * `images distribute --via load`.
 *
 * Layers are pushed as they are in the archive, uncompressed (media type
 * `application/vnd.docker.image.rootfs.diff.tar`): their digest is then their diff ID, which the archive's image
 * configs already give, so nothing is hashed or compressed here (the registry checks each digest on upload). A blob
 * several repositories share is uploaded once and mounted into the others.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isIP } from 'node:net';
import pLimit from 'p-limit';
import { HttpError, httpRequest } from '../http/client.ts';
import { CodedError } from '../util/coded-error.ts';
import { splitImageTag } from '../docker/inspect.ts';
import type { EngineHostInfo, ImageClient } from '../docker/types.ts';
import { indexArchive, type ArchiveIndex } from './distribute.ts';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';
export const LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar';

/** A registry that refused or failed: what, where, and what to do. */
export class RegistryError extends CodedError {
  override readonly name = 'RegistryError';

  constructor(message: string, suggestions: readonly string[], options?: { cause?: unknown }) {
    super(message, 'REGISTRY_ERROR', suggestions, options);
  }
}

/** One blob to push: where its bytes are in the archive. */
export interface PlannedBlob {
  digest: string;
  size: number;
  /** The archive entry holding it (a layer file), or the config's bytes. */
  source: { entry: string } | { bytes: Buffer };
}

/** One image to push: its repository and tag, its manifest, and the blobs it needs, config first. */
export interface PlannedImage {
  name: string;
  repository: string;
  tag: string;
  manifest: Buffer;
  blobs: string[];
}

export interface PushPlan {
  blobs: Map<string, PlannedBlob>;
  images: PlannedImage[];
}

/**
 * What to push for an archive (pure): a schema 2 manifest per name an image was saved under, and each blob once.
 * A layer `docker save` wrote as a link to another image's (a zero-length entry) is taken from the entry that has
 * its bytes. Throws RegistryError for an image saved without a name (nothing to push it as).
 */
export function pushPlan(index: Pick<ArchiveIndex, 'file' | 'images' | 'entries'>): PushPlan {
  const sizes = new Map(index.entries.map((e) => [e.name, e.size]));
  const blobs = new Map<string, PlannedBlob>();
  const images: PlannedImage[] = [];
  for (const image of index.images) {
    if (image.repoTags.length === 0) {
      throw new RegistryError(`${index.file} holds an image without a name (config ${image.config.path}), which cannot be pushed to a registry`, ['Save the images by name: n3xus images save, or docker save NAME:TAG …']);
    }
    const configDigest = `sha256:${createHash('sha256').update(image.config.bytes).digest('hex')}`;
    blobs.set(configDigest, { digest: configDigest, size: image.config.bytes.length, source: { bytes: image.config.bytes } });
    const layers = image.layers.map(({ path, diffId }) => {
      const size = sizes.get(path) ?? 0;
      const known = blobs.get(diffId);
      if (known === undefined || known.size < size) blobs.set(diffId, { digest: diffId, size, source: { entry: path } });
      return diffId;
    });
    for (const name of image.repoTags) {
      const { repository, tag } = splitImageTag(name);
      images.push({ name, repository, tag, manifest: Buffer.alloc(0), blobs: [configDigest, ...layers] });
    }
  }
  for (const [digest, blob] of blobs) {
    if (blob.size === 0 && 'entry' in blob.source) throw new RegistryError(`${index.file} has no bytes for the layer ${digest} (only links to it)`, ['Make the archive again with n3xus images save.']);
  }
  for (const image of images) {
    const [config, ...layers] = image.blobs.map((d) => blobs.get(d)!);
    const manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, size: config!.size, digest: config!.digest },
      layers: layers.map((l) => ({ mediaType: LAYER_MEDIA_TYPE, size: l.size, digest: l.digest })),
    };
    image.manifest = Buffer.from(JSON.stringify(manifest));
  }
  return { blobs, images };
}

/**
 * Whether an engine with these settings pulls from `address` (`host:port`) over plain HTTP (pure). Engines do so
 * for a registry named in their insecure-registries, by name or by a CIDR that holds its address (127.0.0.0/8 by
 * default); `undefined` when the host is a name the engine resolves itself, so only the pull can tell.
 */
export function pullsPlainHttp(insecure: EngineHostInfo['insecureRegistries'], address: string): boolean | undefined {
  if (insecure.names.includes(address)) return true;
  const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return insecure.cidrs.some((cidr) => inCidr('127.0.0.1', cidr));
  if (isIP(host) !== 4) return undefined;
  return insecure.cidrs.some((cidr) => inCidr(host, cidr));
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  if (base === undefined || isIP(base) !== 4) return false;
  const prefix = Number(bits ?? '32');
  const toInt = (a: string) => a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const mask = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix);
  return (toInt(ip) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
}

/** The registry's API at `address` (`host:port`), plain HTTP. */
class RegistryApi {
  readonly base: string;
  readonly #signal: AbortSignal | undefined;

  constructor(readonly address: string, signal?: AbortSignal) {
    this.base = `http://${address}`;
    this.#signal = signal;
  }

  async call(method: 'GET' | 'HEAD' | 'POST' | 'PUT', url: string, what: string, body?: { stream: NodeJS.ReadableStream | Buffer; size: number; type: string }) {
    try {
      const response = await httpRequest(new URL(url, this.base).toString(), {
        method,
        // An upload's deadline: a layer of 1 GB at 10 MB/s.
        timeoutMs: body === undefined ? 30_000 : 100_000 + Math.ceil(body.size / 10_000),
        ...(this.#signal === undefined ? {} : { signal: this.#signal }),
        ...(body === undefined ? {} : { body: body.stream, headers: { 'content-type': body.type, 'content-length': String(body.size) } }),
      });
      return { status: response.status, location: header(response.headers.location), text: response.body };
    } catch (error) {
      if (this.#signal?.aborted || !(error instanceof HttpError)) throw error;
      throw new RegistryError(`The registry at ${this.address} did not answer (${what}): ${(error as Error).message}`, [
        `Check that it runs (n3xus images registry) and that ${this.address} is its address as seen from here.`,
      ], { cause: error });
    }
  }

  fail(what: string, response: { status: number; text: string }): never {
    throw new RegistryError(`The registry at ${this.address} refused to ${what}: HTTP ${response.status} ${response.text.trim().slice(0, 300)}`, ['Check its log: docker service logs n3xus-registry.']);
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Waits until the registry at `address` answers its API's base (`GET /v2/`), up to `timeoutMs`. */
export async function waitForRegistry(address: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const api = new RegistryApi(address, signal);
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const response = await api.call('GET', '/v2/', 'its API base');
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      last = (error.cause as Error | undefined)?.message ?? error.message;
    }
    if (Date.now() > deadline) throw new RegistryError(`The registry at ${address} did not answer within ${timeoutMs / 1000} s (last: ${last})`, ['See why: docker service ps --no-trunc n3xus-registry, and docker service logs n3xus-registry.']);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What a push did. */
export interface PushResult {
  registry: string;
  /** The images pushed, as the registry names them (`address/repository:tag`). */
  images: string[];
  /** Bytes uploaded (blobs the registry did not have in any repository this push knew of). */
  bytes: number;
  uploaded: number;
  /** Blobs the repository had already, and blobs mounted from another repository instead of uploaded. */
  present: number;
  mounted: number;
  durationMs: number;
}

/**
 * Pushes every image of the archive `file` to the registry at `address`, blobs `concurrency` at a time (default
 * 4). What the registry has already is not sent again. Rejects with RegistryError naming what was refused.
 */
export async function pushArchive(file: string, address: string, options: { concurrency?: number; signal?: AbortSignal; index?: ArchiveIndex } = {}): Promise<PushResult & { plan: PushPlan }> {
  const started = performance.now();
  const index = options.index ?? (await indexArchive(file));
  const plan = pushPlan(index);
  const entries = new Map(index.entries.map((e) => [e.name, e]));
  const api = new RegistryApi(address, options.signal);
  const limit = pLimit(options.concurrency ?? 4);
  const result = { bytes: 0, uploaded: 0, present: 0, mounted: 0 };
  /** Per blob: the repository it was first put in (or found in) during this push. */
  const homes = new Map<string, Promise<string>>();

  const upload = async (repository: string, blob: PlannedBlob, location: string): Promise<void> => {
    const at = new URL(location, api.base);
    at.searchParams.set('digest', blob.digest);
    const entry = 'entry' in blob.source ? entries.get(blob.source.entry)! : undefined;
    const stream = entry === undefined ? (blob.source as { bytes: Buffer }).bytes : createReadStream(index.file, { start: entry.dataStart, end: entry.dataStart + entry.size - 1 });
    const response = await api.call('PUT', at.toString(), `upload ${blob.digest} to ${repository}`, { stream, size: blob.size, type: 'application/octet-stream' });
    if (response.status !== 201) api.fail(`take the blob ${blob.digest} (${blob.size} bytes) into ${repository}`, response);
    result.bytes += blob.size;
    result.uploaded += 1;
  };

  /**
   * Puts a blob into a repository: mounted from the repository `from` that has it (the registry answers 201 as well
   * when this one has it already), or found there, or uploaded.
   */
  const ensure = async (repository: string, blob: PlannedBlob, from?: string): Promise<void> => {
    if (from === undefined) {
      const head = await api.call('HEAD', `/v2/${repository}/blobs/${blob.digest}`, `look for ${blob.digest}`);
      if (head.status === 200) {
        result.present += 1;
        return;
      }
    }
    const start = await api.call('POST', from === undefined ? `/v2/${repository}/blobs/uploads/` : `/v2/${repository}/blobs/uploads/?mount=${blob.digest}&from=${from}`, `start an upload to ${repository}`);
    if (start.status === 201) {
      result.mounted += 1;
      return;
    }
    const location = start.status === 202 ? start.location : undefined;
    if (location === undefined) return api.fail(`start an upload to ${repository}`, start);
    await upload(repository, blob, location);
  };

  const images: string[] = [];
  await Promise.all(
    plan.images.map(async (image) => {
      await Promise.all(
        image.blobs.map((digest) => {
          const blob = plan.blobs.get(digest)!;
          const home = homes.get(digest);
          // The first image to need a blob puts it in its repository; the others wait for that, then mount it.
          if (home === undefined) {
            const put = limit(() => ensure(image.repository, blob)).then(() => image.repository);
            homes.set(digest, put);
            return put;
          }
          return home.then((from) => (from === image.repository ? undefined : limit(() => ensure(image.repository, blob, from))));
        }),
      );
      const response = await api.call('PUT', `/v2/${image.repository}/manifests/${image.tag}`, `put the manifest of ${image.name}`, { stream: image.manifest, size: image.manifest.length, type: MANIFEST_MEDIA_TYPE });
      if (response.status !== 201) api.fail(`take the manifest of ${image.name}`, response);
      images.push(`${address}/${image.name}`);
    }),
  );
  return { registry: address, images: images.sort(), ...result, durationMs: Math.round(performance.now() - started), plan };
}

/** What one engine pulled. */
export interface Pulled {
  engine: string;
  images: string[];
  /** Bytes of the layers it downloaded (and of the image configs), by the sizes the manifests give. */
  bytes: number;
  layersDownloaded: number;
  layersPresent: number;
  durationMs: number;
}

/**
 * Has each engine pull every image of `plan` from the registry at `address` (as the engines reach it), then name
 * it as it was saved (`n3xus/redis:7`), engines at once and `concurrency` images at a time on each (default 4).
 * Rejects on the first engine that fails, naming it; an engine that will not speak plain HTTP to the registry is
 * told what to set.
 */
export async function pullEverywhere(
  plan: PushPlan,
  address: string,
  targets: readonly { name: string; image: Pick<ImageClient, 'pull' | 'tag'> }[],
  options: { concurrency?: number; signal?: AbortSignal; onDone?: (done: Pulled) => void } = {},
): Promise<Pulled[]> {
  const sizes = new Map([...plan.blobs.values()].map((b) => [b.digest.replace(/^sha256:/, '').slice(0, 12), b.size]));
  return Promise.all(
    targets.map(async (target): Promise<Pulled> => {
      const started = performance.now();
      const limit = pLimit(options.concurrency ?? 4);
      const layers = new Map<string, 'downloaded' | 'present'>();
      // An image's config travels when the image is new there, which a pull shows by downloading some layer.
      let configBytes = 0;
      await Promise.all(
        plan.images.map((image) =>
          limit(async () => {
            const reference = `${address}/${image.name}`;
            try {
              const pulled = await target.image.pull(reference, options.signal === undefined ? {} : { signal: options.signal });
              for (const [id, state] of pulled.layers) if (layers.get(id) !== 'downloaded') layers.set(id, state);
              if ([...pulled.layers.values()].includes('downloaded')) configBytes += plan.blobs.get(image.blobs[0]!)!.size;
              await target.image.tag(reference, image.name);
            } catch (error) {
              const message = (error as Error).message;
              const https = /server gave HTTP response to HTTPS client/.test(message);
              throw new RegistryError(`The engine at ${target.name} could not pull ${reference}: ${message}`, https
                ? [`That engine speaks only HTTPS to ${address}: add "insecure-registries": ["${address}"] to its /etc/docker/daemon.json and restart it, or reach the registry as 127.0.0.1:PORT from every node.`, 'Or send the images without a registry: n3xus images distribute --via load.']
                : [`Check that the engine reaches ${address} (the registry's address as every node sees it), then run the command again: what it has is not pulled twice.`], { cause: error });
            }
          }),
        ),
      );
      const downloaded = [...layers].filter(([, s]) => s === 'downloaded').map(([id]) => id);
      const done: Pulled = {
        engine: target.name,
        images: plan.images.map((i) => i.name),
        bytes: configBytes + downloaded.reduce((sum, id) => sum + (sizes.get(id) ?? 0), 0),
        layersDownloaded: downloaded.length,
        layersPresent: layers.size - downloaded.length,
        durationMs: Math.round(performance.now() - started),
      };
      options.onDone?.(done);
      return done;
    }),
  );
}
