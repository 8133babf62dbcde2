/**
 * Which services restarted while a launch ran, judged from the starts and exits the driver reported (see
 * FleetDriver.watchInstances). A service that crashes and is restarted by the engine's restart policy can be up when
 * launch looks at it, and so look healthy; these are the exits that say otherwise. Pure: no I/O.
 */
import type { InstanceEvent } from '../drivers/driver.ts';

/** A service whose instance exited while launch ran, other than by launch's own hand. */
export interface ServiceRestarts {
  service: string;
  /** How many times it exited: each time, its restart policy started it again (or, without one, left it down). */
  count: number;
  /** The exit code of each exit, in order (an exit the engine gave no code for is left out). */
  exitCodes: number[];
}

/**
 * The services that restarted during a launch, in the order of their first exit. Left out: the exits of instances
 * launch stopped or removed itself (`stoppedByLaunch`: it recreates, replaces and stops instances as it converges,
 * and each of those exits too), and the last exit of a service launch reports as failed (`failed`) when nothing
 * started it again: that exit is the failure, reported as such.
 */
export function restartsDuringLaunch(events: readonly InstanceEvent[], stoppedByLaunch: ReadonlySet<string>, failed: ReadonlySet<string>): ServiceRestarts[] {
  const startedLater = new Set<string>();
  const exits: InstanceEvent[] = [];
  for (const event of [...events].reverse()) {
    if (event.kind === 'start') startedLater.add(event.id);
    else if (!stoppedByLaunch.has(event.id) && (startedLater.has(event.id) || !failed.has(event.service))) exits.unshift(event);
  }
  const byService = new Map<string, ServiceRestarts>();
  for (const exit of exits) {
    const restarts = byService.get(exit.service) ?? { service: exit.service, count: 0, exitCodes: [] };
    restarts.count += 1;
    if (exit.exitCode !== undefined) restarts.exitCodes.push(exit.exitCode);
    byService.set(exit.service, restarts);
  }
  return [...byService.values()];
}

/** `v-supercore (1 restart, exit 3), identity-registry (2 restarts, exits 1, 137)`. */
export function describeRestarts(restarts: readonly ServiceRestarts[]): string {
  return restarts
    .map((r) => {
      const codes = r.exitCodes.length === 0 ? '' : `, exit${r.exitCodes.length === 1 ? '' : 's'} ${r.exitCodes.join(', ')}`;
      return `${r.service} (${r.count} restart${r.count === 1 ? '' : 's'}${codes})`;
    })
    .join(', ');
}
