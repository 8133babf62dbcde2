/**
 * Pure readings of the engine's inspect output, kept apart from the API calls so they can be unit-tested with
 * hand-written inspect objects. The input types name only the fields read here.
 */
import type { Instance } from '../drivers/driver.ts';

/** The part of `GET /containers/{id}/json` that {@link summarizeContainer} reads. */
export interface ContainerInspectInput {
  Id: string;
  Name?: string;
  /** The image ID (`sha256:…`). */
  Image?: string;
  RestartCount?: number;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: {
    Pid?: number;
    Status?: string;
    Running?: boolean;
    Restarting?: boolean;
    OOMKilled?: boolean;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    ExitCode?: number;
    Health?: { Status?: string; Log?: { ExitCode?: number; Output?: string }[] | null } | null;
  };
  NetworkSettings?: { Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null; Networks?: Record<string, { IPAddress?: string }> | null };
  HostConfig?: { LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null } | null;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/**
 * What callers need to know about a container: an instance in the drivers' common words (see Instance). From a
 * list call, `pid`, `restartCount`, `oomKilled` and the inspect-only fields are absent; `pid` is the host PID of
 * the container's main process (0 when not running), `restartCount` the restarts by its restart policy.
 */
export type ContainerInfo = Omit<Instance, 'degraded' | 'replicas'>;

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Turns a container inspect object into a {@link ContainerInfo}. */
export function summarizeContainer(inspect: ContainerInspectInput): ContainerInfo {
  const health = inspect.State?.Health?.Status;
  const log = inspect.State?.Health?.Log ?? [];
  return {
    id: inspect.Id,
    name: (inspect.Name ?? '').replace(/^\//, ''),
    image: inspect.Config?.Image ?? '',
    imageId: inspect.Image ?? '',
    labels: { ...(inspect.Config?.Labels ?? {}) },
    status: inspect.State?.Status ?? 'unknown',
    running: inspect.State?.Running ?? false,
    pid: inspect.State?.Pid ?? 0,
    restartCount: inspect.RestartCount ?? 0,
    oomKilled: inspect.State?.OOMKilled ?? false,
    ...(inspect.State?.StartedAt && inspect.State.StartedAt !== ZERO_TIME ? { startedAt: inspect.State.StartedAt } : {}),
    ...(inspect.State?.Error ? { error: inspect.State.Error } : {}),
    healthLog: log.map((entry) => `exit ${entry.ExitCode ?? '?'}: ${(entry.Output ?? '').trim()}`),
    exitCode: inspect.State?.ExitCode ?? 0,
    health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : undefined,
    lastHealthOutput: log.at(-1)?.Output,
    ports: publishedPorts(inspect.NetworkSettings?.Ports ?? {}),
    networks: Object.fromEntries(Object.entries(inspect.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, n.IPAddress ?? ''])),
    ...(inspect.HostConfig?.LogConfig ? { logConfig: { type: inspect.HostConfig.LogConfig.Type ?? '', config: { ...(inspect.HostConfig.LogConfig.Config ?? {}) } } } : {}),
  };
}

/**
 * Reads the host port of each published container port, preferring the 127.0.0.1 binding (the only kind n3xus
 * creates) and ignoring ports that are exposed but not published.
 */
export function publishedPorts(ports: Record<string, { HostIp?: string; HostPort?: string }[] | null>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [containerPort, bindings] of Object.entries(ports)) {
    if (!bindings || bindings.length === 0) continue;
    const binding = bindings.find((b) => b.HostIp === '127.0.0.1') ?? bindings[0];
    const hostPort = Number(binding?.HostPort);
    if (Number.isInteger(hostPort) && hostPort > 0) result[containerPort] = hostPort;
  }
  return result;
}

/** The part of one `GET /containers/json` entry that {@link summarizeListedContainer} reads. */
export interface ContainerListInput {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  /** Seconds since the epoch. */
  Created?: number;
  /** Human status, e.g. `Up 3 seconds (healthy)` or `Exited (3) 2 minutes ago`. */
  Status?: string;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] | null;
}

/**
 * Turns a container list entry into a {@link ContainerInfo} without an inspect call per container; exit code and
 * health are read from the human status text, and there is no health check output.
 */
export function summarizeListedContainer(entry: ContainerListInput): ContainerInfo {
  const status = entry.Status ?? '';
  const exited = /^(?:Exited|Restarting) \((-?\d+)\)/.exec(status);
  const healthText = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1];
  const ports: Record<string, number> = {};
  const sortedPorts = [...(entry.Ports ?? [])].sort((a, b) => Number(b.IP === '127.0.0.1') - Number(a.IP === '127.0.0.1'));
  for (const port of sortedPorts) {
    const key = `${port.PrivatePort}/${port.Type}`;
    if (port.PublicPort !== undefined && ports[key] === undefined) ports[key] = port.PublicPort;
  }
  return {
    id: entry.Id,
    name: (entry.Names?.[0] ?? '').replace(/^\//, ''),
    image: entry.Image ?? '',
    imageId: entry.ImageID ?? '',
    labels: { ...(entry.Labels ?? {}) },
    status: entry.State ?? 'unknown',
    running: entry.State === 'running',
    exitCode: exited ? Number(exited[1]) : 0,
    health: healthText === undefined ? undefined : healthText === 'health: starting' ? 'starting' : (healthText as HealthStatus),
    lastHealthOutput: undefined,
    ports,
  };
}

/** Turns `{a: 'b', c: undefined}` into the engine's label filter `['a=b', 'c']`. */
export function labelFilter(labels: Record<string, string | undefined>): string[] {
  return Object.entries(labels).map(([key, value]) => (value === undefined ? key : `${key}=${value}`));
}

/** Splits `registry:5000/name:tag` into repository and tag; the tag defaults to `latest`. */
export function splitImageTag(reference: string): { repository: string; tag: string } {
  const lastColon = reference.lastIndexOf(':');
  if (lastColon > reference.lastIndexOf('/')) {
    return { repository: reference.slice(0, lastColon), tag: reference.slice(lastColon + 1) };
  }
  return { repository: reference, tag: 'latest' };
}

/** One event of a container, as the engine's event stream (`GET /events`) reports it. */
export interface ContainerEvent {
  /** What happened: `start`, `die`, `stop`, `kill`, `destroy`, … */
  action: string;
  /** The container's ID. */
  id: string;
  /** The container's labels (and, in the engine's words, its `name` and `image`). */
  attributes: Record<string, string>;
  /** For a `die`: the exit code of its main process. */
  exitCode?: number;
}

/** The part of one message of `GET /events` that {@link summarizeContainerEvent} reads. */
export interface EventInput {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> | null };
}

/**
 * Turns one decoded message of the engine's event stream into a {@link ContainerEvent}; undefined for anything
 * that is not a container's event. A `die` carries its exit code as the text of its `exitCode` attribute.
 */
export function summarizeContainerEvent(message: unknown): ContainerEvent | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const event = message as EventInput;
  const id = event.Actor?.ID;
  if (event.Type !== 'container' || event.Action === undefined || id === undefined) return undefined;
  const attributes = { ...(event.Actor?.Attributes ?? {}) };
  const exitCode = /^-?\d+$/.test(attributes.exitCode ?? '') ? Number(attributes.exitCode) : undefined;
  return { action: event.Action, id, attributes, ...(exitCode === undefined ? {} : { exitCode }) };
}
