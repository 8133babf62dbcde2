/**
 * A Swarm service and its tasks, read as one {@link Instance}: what launch, status and verify judge. Pure, so each
 * way a service can be is unit-tested with hand-written tasks.
 */
import type { SwarmServiceInfo, SwarmTaskInfo } from '../../docker/types.ts';
import { STATE_LABELS } from '../../launch/labels.ts';
import type { Instance, Replica } from '../driver.ts';

/** Task states on the way to running: the orchestrator is still at work. */
const PENDING = new Set(['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);
/** Task states that mean the task ended badly. */
const FAILED = new Set(['failed', 'rejected', 'orphaned']);

function newestFirst(a: SwarmTaskInfo, b: SwarmTaskInfo): number {
  return b.timestamp.localeCompare(a.timestamp);
}

/**
 * The instance of `service`, given its tasks (current and past, as the engine lists them):
 * - `running` when as many tasks run as are wanted (and at least one is wanted);
 * - `exited` when none is wanted (stopped: scaled to 0), with the exit code of its last task;
 * - `restarting` when fewer run than are wanted and its newest task failed (Swarm starts a new one): the exit code
 *   and the task's error say why, as an exited container's would;
 * - `starting` while tasks are on their way.
 */
export function serviceInstance(service: SwarmServiceInfo, tasks: readonly SwarmTaskInfo[], nodeNames: ReadonlyMap<string, string> = new Map()): Instance {
  const own = tasks.filter((t) => t.serviceId === service.id).sort(newestFirst);
  const current = own.filter((t) => t.desiredState === 'running' || t.desiredState === 'ready');
  const running = current.filter((t) => t.state === 'running');
  const desired = service.replicas ?? current.length;
  // A task that failed since the service was last changed: Swarm is starting another one in its place, which is
  // what a restarting container is. (Failures before the last change belong to another configuration.)
  const recentFailure = own.find((t) => FAILED.has(t.state) && t.timestamp >= service.updatedAt);
  const failedTasks = own.filter((t) => FAILED.has(t.state) || (t.state === 'complete' && t.desiredState !== 'shutdown'));
  const lastEnded = own.find((t) => FAILED.has(t.state) || t.state === 'complete' || t.state === 'shutdown');
  let status: string;
  if (desired === 0) status = 'exited';
  else if (running.length >= desired) status = 'running';
  else if (recentFailure !== undefined) status = recentFailure.state === 'rejected' ? 'dead' : 'restarting';
  else if (current.some((t) => PENDING.has(t.state)) || running.length > 0 || own.length === 0) status = 'starting';
  else status = 'restarting';
  const ended = status === 'running' || status === 'starting' ? undefined : (recentFailure ?? lastEnded);
  const replicas: Replica[] = current.map((t) => ({
    id: t.id,
    state: t.state,
    message: t.error ?? t.message,
    ...(t.exitCode === undefined ? {} : { exitCode: t.exitCode }),
    ...(t.nodeId === '' ? {} : { node: nodeNames.get(t.nodeId) ?? t.nodeId }),
    ...(Object.values(t.addresses)[0]?.[0] === undefined ? {} : { address: Object.values(t.addresses)[0]![0]! }),
  }));
  const startedAt = running.map((t) => t.timestamp).sort()[0];
  return {
    id: service.id,
    name: service.name,
    image: service.image,
    // The image ID launch resolved the tag to: a rebuilt image under the same tag changes it, and the service is updated.
    imageId: service.labels[STATE_LABELS.imageId] ?? '',
    labels: service.labels,
    status,
    running: status === 'running',
    exitCode: ended?.exitCode ?? 0,
    health: undefined,
    lastHealthOutput: undefined,
    ports: {},
    restartCount: failedTasks.length,
    ...(startedAt === undefined || status !== 'running' ? {} : { startedAt }),
    ...(ended?.error === undefined ? {} : { error: `task ${ended.state}: ${ended.error}` }),
    replicas: { desired, running: running.length, tasks: replicas },
  };
}
