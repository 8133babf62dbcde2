/**
 * What launch, status, down and logs need from whatever runs the fleet. The orchestration (stages, convergence,
 * health waits, failure reports) is written once against this interface; Docker is one implementation.
 */
import type { ContainerInfo } from '../docker/inspect.ts';
import type { DesiredContainer, DesiredResources } from './desired.ts';
import { STATE_LABELS } from './labels.ts';

/**
 * One running (or stopped) instance of a service, as a driver reports it; Docker's words are the common ones.
 * `degraded` (status `degraded`) is an instance the driver cannot run and the fleet does without (the process
 * driver's Redis when redis-server is not installed): the reason, in one sentence.
 */
export type Instance = ContainerInfo & { degraded?: string };

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

export interface FleetDriver {
  readonly kind: 'docker' | 'process';
  /** Every instance labelled with the project, running or not, in one call. */
  observe(project: string): Promise<Instance[]>;
  /** The ID of each image reference, or undefined when the image is not there. */
  resolveImages(images: readonly string[]): Promise<Map<string, string | undefined>>;
  /** Creates the networks and volumes that do not exist yet; external ones must exist. */
  prepare(resources: DesiredResources): Promise<void>;
  /** Creates (does not start) the instance; returns its ID. */
  create(want: DesiredContainer): Promise<string>;
  start(id: string): Promise<void>;
  /** Stops without removing; already stopped or gone is fine. */
  stop(id: string, options?: { timeoutS?: number }): Promise<void>;
  /** Stops and removes; gone is fine. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<Instance>;
  /** The last `tailLines` lines the instance printed, stdout and stderr interleaved as far as the driver knows. */
  logs(id: string, tailLines: number): Promise<string[]>;
  /**
   * What the user should know about how this driver runs the fleet (a stand-in for a server that is not
   * installed, for example), one sentence each, for the launch report; optional.
   */
  notices?(): string[];
  /** Removes the project's networks (and with `volumes`, its volumes); returns what it removed. */
  removeResources(project: string, options: { volumes: boolean }): Promise<{ networks: string[]; volumes: string[] }>;
}
