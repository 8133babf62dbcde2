/**
 * Container state for the `container` checks: ONE list call by the project label for the whole fleet; inspect
 * (for restart count, OOM and health log) only for the few containers the list shows in trouble. The Docker
 * module (and dockerode) is imported only when container checks are wanted.
 */
import type { ContainerInfo } from '../docker/inspect.ts';
import { STATE_LABELS } from '../launch/labels.ts';
import { VerifyUnavailableError } from './errors.ts';
import type { DockerUse } from './types.ts';

/** `auto`: container checks when the engine answers and has containers of the project; `on`: required; `off`. */
export type DockerMode = 'auto' | 'on' | 'off';

/** What the engine says about the project's containers, by `n3xus.service` label. */
export interface ContainerState {
  docker: DockerUse;
  byService: Map<string, ContainerInfo>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Why container checks must not run in `auto` mode, or undefined when they may: the local engine's containers say
 * nothing about a fleet on another host, unless DOCKER_HOST points at that host's engine.
 */
export function autoDockerVeto(host: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (LOOPBACK.has(host) || host.startsWith('127.') || env.DOCKER_HOST) return undefined;
  return `${host} is not this machine and DOCKER_HOST is not set (use --docker with DOCKER_HOST pointing at its engine)`;
}

/**
 * Containers the list shows in trouble (not running, restarting, unhealthy) are inspected for the details of
 * why. "starting" is not trouble: right after a launch all 98 say it until their first check, one interval later.
 */
export function needsInspect(container: ContainerInfo): boolean {
  return !container.running || container.status === 'restarting' || container.health === 'unhealthy';
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Instances listed by another driver than Docker (the process driver's state), for the same checks. */
export interface InstanceSource {
  kind: 'process';
  /** Where they are listed, for messages. */
  where: string;
  list(project: string): Promise<ContainerInfo[]>;
}

/**
 * The process driver's instances as container state: a crashed process is judged like an exited container. In
 * `auto` mode a project without instances turns the checks off with the reason, as for Docker.
 */
async function observeInstances(source: InstanceSource, mode: DockerMode, project: string): Promise<ContainerState> {
  const byService = new Map<string, ContainerInfo>();
  const ours = (await source.list(project)).filter((c) => c.labels[STATE_LABELS.service] !== undefined);
  if (ours.length === 0 && mode === 'auto') {
    return { docker: { used: false, reason: `no process of project ${project} in ${source.where}`, project, containers: 0, driver: 'process' }, byService };
  }
  for (const instance of ours) if (instance.running || !byService.has(instance.labels[STATE_LABELS.service]!)) byService.set(instance.labels[STATE_LABELS.service]!, instance);
  return { docker: { used: true, project, containers: ours.length, driver: 'process' }, byService };
}

/**
 * Lists the project's containers (or, given a `source`, its process instances). In `auto` mode an engine that does not answer, or that has no container of the
 * project, or a `host` that is not this machine (see {@link autoDockerVeto}), turns container checks off with the
 * reason; in `on` mode an engine that does not answer is a {@link VerifyUnavailableError}.
 */
export async function observeContainers(mode: DockerMode, project: string, timeoutMs: number, host = '127.0.0.1', source?: InstanceSource): Promise<ContainerState> {
  const byService = new Map<string, ContainerInfo>();
  if (mode === 'off') return { docker: { used: false, reason: 'container checks turned off (--no-docker)', project }, byService };
  if (source !== undefined) return observeInstances(source, mode, project);
  const veto = mode === 'auto' ? autoDockerVeto(host, process.env) : undefined;
  if (veto !== undefined) return { docker: { used: false, reason: veto, project }, byService };
  let containers: ContainerInfo[];
  let engine: { container: { list(filter: { labels: Record<string, string> }): Promise<ContainerInfo[]>; inspect(id: string): Promise<ContainerInfo> } };
  try {
    const { DockerEngine } = await import('../docker/engine.ts');
    engine = new DockerEngine();
    containers = await withTimeout(engine.container.list({ labels: { [STATE_LABELS.project]: project } }), timeoutMs, 'Docker engine');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (mode === 'on') {
      throw new VerifyUnavailableError(`Container checks were asked for (--docker) but the Docker engine did not answer: ${reason}`, [
        'Start the engine or set DOCKER_HOST, or verify over HTTP only with --no-docker',
      ]);
    }
    return { docker: { used: false, reason: `Docker engine not reachable: ${reason}`, project }, byService };
  }
  const ours = containers.filter((c) => c.labels[STATE_LABELS.service] !== undefined);
  if (ours.length === 0 && mode === 'auto') {
    return { docker: { used: false, reason: `no container labelled ${STATE_LABELS.project}=${project}`, project, containers: 0 }, byService };
  }
  // Inspect only what the list shows in trouble: a healthy fleet costs one engine call, a broken one a few more.
  const inspected = await Promise.all(
    ours.map(async (container) => {
      if (!needsInspect(container)) return container;
      try {
        return await withTimeout(engine.container.inspect(container.id), timeoutMs, 'Docker engine');
      } catch {
        return container; // the list entry still says what is wrong; the details are a bonus
      }
    }),
  );
  for (const container of inspected) byService.set(container.labels[STATE_LABELS.service]!, container);
  return { docker: { used: true, project, containers: ours.length }, byService };
}
