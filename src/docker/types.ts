import type { Readable } from 'node:stream';
import type { ContainerEvent, ContainerInfo } from './inspect.ts';

/** What the engine says about itself. */
export interface EngineInfo {
  /** API version the engine speaks, e.g. `1.41`. */
  apiVersion: string;
  /** Engine version, e.g. `20.10.24+dfsg1`. */
  version: string;
  os: string;
  arch: string;
}

/** What the engine reports about the machine it runs on (`docker info`). */
export interface EngineHostInfo {
  /** CPUs the engine can use. */
  cpus: number;
  /** Memory of the engine's machine (or VM), in bytes. */
  memTotalBytes: number;
  /** Where the engine keeps images, containers and volumes, e.g. `/var/lib/docker`; undefined when not reported. */
  dockerRootDir: string | undefined;
  /** Registries the engine talks to over plain HTTP: CIDRs (`127.0.0.0/8` by default) and `host:port` names. */
  insecureRegistries: { cidrs: string[]; names: string[] };
}

/** An image as the engine stores it. */
export interface ImageInfo {
  /** `sha256:…` */
  id: string;
  tags: string[];
  /** Uncompressed size in bytes, as `docker images` shows it. */
  sizeBytes: number;
  /** ISO 8601 creation time. */
  createdAt: string;
  labels: Record<string, string>;
  /** The user its processes run as (`USER`), '' for root. */
  user: string;
  /** Its layers' diff IDs (`sha256:…`), bottom first. */
  layers: string[];
}

/** Options of {@link ImageClient.build}. */
export interface BuildImageOptions {
  /** Directory the build context is taken from. */
  contextDir: string;
  /**
   * Paths relative to `contextDir` to put in the context (directories are included whole); nothing else is sent.
   * The Dockerfile is added when not already covered.
   */
  files: readonly string[];
  /** Dockerfile path relative to `contextDir`; default `Dockerfile`. */
  dockerfile?: string;
  /** `name:tag` to give the image. */
  tag: string;
  /** Values for the Dockerfile's `ARG`s. */
  buildArgs?: Record<string, string>;
  /** Labels set on the image (in addition to the Dockerfile's `LABEL`s). */
  labels?: Record<string, string>;
  /** Build without the layer cache; default false. */
  noCache?: boolean;
  /** Called with each line of build output as it arrives. */
  onOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/** A finished build or import. */
export interface ImageBuildResult {
  tag: string;
  /** `sha256:…` */
  imageId: string;
  durationMs: number;
}

/** Options of {@link ImageClient.import}: turns a root filesystem tarball into a one-layer image. */
export interface ImportImageOptions {
  /** `name:tag` to give the image. */
  tag: string;
  /** An uncompressed (or gzip) tar stream of the root filesystem. */
  tarStream: Readable;
  /** Dockerfile instructions applied to the image config, e.g. `CMD ["bash"]`, `LABEL a=b`, `ENV PATH=…`. */
  changes?: readonly string[];
  onOutput?: (line: string) => void;
  signal?: AbortSignal;
}

/** Images: the calls base and service image builds need. */
export interface ImageClient {
  /** True when an image with this tag or ID exists locally. */
  exists(tag: string): Promise<boolean>;
  /** Rejects with a DockerApiError (statusCode 404) when the image does not exist. */
  inspect(tag: string): Promise<ImageInfo>;
  /** The IDs of every image the engine has. */
  list(): Promise<string[]>;
  /** Builds from a Dockerfile, sending only the listed files; a failed step rejects with an ImageBuildError. */
  build(options: BuildImageOptions): Promise<ImageBuildResult>;
  /** Imports a root filesystem tarball (`docker import`). */
  import(options: ImportImageOptions): Promise<ImageBuildResult>;
  /** Removes an image; resolves when it does not exist. */
  remove(tag: string, options?: { force?: boolean }): Promise<void>;
  /** The image's layers, newest first, each with the instruction that made it and its size. */
  history(tag: string): Promise<ImageHistoryEntry[]>;
  /**
   * One tar archive of the images (`docker save`, `GET /images/get`), as the engine streams it; every name must
   * exist. Destroy the stream, or abort `signal`, to stop.
   */
  save(names: readonly string[], options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Loads a `docker save` archive (`docker load`); an archive the engine cannot read rejects with a DockerApiError. */
  load(archive: Readable, options?: { signal?: AbortSignal }): Promise<ImageLoadResult>;
  /**
   * Pulls `reference` (`registry/name:tag`) from its registry; resolves with what became of each layer (by the
   * short ID the engine reports: the first 12 hex digits of the blob's digest). A failed pull rejects with a
   * DockerApiError carrying the engine's message.
   */
  pull(reference: string, options?: { signal?: AbortSignal }): Promise<ImagePullResult>;
  /** Gives the image `source` the name `target` (`name:tag`), as `docker tag` does. */
  tag(source: string, target: string): Promise<void>;
}

/** What a pull did. */
export interface ImagePullResult {
  /** Layers by short ID: downloaded, or already there. */
  layers: Map<string, 'downloaded' | 'present'>;
  durationMs: number;
}

/** What a `docker load` loaded. */
export interface ImageLoadResult {
  /** Tags of the loaded images, and `sha256:…` IDs of loaded images without a tag, as the engine reports them. */
  loaded: string[];
  durationMs: number;
}

/** Options of {@link ContainerClient.logStream}. */
export interface LogStreamOptions {
  /** Keep the stream open until the container stops; false: only what it has printed so far. */
  follow: boolean;
  /** Only the last N lines printed so far; default: all. */
  tailLines?: number;
  /** Prefix each line with the engine's RFC 3339 timestamp; default false. */
  timestamps?: boolean;
}

/** Options of {@link ContainerClient.watch}. */
export interface ContainerWatchOptions {
  /** Only containers carrying all these labels (value `undefined` matches any value). */
  labels: Record<string, string | undefined>;
  /** Only these actions, e.g. `['start', 'die']`. */
  actions: readonly string[];
  /** Each event, in the order the engine sent them. */
  onEvent: (event: ContainerEvent) => void;
  /** The stream broke (the engine went away) before `signal` aborted: events after that are not seen. */
  onError?: (error: Error) => void;
  /** Ends the watch. */
  signal: AbortSignal;
}

/** One layer of an image's history. */
export interface ImageHistoryEntry {
  createdBy: string;
  sizeBytes: number;
}

/** What images take on disk, as the engine accounts it (`docker system df`). */
export interface DiskUsage {
  /** Bytes of all image layers on disk, each layer counted once. */
  layersSizeBytes: number;
  images: Array<{ id: string; tags: string[]; sizeBytes: number; sharedSizeBytes: number }>;
}

/** A container port published on 127.0.0.1 (the only host address n3xus publishes on). */
export interface PublishedPort {
  containerPort: number;
  protocol?: 'tcp' | 'udp';
  /** Host port; default: one the engine picks (read it back from {@link ContainerInfo.ports}). */
  hostPort?: number;
}

/** A container healthcheck; intervals in milliseconds. */
export interface HealthcheckSpec {
  /** As in the API: `['CMD', 'pg_isready']` or `['CMD-SHELL', 'redis-cli ping']`. */
  test: readonly string[];
  intervalMs: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
  /** Interval between checks during the start period (engine API 1.44 and up; older engines ignore it). */
  startIntervalMs?: number;
}

/** A mount of a container: a named volume, a host path, or a tmpfs. */
export interface MountSpec {
  type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name or absolute host path; absent for a tmpfs or an anonymous volume. */
  source?: string;
  target: string;
  readOnly?: boolean;
}

/** What to create a container from. */
export interface ContainerSpec {
  image: string;
  name?: string;
  cmd?: readonly string[];
  entrypoint?: readonly string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  user?: string;
  publish?: readonly PublishedPort[];
  /** A network to attach to instead of the default bridge. */
  network?: string;
  /** More networks it joins, after `network` (connected between create and start, as compose does). */
  extraNetworks?: readonly string[];
  /** DNS names of the container on `network` and on each of `extraNetworks`. */
  networkAliases?: readonly string[];
  /** Absent: the image's healthcheck; `{ test: ['NONE'] }` disables it. */
  healthcheck?: HealthcheckSpec;
  /** Default `no`. `on-failure` may carry a maximum retry count. */
  restartPolicy?: { name: 'no' | 'always' | 'unless-stopped' | 'on-failure'; maximumRetryCount?: number };
  memoryBytes?: number;
  /** CPU quota in billionths of a core (`--cpus 0.5` is 500000000). */
  nanoCpus?: number;
  /** At most this many processes and threads. */
  pidsLimit?: number;
  shmSizeBytes?: number;
  /** The log driver (`''`: the engine's default) and its options, such as json-file's `max-size` and `max-file`. */
  logConfig?: { type: string; config: Readonly<Record<string, string>> };
  readOnlyRootfs?: boolean;
  /** Paths mounted as tmpfs, each with its options (`''` for the defaults). */
  tmpfs?: Record<string, string>;
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  securityOpt?: readonly string[];
  mounts?: readonly MountSpec[];
}

/** Containers: enough to run, observe and clean up; launch will add more. */
export interface ContainerClient {
  /** Creates a container and returns its ID. */
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** Waits until the container stops and returns its exit code; rejects after `timeoutMs` (default 60000). */
  wait(id: string, options?: { timeoutMs?: number }): Promise<{ exitCode: number }>;
  /** Everything the container has printed so far. */
  logs(id: string, options?: { tailLines?: number }): Promise<{ stdout: string; stderr: string }>;
  inspect(id: string): Promise<ContainerInfo>;
  /** Containers carrying all the given labels (value `undefined` matches any value), running or not. */
  list(filter: { labels: Record<string, string | undefined> }): Promise<ContainerInfo[]>;
  /** Stops and removes the container; resolves when it does not exist. */
  remove(id: string): Promise<void>;
  /** Freezes every process of the container (`docker pause`: the cgroup freezer); the engine still reports it running. */
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /** Stops the container (SIGTERM, then SIGKILL after `timeoutS`, default 10); resolves when already stopped or gone. */
  stop(id: string, options?: { timeoutS?: number }): Promise<void>;
  /**
   * The container's stdout and stderr as the engine sends them: multiplexed frames for a container without a TTY
   * (decode them with LogFrameDecoder in src/logs/log-frames.ts). With `follow` the stream ends when the container
   * stops; destroy it to stop earlier.
   */
  logStream(id: string, options: LogStreamOptions): Promise<Readable>;
  /**
   * Follows the engine's events of the containers `options` selects, from the moment of the call until `signal`
   * aborts; resolves once the engine streams them, so an event of a container started after that is not missed.
   */
  watch(options: ContainerWatchOptions): Promise<void>;
}

/** Named volumes. */
export interface VolumeClient {
  /** Creates a local volume (a no-op when it exists) and returns its name. */
  create(options: { name: string; labels?: Record<string, string> }): Promise<string>;
  /** Volumes carrying all the given labels. */
  list(filter: { labels: Record<string, string | undefined> }): Promise<{ name: string; labels: Record<string, string> }[]>;
  /** Removes a volume; resolves when it does not exist. */
  remove(name: string): Promise<void>;
}

/** Networks: user-defined bridges give containers DNS names. */
export interface NetworkClient {
  /** Creates a network (default a bridge; `overlay` spans a swarm, and `attachable` lets plain containers join it) and returns its ID. */
  create(options: { name: string; labels?: Record<string, string>; internal?: boolean; driver?: 'bridge' | 'overlay'; attachable?: boolean }): Promise<string>;
  /** Networks carrying all the given labels. */
  /**
   * `scope` is `swarm` for a network Swarm services can join. A swarm network's `driver` is empty until the swarm's
   * allocator has allocated it, which can be just after it was created: read `scope`, not `driver`, to ask whether
   * Swarm services can join it. `internal`: no route out of it, and no port published from it.
   */
  list(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string>; driver: string; scope: string; internal: boolean }[]>;
  /** Removes a network; resolves when it does not exist. */
  remove(idOrName: string): Promise<void>;
  /** The names of the containers attached to a network, as its inspect lists them. */
  attached(idOrName: string): Promise<string[]>;
}

/** This engine's place in a swarm (`GET /info`'s Swarm part). */
export interface SwarmState {
  /** `inactive` (not in a swarm), `pending`, `active`, `error` or `locked`. */
  state: string;
  /** This node's ID; '' when not in a swarm. */
  nodeId: string;
  /** True on a manager: only managers can create services. */
  manager: boolean;
  /** The address other nodes reach this one at. */
  nodeAddr: string;
  nodes: number;
  managers: number;
}

/** A swarm service as the engine reports it. */
export interface SwarmServiceInfo {
  id: string;
  name: string;
  /** The spec version, which an update must name (optimistic locking). */
  version: number;
  labels: Record<string, string>;
  /** Replicas wanted (replicated mode); undefined in global mode. */
  replicas: number | undefined;
  image: string;
  /** ISO 8601 time of its last update. */
  updatedAt: string;
  /** The service's spec, as the engine keeps it (the API's own shape). */
  spec: Record<string, unknown>;
}

/** One task of a swarm service. */
export interface SwarmTaskInfo {
  id: string;
  serviceId: string;
  /** The replica slot it fills (replicated mode). */
  slot: number | undefined;
  nodeId: string;
  /** What the orchestrator wants: `running`, `shutdown`, … */
  desiredState: string;
  /** Where it is: new, pending, assigned, preparing, starting, running, complete, failed, rejected, shutdown, … */
  state: string;
  message: string;
  error: string | undefined;
  exitCode: number | undefined;
  containerId: string | undefined;
  /** Its addresses on each network, without the prefix length, by network name. */
  addresses: Record<string, string[]>;
  /** ISO 8601 time of its last state change. */
  timestamp: string;
}

/** A swarm node. */
export interface SwarmNodeInfo {
  id: string;
  version: number;
  hostname: string;
  role: string;
  availability: string;
  state: string;
  labels: Record<string, string>;
  /** The spec as the engine keeps it, which a label update must send back whole. */
  spec: Record<string, unknown>;
}

/** Swarm mode: the cluster, its services and tasks, and the secrets they read. */
export interface SwarmClient {
  state(): Promise<SwarmState>;
  /** Makes this engine a one-node swarm's manager, advertised at `advertiseAddr`; returns the node ID. */
  init(options: { advertiseAddr: string; listenAddr?: string }): Promise<string>;
  /** Leaves the swarm (`force` for the last manager). */
  leave(options?: { force?: boolean }): Promise<void>;
  /** Creates a service from its spec (the API's shape) and returns its ID. */
  createService(spec: Record<string, unknown>): Promise<string>;
  /** Replaces the spec of a service at `version`. */
  updateService(id: string, version: number, spec: Record<string, unknown>): Promise<void>;
  inspectService(id: string): Promise<SwarmServiceInfo>;
  /** Services carrying all the given labels. */
  listServices(filter: { labels: Record<string, string | undefined> }): Promise<SwarmServiceInfo[]>;
  /** Removes a service; resolves when it does not exist. */
  removeService(id: string): Promise<void>;
  /** The tasks of the given services (IDs or names), current and past. */
  listTasks(filter: { services: readonly string[] }): Promise<SwarmTaskInfo[]>;
  /** A service's output as multiplexed frames (see ContainerClient.logStream). */
  serviceLogStream(id: string, options: LogStreamOptions): Promise<Readable>;
  /** Creates a secret and returns its ID. */
  createSecret(options: { name: string; data: string; labels?: Record<string, string> }): Promise<string>;
  listSecrets(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string> }[]>;
  /** Removes a secret; resolves when it does not exist. */
  removeSecret(id: string): Promise<void>;
  listConfigs(filter: { labels: Record<string, string | undefined> }): Promise<{ id: string; name: string; labels: Record<string, string> }[]>;
  removeConfig(id: string): Promise<void>;
  listNodes(): Promise<SwarmNodeInfo[]>;
  /** Sets a node's labels (all of them) at `version`. */
  updateNodeLabels(node: SwarmNodeInfo, labels: Record<string, string>): Promise<void>;
}
