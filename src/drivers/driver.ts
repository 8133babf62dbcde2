/**
 * What launch, status, down, logs and verify need from whatever runs the fleet. The orchestration (stages,
 * convergence, health waits, failure reports) is written once against this interface, in no engine's words; each
 * driver (src/drivers/docker, process, swarm) translates a desired instance to its own engine.
 */
import type { FleetService } from '../fleet/model.ts';
import type { DesiredInstance, DesiredResources } from '../launch/desired.ts';
import { STATE_LABELS } from '../launch/labels.ts';

/** The engines n3xus can run the fleet on. */
export type DriverKind = 'docker' | 'process' | 'swarm';

/** One task (a copy) of an instance that runs several, as the engine reports it. */
export interface Replica {
  id: string;
  /** running, starting, failed, shutdown, … */
  state: string;
  /** The engine's message or error for the task. */
  message: string;
  exitCode?: number;
  /** The node it was placed on: its hostname where the driver looked it up (an inspect), else its ID. */
  node?: string;
  /** Its address inside the fleet's network, when it has one. */
  address?: string;
}

/**
 * One instance of a service, as a driver reports it: a container, a process, or a Swarm service (whose tasks are
 * its `replicas`). `degraded` (status `degraded`) is an instance the driver cannot run and the fleet does without
 * (the process driver's Redis when redis-server is not installed): the reason, in one sentence.
 */
export interface Instance {
  id: string;
  name: string;
  image: string;
  /** The image ID (`sha256:…`) it was created from; '' when not known. */
  imageId: string;
  labels: Record<string, string>;
  /** created, running, restarting, exited, dead, degraded, … */
  status: string;
  running: boolean;
  exitCode: number;
  /** The engine's own health verdict, when it has a healthcheck. */
  health: 'starting' | 'healthy' | 'unhealthy' | undefined;
  lastHealthOutput: string | undefined;
  /** Host port published for each port, keyed like `5432/tcp`. */
  ports: Record<string, number>;
  pid?: number;
  restartCount?: number;
  oomKilled?: boolean;
  /** ISO 8601 time of the last start, when known. */
  startedAt?: string;
  /** The engine's error text when it could not start it. */
  error?: string;
  healthLog?: string[];
  logConfig?: { type: string; config: Record<string, string> };
  /** Its address on each network it joins, by network name (from an inspect of a container; a listing has none). */
  networks?: Record<string, string>;
  degraded?: string;
  /** Its copies, for a driver that runs several (Swarm): how many are wanted, and each task. */
  replicas?: { desired: number; running: number; tasks: Replica[] };
}

/** The probe kinds (see ProbeKind) of the instances that are degraded: what the other services must do without. */
export function degradedKinds(instances: Iterable<Instance>, probeOf: (service: string) => string | undefined): Set<string> {
  const kinds = new Set<string>();
  for (const i of instances) {
    const kind = i.degraded === undefined ? undefined : probeOf(i.labels[STATE_LABELS.service] ?? '');
    if (kind !== undefined) kinds.add(kind);
  }
  return kinds;
}

/**
 * The instances of a project by the service they run. A service has more than one only while a duplicate awaits
 * removal; the running one is the one that tells the truth about it.
 */
export function instancesByService(instances: readonly Instance[]): Map<string, Instance> {
  const map = new Map<string, Instance>();
  for (const i of instances) {
    const service = i.labels[STATE_LABELS.service];
    if (service !== undefined && (!map.has(service) || i.running)) map.set(service, i);
  }
  return map;
}

/** Options of {@link FleetDriver.streamLogs}. */
export interface DriverLogOptions {
  /** Keep reading until the instance stops (or `signal` aborts); default: what it has printed so far. */
  follow: boolean;
  /** Only the last N lines so far; default: all. */
  tailLines?: number;
  /** Prefix each line with the engine's timestamp, where the driver has one (see FleetDriver.logTimestamps). */
  timestamps?: boolean;
  /** Each piece of output, with the stream it came from where the driver keeps them apart. */
  onOutput: (stream: 'stdout' | 'stderr', payload: Buffer) => void;
  signal?: AbortSignal;
}

/** A container that publishes a host port: its name, and its compose project and service when compose made it. */
export interface PortHolder {
  container: string;
  compose?: { project: string; service: string };
}

/**
 * What docker compose made for one compose project, by compose's labels: its containers (the fleet's services, one-off
 * containers left out), networks and volumes (each with its key in the file), and the names of every network and
 * volume on the engine, which say whether n3xus's own exist.
 */
export interface ComposeState {
  containers: Instance[];
  networks: { name: string; key: string }[];
  volumes: { name: string; key: string }[];
  existing: { networks: string[]; volumes: string[] };
}

/** An instance of a project started or exited, as the engine reports it (see FleetDriver.watchInstances). */
export interface InstanceEvent {
  kind: 'start' | 'exit';
  /** The instance's ID (see Instance.id). */
  id: string;
  service: string;
  /** For an exit: the exit code of its main process. */
  exitCode?: number;
}

export interface FleetDriver {
  readonly kind: DriverKind;
  /** Every instance labelled with the project, running or not, in one call. */
  observe(project: string): Promise<Instance[]>;
  /** The ID of each image reference, or undefined when the image is not there. */
  resolveImages(images: readonly string[]): Promise<Map<string, string | undefined>>;
  /**
   * The host ports the launch needs that something else holds, for a driver that publishes them its own way (the
   * Swarm gateway publishes the whole fleet's); others are checked by launch, port by port.
   */
  checkPorts?(project: string): Promise<Error | undefined>;
  /**
   * Who holds each of `ports` on 127.0.0.1 among the engine's own containers (a docker compose container, a
   * container of another project), for a port launch found busy; a port held by anything else is left out. Optional.
   */
  portHolders?(ports: readonly number[]): Promise<Map<number, PortHolder>>;
  /**
   * What docker compose made for `composeProject` on the engine (see {@link ComposeState}): how status, verify and
   * launch recognise a fleet started by plain docker-compose from the fleet file, and what `launch --adopt` takes
   * over. Only the Docker driver has it.
   */
  composeState?(composeProject: string): Promise<ComposeState>;
  /** Creates the networks, volumes and credentials that do not exist yet; external ones must exist. */
  prepare(resources: DesiredResources): Promise<void>;
  /** Creates (does not start) the instance; returns its ID. A driver whose engine starts on create (Swarm) starts it. */
  create(want: DesiredInstance): Promise<string>;
  /**
   * Changes an existing instance to `want` in place, where the engine can (a Swarm service update); drivers
   * without it are recreated (remove, then create). Returns the instance's ID.
   */
  update?(id: string, want: DesiredInstance): Promise<string>;
  start(id: string): Promise<void>;
  /** Stops without removing; already stopped or gone is fine. */
  stop(id: string, options?: { timeoutS?: number }): Promise<void>;
  /** Stops and removes; gone is fine. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<Instance>;
  /** The last `tailLines` lines the instance printed, stdout and stderr interleaved as far as the driver knows. */
  logs(id: string, tailLines: number): Promise<string[]>;
  /** Whether {@link streamLogs} can prefix lines with the engine's timestamps. */
  readonly logTimestamps: boolean;
  /** Streams what the instance printed (and, with `follow`, prints); resolves with whether `signal` ended it. */
  streamLogs(id: string, options: DriverLogOptions): Promise<{ interrupted: boolean }>;
  /**
   * Hands `onEvent` each start and exit of the project's instances, whoever caused it (launch, the engine's restart
   * policy, a user), from the moment it resolves until `signal` aborts; `onError` hears of a watch that broke before.
   * Launch reports from it the services that restarted while it ran. Optional: a driver whose instances only start
   * when launch starts them has nothing to tell.
   */
  watchInstances?(project: string, options: { onEvent: (event: InstanceEvent) => void; onError: (error: Error) => void; signal: AbortSignal }): Promise<void>;
  /**
   * What the user should know about how this driver runs the fleet (a stand-in for a server that is not
   * installed, for example), one sentence each, for the launch report; optional.
   */
  notices?(): string[];
  /**
   * What `status` should say about where the fleet runs, now (Swarm: the node that holds the data is drained), one
   * sentence each; optional.
   */
  statusNotes?(project: string): Promise<string[]>;
  /**
   * Whether the driver runs this infra service itself, as the fleet file describes it (its users and passwords
   * included); false for a server given by URL or a stand-in without roles (the process driver's embedded
   * PostgreSQL). Launch creates the services' roles only in a server it runs. Default: true.
   */
  managesServer?(service: FleetService): boolean;
  /**
   * Removes the project's networks, credentials (and with `volumes`, its volumes), and the networks and volumes named
   * in `adopted` (made by docker compose, taken over by the fleet; volumes only with `volumes`); returns what it removed,
   * and in `stale` the networks the engine would not remove though no container is attached to them (see
   * StaleNetworkError in src/launch/errors.ts).
   */
  removeResources(project: string, options: { volumes: boolean; adopted?: { networks: string[]; volumes: string[] } }): Promise<{ networks: string[]; volumes: string[]; stale?: string[] }>;
}
