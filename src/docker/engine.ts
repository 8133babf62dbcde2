/**
 * The one door to Docker: the only module that imports dockerode (an ESLint rule keeps it so). A
 * {@link DockerEngine} fronts narrow sub-clients — `image`, `container`, `network` — each an interface from
 * `types.ts` with its Docker implementation here, in the manner of testcontainers' container-runtime.
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { debuglog } from 'node:util';
// Must come before dockerode: it defers two modules of dockerode's that n3xus does not use (see lazy-modules.ts).
import './lazy-modules.ts';
import Docker from 'dockerode';
import { runStreaming } from '../process/run.ts';
import { LineTail } from '../util/line-tail.ts';
import { resolveEndpoint, type EndpointOptions, type EngineEndpoint } from './endpoint.ts';
import { DockerApiError, EngineUnreachableError, ImageBuildError } from './errors.ts';
import {
  labelFilter,
  splitImageTag,
  summarizeContainer,
  summarizeContainerEvent,
  summarizeListedContainer,
  type ContainerInfo,
  type ContainerInspectInput,
  type ContainerListInput,
} from './inspect.ts';
import { demuxLogs } from './log-demux.ts';
import { interpretProgress, JsonLinesDecoder, outputLines } from './progress-stream.ts';
import type {
  BuildImageOptions,
  ContainerClient,
  ContainerSpec,
  ContainerWatchOptions,
  DiskUsage,
  ImageHistoryEntry,
  EngineHostInfo,
  EngineInfo,
  ImageBuildResult,
  ImageClient,
  ImageInfo,
  ImageLoadResult,
  ImagePullResult,
  ImportImageOptions,
  LogStreamOptions,
  NetworkClient,
  SwarmClient,
  SwarmNodeInfo,
  SwarmServiceInfo,
  SwarmState,
  SwarmTaskInfo,
  VolumeClient,
} from './types.ts';

export type * from './types.ts';
export type { ContainerEvent, ContainerInfo, HealthStatus } from './inspect.ts';
export type { EngineEndpoint } from './endpoint.ts';
export { DockerApiError, EngineUnreachableError, ImageBuildError } from './errors.ts';

/** Enable with NODE_DEBUG=n3xus:docker to see every engine call start, finish or fail. */
const debug = debuglog('n3xus:docker');

/** How to reach the engine; see {@link resolveEndpoint} for the order of precedence. */
export interface EngineOptions extends EndpointOptions {
  /** Environment read for DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A connection to one Docker engine.
 *
 * @example
 * const engine = new DockerEngine();            // DOCKER_HOST, else /var/run/docker.sock
 * await engine.ping();                          // { apiVersion: '1.41', version: '20.10.24+dfsg1', … }
 * await engine.image.build({ contextDir, files: ['Dockerfile', 'app.js'], tag: 'demo:1' });
 */
export class DockerEngine {
  readonly endpoint: EngineEndpoint;
  readonly image: ImageClient;
  readonly container: ContainerClient;
  readonly network: NetworkClient;
  readonly volume: VolumeClient;
  readonly swarm: SwarmClient;
  readonly #api: Api;

  constructor(options: EngineOptions = {}) {
    this.endpoint = resolveEndpoint(options, options.env ?? process.env);
    this.#api = new Api(createDockerode(this.endpoint), this.endpoint);
    this.image = new DockerImageClient(this.#api);
    this.container = new DockerContainerClient(this.#api);
    this.network = new DockerNetworkClient(this.#api);
    this.volume = new DockerVolumeClient(this.#api);
    this.swarm = new DockerSwarmClient(this.#api);
  }

  /**
   * Asks the engine for its version; rejects with an {@link EngineUnreachableError} when nothing answers within
   * `timeoutMs` (default 5000).
   */
  async ping(options: { timeoutMs?: number } = {}): Promise<EngineInfo> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const version = await this.#api.call('ping', async (docker) => {
      try {
        // dockerode accepts an abort signal here, but its type declarations do not say so.
        const version = docker.version.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
        return await version({ abortSignal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        if (isAbort(error)) throw new EngineUnreachableError(this.endpoint.display, `no answer within ${timeoutMs} ms`, { cause: error });
        throw error;
      }
    });
    return { apiVersion: version.ApiVersion, version: version.Version, os: version.Os, arch: version.Arch };
  }

  /** CPUs, memory and data directory of the engine's machine (`GET /info`). */
  async info(): Promise<EngineHostInfo> {
    const info = (await this.#api.call('info', (docker) => docker.info())) as {
      NCPU?: number;
      MemTotal?: number;
      DockerRootDir?: string;
      RegistryConfig?: { InsecureRegistryCIDRs?: string[] | null; IndexConfigs?: Record<string, { Name?: string; Secure?: boolean }> | null };
    };
    const registry = info.RegistryConfig ?? {};
    return {
      cpus: info.NCPU ?? 0,
      memTotalBytes: info.MemTotal ?? 0,
      dockerRootDir: info.DockerRootDir || undefined,
      insecureRegistries: {
        cidrs: registry.InsecureRegistryCIDRs ?? [],
        names: Object.entries(registry.IndexConfigs ?? {}).filter(([, c]) => c.Secure === false).map(([name]) => name),
      },
    };
  }

  /** Shorthand for `engine.image.exists(tag)`. */
  imageExists(tag: string): Promise<boolean> {
    return this.image.exists(tag);
  }

  /** Shorthand for `engine.image.inspect(tag)`. */
  imageInspect(tag: string): Promise<ImageInfo> {
    return this.image.inspect(tag);
  }

  /** Image disk usage with shared layers counted once (the engine's `/system/df`). */
  async diskUsage(): Promise<DiskUsage> {
    const df = (await this.#api.call('disk usage', (docker) => docker.df())) as {
      LayersSize?: number;
      Images?: Array<{ Id: string; RepoTags?: string[] | null; Size: number; SharedSize: number }>;
    };
    return {
      layersSizeBytes: df.LayersSize ?? 0,
      images: (df.Images ?? []).map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], sizeBytes: i.Size, sharedSizeBytes: i.SharedSize })),
    };
  }

  /** Shorthand for `engine.image.build(options)`. */
  buildImage(options: BuildImageOptions): Promise<ImageBuildResult> {
    return this.image.build(options);
  }
}

function createDockerode(endpoint: EngineEndpoint): Docker {
  if (endpoint.kind === 'socket') return new Docker({ socketPath: endpoint.socketPath });
  if (endpoint.protocol === 'http') return new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'http' });
  const certPath = endpoint.certPath;
  const read = (file: string): Buffer | undefined => (certPath === undefined ? undefined : readFileSync(path.join(certPath, file)));
  return new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') });
}

/** Errors a socket gives when no engine is there to answer. */
const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

interface ModemError extends Error {
  code?: string;
  statusCode?: number;
  json?: unknown;
  reason?: string;
}

/** Wraps every engine call in the same debug lines and error translation. */
class Api {
  readonly docker: Docker;
  readonly endpoint: EngineEndpoint;

  constructor(docker: Docker, endpoint: EngineEndpoint) {
    this.docker = docker;
    this.endpoint = endpoint;
  }

  async call<T>(operation: string, fn: (docker: Docker) => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    debug('Starting %s…', operation);
    try {
      const result = await fn(this.docker);
      debug('Done %s (%d ms)', operation, Math.round(performance.now() - startedAt));
      return result;
    } catch (error) {
      const translated = this.translate(operation, error);
      debug('Failed %s: %s', operation, translated.message);
      throw translated;
    }
  }

  /** Maps dockerode/modem errors to the typed errors of this module; typed errors pass through. */
  translate(operation: string, error: unknown): Error {
    if (error instanceof EngineUnreachableError || error instanceof ImageBuildError || error instanceof DockerApiError) return error;
    const modemError = error as ModemError;
    if (modemError.statusCode === undefined && modemError.code !== undefined && UNREACHABLE_CODES.has(modemError.code)) {
      return new EngineUnreachableError(this.endpoint.display, modemError.message, { cause: error });
    }
    if (modemError.statusCode !== undefined) {
      return new DockerApiError(operation, engineMessage(modemError), modemError.statusCode, { cause: error });
    }
    return new DockerApiError(operation, error instanceof Error ? error.message : String(error), undefined, { cause: error });
  }
}

/** The engine's own words from an error response (`{"message": "…"}`), else the modem's summary. */
function engineMessage(error: ModemError): string {
  const json = error.json;
  if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  return error.reason ?? error.message;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function isNotFound(error: unknown): boolean {
  return error instanceof DockerApiError && error.statusCode === 404;
}

/** Reads a JSON progress stream to its end, handing each event to the callbacks. */
async function followProgress(
  stream: Readable,
  on: { output: (line: string) => void; error: (message: string) => void; imageId: (id: string) => void },
): Promise<void> {
  const decoder = new JsonLinesDecoder();
  stream.setEncoding('utf8');
  const handle = (messages: unknown[]): void => {
    for (const message of messages) {
      for (const event of interpretProgress(message)) {
        if (event.kind === 'output') for (const line of outputLines(event.text)) on.output(line);
        else if (event.kind === 'error') on.error(event.message);
        else on.imageId(event.id);
      }
    }
  };
  for await (const chunk of stream) handle(decoder.push(chunk as string));
  handle(decoder.end());
}

class DockerImageClient implements ImageClient {
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  async exists(tag: string): Promise<boolean> {
    try {
      await this.inspect(tag);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async history(tag: string): Promise<ImageHistoryEntry[]> {
    const entries = (await this.#api.call(`history of image ${tag}`, (docker) => docker.getImage(tag).history())) as Array<{ CreatedBy?: string; Size?: number }>;
    return entries.map((e) => ({ createdBy: e.CreatedBy ?? '', sizeBytes: e.Size ?? 0 }));
  }

  async inspect(tag: string): Promise<ImageInfo> {
    const info = await this.#api.call(`inspect image ${tag}`, (docker) => docker.getImage(tag).inspect());
    return {
      id: info.Id,
      tags: info.RepoTags ?? [],
      sizeBytes: info.Size,
      createdAt: info.Created,
      labels: { ...(info.Config?.Labels ?? {}) },
      user: info.Config?.User ?? '',
      layers: info.RootFS?.Layers ?? [],
    };
  }

  async list(): Promise<string[]> {
    const images = await this.#api.call('list images', (docker) => docker.listImages({ all: false }));
    return images.map((i) => i.Id);
  }

  async build(options: BuildImageOptions): Promise<ImageBuildResult> {
    const { tag } = options;
    const dockerfile = options.dockerfile ?? 'Dockerfile';
    const files = await checkBuildContext(options.contextDir, options.files, dockerfile);
    const startedAt = performance.now();
    const tail = new LineTail(20);
    let failure: string | undefined;
    let imageId: string | undefined;
    await this.#api.call(`build image ${tag}`, async (docker) => {
      // GNU tar rather than dockerode's {context, src}: tar-fs applies the umask to every mode (a 1777 /tmp
      // arrives as 1755) and dockerode gzips the context, which costs seconds of CPU for a 100 MB binary.
      const tar = runStreaming('tar', ['--numeric-owner', '-C', options.contextDir, '-c', '--', ...files]);
      // Observed below once the engine has read the context; this keeps an early failure from going unhandled.
      tar.completed.catch(() => undefined);
      let stream: Readable;
      try {
        stream = (await docker.buildImage(tar.stdout, {
          t: tag,
          dockerfile,
          buildargs: options.buildArgs ?? {},
          labels: options.labels ?? {},
          nocache: options.noCache ?? false,
          rm: true,
          // Intermediate containers of a failed step are removed too, so a failed build leaves nothing behind.
          forcerm: true,
          abortSignal: options.signal,
        })) as Readable;
      } catch (error) {
        tar.stdout.destroy();
        const translated = this.#api.translate(`build image ${tag}`, error);
        // The engine refuses some builds before streaming (bad Dockerfile path, syntax error): that is a build error.
        if (translated instanceof DockerApiError) throw new ImageBuildError(tag, engineMessage(error as ModemError), [], { cause: error });
        throw translated;
      }
      await followProgress(stream, {
        output: (line) => {
          tail.push(`${line}\n`);
          options.onOutput?.(line);
        },
        error: (message) => {
          failure ??= message;
        },
        imageId: (id) => {
          imageId = id;
        },
      });
      await tar.completed;
    });
    if (failure !== undefined) throw new ImageBuildError(tag, failure, tail.lines());
    imageId ??= (await this.inspect(tag)).id;
    return { tag, imageId, durationMs: Math.round(performance.now() - startedAt) };
  }

  async import(options: ImportImageOptions): Promise<ImageBuildResult> {
    const { tag } = options;
    const { repository, tag: version } = splitImageTag(tag);
    const startedAt = performance.now();
    let failure: string | undefined;
    let imageId: string | undefined;
    await this.#api.call(`import image ${tag}`, async (docker) => {
      // dockerode pipes a stream given here into the request; its type declarations only mention a file path.
      const stream = (await docker.importImage(options.tarStream as unknown as string, {
        repo: repository,
        tag: version,
        changes: [...(options.changes ?? [])],
        abortSignal: options.signal,
      })) as Readable;
      await followProgress(stream, {
        output: (line) => options.onOutput?.(line),
        error: (message) => {
          failure ??= message;
        },
        imageId: (id) => {
          imageId = id;
        },
      });
    });
    if (failure !== undefined) throw new DockerApiError(`import image ${tag}`, failure, undefined);
    imageId ??= (await this.inspect(tag)).id;
    return { tag, imageId, durationMs: Math.round(performance.now() - startedAt) };
  }

  async remove(tag: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.#api.call(`remove image ${tag}`, (docker) => docker.getImage(tag).remove({ force: options.force ?? false }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async save(names: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Readable> {
    if (names.length === 0) throw new TypeError('Expected `names` to list at least one image');
    const what = names.length === 1 ? `image ${names[0]}` : `${names.length} images`;
    return this.#api.call(`save ${what}`, (docker) => {
      // dockerode has getImages (GET /images/get?names=a&names=b), but its type declarations do not.
      const { getImages } = docker as unknown as { getImages: (opts: { names: string[]; abortSignal?: AbortSignal }) => Promise<Readable> };
      return getImages.call(docker, { names: [...names], abortSignal: options.signal });
    });
  }

  async pull(reference: string, options: { signal?: AbortSignal } = {}): Promise<ImagePullResult> {
    const startedAt = performance.now();
    const layers = new Map<string, 'downloaded' | 'present'>();
    let failure: string | undefined;
    await this.#api.call(`pull ${reference}`, async (docker) => {
      const stream = (await docker.pull(reference, { abortSignal: options.signal })) as Readable;
      const decoder = new JsonLinesDecoder();
      // Not followProgress: a pull's messages say which layer they are about in `id`, beside `status`.
      const handle = (messages: unknown[]) => {
        for (const message of messages) {
          const m = (typeof message === 'object' && message !== null ? message : {}) as { id?: unknown; status?: unknown; error?: unknown };
          if (typeof m.error === 'string') failure ??= m.error.trim();
          if (typeof m.id !== 'string' || typeof m.status !== 'string') continue;
          if (m.status === 'Already exists') layers.set(m.id, 'present');
          else if (m.status === 'Pull complete' || m.status === 'Download complete') layers.set(m.id, 'downloaded');
        }
      };
      stream.setEncoding('utf8');
      for await (const chunk of stream) handle(decoder.push(chunk as string));
      handle(decoder.end());
    });
    if (failure !== undefined) throw new DockerApiError(`pull ${reference}`, failure, undefined);
    return { layers, durationMs: Math.round(performance.now() - startedAt) };
  }

  async tag(source: string, target: string): Promise<void> {
    const { repository, tag } = splitImageTag(target);
    await this.#api.call(`tag ${source} as ${target}`, (docker) => docker.getImage(source).tag({ repo: repository, tag }));
  }

  async load(archive: Readable, options: { signal?: AbortSignal } = {}): Promise<ImageLoadResult> {
    const startedAt = performance.now();
    const loaded: string[] = [];
    let failure: string | undefined;
    await this.#api.call('load images', async (docker) => {
      // quiet: no per-layer progress bars, only the engine's "Loaded image: <tag>" lines.
      const stream = (await docker.loadImage(archive, { quiet: true, abortSignal: options.signal })) as Readable;
      await followProgress(stream, {
        output: (line) => {
          const match = /^Loaded image(?: ID)?: (\S+)$/.exec(line);
          if (match?.[1] !== undefined) loaded.push(match[1]);
        },
        // The engine reports a corrupt archive in the stream after answering 200, not as an HTTP error.
        error: (message) => {
          failure ??= message;
        },
        imageId: () => undefined,
      });
    });
    if (failure !== undefined) throw new DockerApiError('load images', failure, undefined);
    return { loaded, durationMs: Math.round(performance.now() - startedAt) };
  }
}

/**
 * Checks the build context up front and returns the entries to send: each listed path must be relative, stay
 * inside `contextDir` and exist; the Dockerfile is added when no listed path covers it.
 */
async function checkBuildContext(contextDir: string, files: readonly string[], dockerfile: string): Promise<string[]> {
  const contextStat = await stat(contextDir).catch(() => undefined);
  if (!contextStat?.isDirectory()) throw new TypeError(`Expected \`contextDir\` to be an existing directory, got ${contextDir}`);
  if (files.length === 0) throw new TypeError('Expected `files` to list at least one path of the build context');
  const entries: string[] = [];
  for (const file of [...files, dockerfile]) {
    const normalized = path.posix.normalize(file.replaceAll('\\', '/')).replace(/\/$/, '');
    if (path.isAbsolute(file) || normalized === '..' || normalized.startsWith('../')) {
      throw new TypeError(`Expected build context paths relative to contextDir and inside it, got ${file}`);
    }
    const covered = entries.some((entry) => entry === '.' || normalized === entry || normalized.startsWith(`${entry}/`));
    if (covered) continue;
    const fileStat = await stat(path.join(contextDir, normalized)).catch(() => undefined);
    if (!fileStat) throw new TypeError(`Build context path ${normalized} does not exist in ${contextDir}`);
    entries.push(normalized);
  }
  return entries;
}

class DockerContainerClient implements ContainerClient {
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  async create(spec: ContainerSpec): Promise<string> {
    const exposedPorts: Record<string, object> = {};
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const port of spec.publish ?? []) {
      const key = `${port.containerPort}/${port.protocol ?? 'tcp'}`;
      exposedPorts[key] = {};
      // Published on loopback only: nothing n3xus runs is meant to be reached from outside this machine.
      portBindings[key] = [{ HostIp: '127.0.0.1', HostPort: port.hostPort === undefined ? '' : String(port.hostPort) }];
    }
    const msToNs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms * 1_000_000);
    const health = spec.healthcheck;
    const label = spec.name ?? spec.image;
    const container = await this.#api.call(`create container ${label}`, (docker) =>
      docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: spec.cmd ? [...spec.cmd] : undefined,
        Entrypoint: spec.entrypoint ? [...spec.entrypoint] : undefined,
        Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
        Labels: spec.labels ?? {},
        User: spec.user,
        ExposedPorts: exposedPorts,
        Healthcheck: health && {
          Test: [...health.test],
          Interval: msToNs(health.intervalMs),
          Timeout: msToNs(health.timeoutMs),
          Retries: health.retries,
          StartPeriod: msToNs(health.startPeriodMs),
          // Not in @types/dockerode yet; the engine reads it from API 1.44 on and ignores it before.
          ...(health.startIntervalMs === undefined ? {} : { StartInterval: msToNs(health.startIntervalMs) }),
        },
        HostConfig: {
          PortBindings: portBindings,
          NetworkMode: spec.network,
          RestartPolicy: spec.restartPolicy && { Name: spec.restartPolicy.name, MaximumRetryCount: spec.restartPolicy.maximumRetryCount ?? 0 },
          Memory: spec.memoryBytes,
          NanoCpus: spec.nanoCpus,
          PidsLimit: spec.pidsLimit,
          ShmSize: spec.shmSizeBytes,
          LogConfig: spec.logConfig && { Type: spec.logConfig.type, Config: { ...spec.logConfig.config } },
          ReadonlyRootfs: spec.readOnlyRootfs,
          Tmpfs: spec.tmpfs,
          CapAdd: spec.capAdd ? [...spec.capAdd] : undefined,
          CapDrop: spec.capDrop ? [...spec.capDrop] : undefined,
          SecurityOpt: spec.securityOpt ? [...spec.securityOpt] : undefined,
          Mounts: spec.mounts?.map((m) => ({ Type: m.type, Source: m.source ?? '', Target: m.target, ReadOnly: m.readOnly ?? false })),
        },
        NetworkingConfig:
          spec.network === undefined ? undefined : { EndpointsConfig: { [spec.network]: { Aliases: [...(spec.networkAliases ?? [])] } } },
      }),
    );
    // The engine takes one network at create (before API 1.44); the others are connected before the first start,
    // as compose does. A container that cannot join them all is removed: none is left half made.
    try {
      for (const network of spec.extraNetworks ?? []) {
        await this.#api.call(`connect container ${label} to network ${network}`, (docker) =>
          docker.getNetwork(network).connect({ Container: container.id, EndpointConfig: { Aliases: [...(spec.networkAliases ?? [])] } }),
        );
      }
    } catch (error) {
      await this.#api.call(`remove container ${label}`, (docker) => docker.getContainer(container.id).remove({ force: true })).catch(() => undefined);
      throw error;
    }
    return container.id;
  }

  async start(id: string): Promise<void> {
    await this.#api.call(`start container ${short(id)}`, (docker) => docker.getContainer(id).start());
  }

  async wait(id: string, options: { timeoutMs?: number } = {}): Promise<{ exitCode: number }> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const result = await this.#api.call(`wait for container ${short(id)}`, async (docker) => {
      try {
        return (await docker.getContainer(id).wait({ abortSignal: AbortSignal.timeout(timeoutMs) })) as { StatusCode: number };
      } catch (error) {
        if (isAbort(error)) throw new DockerApiError(`wait for container ${short(id)}`, `still running after ${timeoutMs} ms`, undefined);
        throw error;
      }
    });
    return { exitCode: result.StatusCode };
  }

  async logs(id: string, options: { tailLines?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    const buffer = await this.#api.call(`read logs of container ${short(id)}`, (docker) =>
      docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, ...(options.tailLines === undefined ? {} : { tail: options.tailLines }) }),
    );
    return demuxLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)));
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const info = await this.#api.call(`inspect container ${short(id)}`, (docker) => docker.getContainer(id).inspect());
    return summarizeContainer(info as unknown as ContainerInspectInput);
  }

  async list(filter: { labels: Record<string, string | undefined> }): Promise<ContainerInfo[]> {
    const entries = await this.#api.call('list containers', (docker) =>
      docker.listContainers({ all: true, filters: { label: labelFilter(filter.labels) } }),
    );
    return entries.map((entry) => summarizeListedContainer(entry as unknown as ContainerListInput));
  }

  async pause(id: string): Promise<void> {
    await this.#api.call(`pause container ${short(id)}`, (docker) => docker.getContainer(id).pause());
  }

  async unpause(id: string): Promise<void> {
    await this.#api.call(`unpause container ${short(id)}`, (docker) => docker.getContainer(id).unpause());
  }

  async stop(id: string, options: { timeoutS?: number } = {}): Promise<void> {
    try {
      await this.#api.call(`stop container ${short(id)}`, (docker) => docker.getContainer(id).stop({ t: options.timeoutS ?? 10 }));
    } catch (error) {
      // 304: already stopped; 404: gone. Either way it is not running, which is what the caller wants.
      if (!(error instanceof DockerApiError && (error.statusCode === 304 || error.statusCode === 404))) throw error;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.#api.call(`remove container ${short(id)}`, (docker) => docker.getContainer(id).remove({ force: true, v: true }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async logStream(id: string, options: LogStreamOptions): Promise<Readable> {
    const query = { stdout: true, stderr: true, timestamps: options.timestamps ?? false, ...(options.tailLines === undefined ? {} : { tail: options.tailLines }) };
    return this.#api.call(`${options.follow ? 'follow' : 'read'} logs of container ${short(id)}`, async (docker) => {
      if (options.follow) return (await docker.getContainer(id).logs({ ...query, follow: true })) as unknown as Readable;
      // Without follow, dockerode reads the whole answer into one buffer instead of streaming it.
      const buffer = await docker.getContainer(id).logs({ ...query, follow: false });
      return Readable.from([Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer))]);
    });
  }

  async watch(options: ContainerWatchOptions): Promise<void> {
    const { signal } = options;
    const operation = 'watch container events';
    let stream: Readable;
    try {
      // No `since` (the engine's clock need not be ours): the engine subscribes as it answers, long before the
      // caller's next request (a start) can reach it.
      stream = (await this.#api.call(operation, (docker) =>
        docker.getEvents({ filters: { type: ['container'], event: [...options.actions], label: labelFilter(options.labels) }, abortSignal: signal }),
      )) as Readable;
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    const decoder = new JsonLinesDecoder();
    const deliver = (messages: unknown[]): void => {
      for (const message of messages) {
        const event = summarizeContainerEvent(message);
        if (event === undefined) continue;
        debug('Event %s of container %s', event.action, short(event.id));
        options.onEvent(event);
      }
    };
    const broken = (error: Error): void => {
      if (!signal.aborted) options.onError?.(error);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => deliver(decoder.push(chunk)));
    stream.on('error', (error) => broken(this.#api.translate(operation, error)));
    stream.on('end', () => {
      deliver(decoder.end());
      broken(new DockerApiError(operation, 'the engine closed the event stream', undefined));
    });
    if (signal.aborted) stream.destroy();
    else signal.addEventListener('abort', () => stream.destroy(), { once: true });
  }
}

class DockerVolumeClient implements VolumeClient {
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  async create(options: { name: string; labels?: Record<string, string> }): Promise<string> {
    // Creating an existing local volume is a no-op for the engine, which is what a re-run wants.
    await this.#api.call(`create volume ${options.name}`, (docker) => docker.createVolume({ Name: options.name, Labels: options.labels ?? {} }));
    return options.name;
  }

  async list(filter: { labels: Record<string, string | undefined> }): Promise<{ name: string; labels: Record<string, string> }[]> {
    const result = (await this.#api.call('list volumes', (docker) => docker.listVolumes({ filters: { label: labelFilter(filter.labels) } }))) as {
      Volumes?: Array<{ Name: string; Labels?: Record<string, string> | null }> | null;
    };
    return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: { ...(v.Labels ?? {}) } }));
  }

  async remove(name: string): Promise<void> {
    try {
      await this.#api.call(`remove volume ${name}`, (docker) => docker.getVolume(name).remove());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

class DockerNetworkClient implements NetworkClient {
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  async create(options: { name: string; labels?: Record<string, string>; internal?: boolean; driver?: 'bridge' | 'overlay'; attachable?: boolean }): Promise<string> {
    const network = await this.#api.call(`create network ${options.name}`, (docker) =>
      docker.createNetwork({
        Name: options.name,
        Driver: options.driver ?? 'bridge',
        Labels: options.labels ?? {},
        Internal: options.internal ?? false,
        Attachable: options.attachable ?? false,
        CheckDuplicate: true,
      }),
    );
    return network.id;
  }

  async list(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string>; driver: string; scope: string; internal: boolean }[]> {
    const networks = await this.#api.call('list networks', (docker) => docker.listNetworks({ filters: { label: labelFilter(filter.labels) } }));
    return networks.map((network) => ({ id: network.Id, name: network.Name, labels: { ...(network.Labels ?? {}) }, driver: network.Driver ?? '', scope: network.Scope ?? '', internal: network.Internal === true }));
  }

  async remove(idOrName: string): Promise<void> {
    try {
      await this.#api.call(`remove network ${idOrName}`, (docker) => docker.getNetwork(idOrName).remove());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async attached(idOrName: string): Promise<string[]> {
    const info = (await this.#api.call(`inspect network ${idOrName}`, (docker) => docker.getNetwork(idOrName).inspect())) as { Containers?: Record<string, { Name?: string }> | null };
    return Object.values(info.Containers ?? {}).map((c) => c.Name ?? '');
  }
}

/** The part of `GET /services/{id}` that {@link summarizeService} reads. */
interface ServiceInput {
  ID: string;
  Version?: { Index?: number };
  UpdatedAt?: string;
  Spec?: { Name?: string; Labels?: Record<string, string> | null; Mode?: { Replicated?: { Replicas?: number } }; TaskTemplate?: { ContainerSpec?: { Image?: string } } };
}

function summarizeService(s: ServiceInput): SwarmServiceInfo {
  return {
    id: s.ID,
    name: s.Spec?.Name ?? '',
    version: s.Version?.Index ?? 0,
    labels: { ...(s.Spec?.Labels ?? {}) },
    replicas: s.Spec?.Mode?.Replicated === undefined ? undefined : (s.Spec.Mode.Replicated.Replicas ?? 1),
    image: s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '',
    updatedAt: s.UpdatedAt ?? '',
    spec: (s.Spec ?? {}) as Record<string, unknown>,
  };
}

/** The part of `GET /tasks` entries that {@link summarizeTask} reads. */
interface TaskInput {
  ID: string;
  ServiceID?: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { Timestamp?: string; State?: string; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[] | null;
}

function summarizeTask(t: TaskInput): SwarmTaskInfo {
  const addresses: Record<string, string[]> = {};
  for (const attachment of t.NetworksAttachments ?? []) {
    const name = attachment.Network?.Spec?.Name;
    if (name !== undefined) addresses[name] = (attachment.Addresses ?? []).map((a) => a.replace(/\/\d+$/, ''));
  }
  return {
    id: t.ID,
    serviceId: t.ServiceID ?? '',
    slot: t.Slot,
    nodeId: t.NodeID ?? '',
    desiredState: t.DesiredState ?? '',
    state: t.Status?.State ?? '',
    message: t.Status?.Message ?? '',
    error: t.Status?.Err || undefined,
    exitCode: t.Status?.ContainerStatus?.ExitCode,
    containerId: t.Status?.ContainerStatus?.ContainerID || undefined,
    addresses,
    timestamp: t.Status?.Timestamp ?? '',
  };
}

class DockerSwarmClient implements SwarmClient {
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  async state(): Promise<SwarmState> {
    const info = (await this.#api.call('info', (docker) => docker.info())) as {
      Swarm?: { LocalNodeState?: string; NodeID?: string; NodeAddr?: string; ControlAvailable?: boolean; Nodes?: number; Managers?: number };
    };
    const swarm = info.Swarm ?? {};
    return {
      state: swarm.LocalNodeState || 'inactive',
      nodeId: swarm.NodeID ?? '',
      manager: swarm.ControlAvailable ?? false,
      nodeAddr: swarm.NodeAddr ?? '',
      nodes: swarm.Nodes ?? 0,
      managers: swarm.Managers ?? 0,
    };
  }

  async init(options: { advertiseAddr: string; listenAddr?: string }): Promise<string> {
    const id = await this.#api.call('swarm init', (docker) =>
      docker.swarmInit({ AdvertiseAddr: options.advertiseAddr, ListenAddr: options.listenAddr ?? `${options.advertiseAddr}:2377`, ForceNewCluster: false }),
    );
    return String(id);
  }

  async leave(options: { force?: boolean } = {}): Promise<void> {
    await this.#api.call('swarm leave', (docker) => docker.swarmLeave({ force: options.force ?? false }));
  }

  async createService(spec: Record<string, unknown>): Promise<string> {
    const created = await this.#api.call(`create service ${String(spec.Name)}`, (docker) => docker.createService(spec as unknown as Docker.CreateServiceOptions));
    return created.id ?? (created as unknown as { ID: string }).ID;
  }

  async updateService(id: string, version: number, spec: Record<string, unknown>): Promise<void> {
    await this.#api.call(`update service ${String(spec.Name ?? id)}`, (docker) => docker.getService(id).update({ _query: { version }, _body: spec }));
  }

  async inspectService(id: string): Promise<SwarmServiceInfo> {
    return summarizeService((await this.#api.call(`inspect service ${id}`, (docker) => docker.getService(id).inspect())) as ServiceInput);
  }

  async listServices(filter: { labels: Record<string, string | undefined> }): Promise<SwarmServiceInfo[]> {
    const list = await this.#api.call('list services', (docker) => docker.listServices({ filters: { label: labelFilter(filter.labels) } }));
    return (list as unknown as ServiceInput[]).map(summarizeService);
  }

  async removeService(id: string): Promise<void> {
    try {
      await this.#api.call(`remove service ${id}`, (docker) => docker.getService(id).remove());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listTasks(filter: { services: readonly string[] }): Promise<SwarmTaskInfo[]> {
    if (filter.services.length === 0) return [];
    const list = await this.#api.call('list tasks', (docker) => docker.listTasks({ filters: { service: [...filter.services] } }));
    return (list as TaskInput[]).map(summarizeTask);
  }

  async serviceLogStream(id: string, options: LogStreamOptions): Promise<Readable> {
    const query = { stdout: true, stderr: true, timestamps: options.timestamps ?? false, ...(options.tailLines === undefined ? {} : { tail: options.tailLines }) };
    return this.#api.call(`${options.follow ? 'follow' : 'read'} logs of service ${id}`, async (docker) => {
      if (options.follow) return (await docker.getService(id).logs({ ...query, follow: true })) as unknown as Readable;
      const answer = (await docker.getService(id).logs({ ...query, follow: false })) as unknown;
      return Buffer.isBuffer(answer) ? Readable.from([answer]) : (answer as Readable);
    });
  }

  async createSecret(options: { name: string; data: string; labels?: Record<string, string> }): Promise<string> {
    const created = (await this.#api.call(`create secret ${options.name}`, (docker) =>
      docker.createSecret({ Name: options.name, Data: Buffer.from(options.data).toString('base64'), Labels: options.labels ?? {} }),
    )) as { id?: string; ID?: string };
    return created.id ?? created.ID ?? '';
  }

  async listSecrets(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const list = (await this.#api.call('list secrets', (docker) => docker.listSecrets({ filters: { label: labelFilter(filter.labels) } }))) as unknown as {
      ID: string;
      Spec?: { Name?: string; Labels?: Record<string, string> | null };
    }[];
    return list.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? '', labels: { ...(s.Spec?.Labels ?? {}) } }));
  }

  async removeSecret(id: string): Promise<void> {
    try {
      await this.#api.call(`remove secret ${id}`, (docker) => docker.getSecret(id).remove());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listConfigs(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const list = (await this.#api.call('list configs', (docker) => docker.listConfigs({ filters: { label: labelFilter(filter.labels) } }))) as unknown as {
      ID: string;
      Spec?: { Name?: string; Labels?: Record<string, string> | null };
    }[];
    return list.map((c) => ({ id: c.ID, name: c.Spec?.Name ?? '', labels: { ...(c.Spec?.Labels ?? {}) } }));
  }

  async removeConfig(id: string): Promise<void> {
    try {
      await this.#api.call(`remove config ${id}`, (docker) => docker.getConfig(id).remove());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listNodes(): Promise<SwarmNodeInfo[]> {
    const list = (await this.#api.call('list nodes', (docker) => docker.listNodes())) as {
      ID: string;
      Version?: { Index?: number };
      Description?: { Hostname?: string };
      Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> | null };
      Status?: { State?: string };
    }[];
    return list.map((n) => ({
      id: n.ID,
      version: n.Version?.Index ?? 0,
      hostname: n.Description?.Hostname ?? '',
      role: n.Spec?.Role ?? '',
      availability: n.Spec?.Availability ?? '',
      state: n.Status?.State ?? '',
      labels: { ...(n.Spec?.Labels ?? {}) },
      spec: (n.Spec ?? {}) as Record<string, unknown>,
    }));
  }

  async updateNodeLabels(node: SwarmNodeInfo, labels: Record<string, string>): Promise<void> {
    await this.#api.call(`update node ${node.hostname || node.id}`, (docker) => docker.getNode(node.id).update({ _query: { version: node.version }, _body: { ...node.spec, Labels: labels } }));
  }
}

function short(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}
