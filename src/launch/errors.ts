import type { LaunchResult } from './launch.ts';
import { describeRestarts } from './restarts.ts';

const names = (list: readonly string[], max = 5): string => (list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`);

/**
 * Services did not come up. The code is LAW_VIOLATION when every failure is a service refusing to start for want
 * of the handshake (exit 45), else LAUNCH_FAILED; `result` carries the whole report.
 */
export class LaunchFailedError extends Error {
  override readonly name = 'LaunchFailedError';
  readonly code: 'LAUNCH_FAILED' | 'LAW_VIOLATION';
  readonly result: LaunchResult;
  readonly suggestions: readonly string[];

  constructor(result: LaunchResult) {
    const failed = result.failures.map((f) => `${f.service} (${f.kind}${f.exitCode === undefined ? '' : `, exit ${f.exitCode}`})`);
    const waiting = result.services.filter((s) => s.outcome === 'blocked' || s.outcome === 'not-reached').length;
    super(`${failed.length} service${failed.length === 1 ? '' : 's'} did not become healthy: ${names(failed)}${waiting > 0 ? `; ${waiting} not started because of ${failed.length === 1 ? 'it' : 'them'}` : ''}.`);
    this.result = result;
    const lawOnly = result.failures.every((f) => f.kind === 'law-violation');
    this.code = lawOnly ? 'LAW_VIOLATION' : 'LAUNCH_FAILED';
    const first = result.failures[0]!.service;
    this.suggestions = lawOnly
      ? ['Set N3XUS_HANDSHAKE=55-45-17 (or unset it) in the environment of those services, then run n3xus launch again.']
      : [`Read its logs: n3xus logs ${first}`, 'Fix the cause and run n3xus launch again: healthy services are kept, the rest is finished.'];
  }
}

/**
 * `launch --strict`: every service came up, but some restarted during the launch (see LaunchResult.restarts): a
 * service that crashes and is restarted by its restart policy can be up at the moment it is looked at.
 */
export class RestartedDuringLaunchError extends Error {
  override readonly name = 'RestartedDuringLaunchError';
  readonly code = 'RESTARTED_DURING_LAUNCH';
  readonly result: LaunchResult;
  readonly suggestions: readonly string[];

  constructor(result: LaunchResult) {
    const n = result.restarts.length;
    super(`${n} service${n === 1 ? '' : 's'} exited and restarted during the launch: ${describeRestarts(result.restarts)}. With --strict, that fails the launch.`);
    this.result = result;
    this.suggestions = [`Read why it exited: n3xus logs ${result.restarts[0]!.service}`, 'Fix the cause and run n3xus launch --strict again; without --strict, restarts are reported and the launch succeeds.'];
  }
}

/** The launch was interrupted (Ctrl-C or SIGTERM) before it finished. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly code = 'INTERRUPTED';
  readonly result: LaunchResult;
  readonly suggestions = ['Run n3xus launch again: it finds what was created by its labels and finishes the job.'];

  constructor(result: LaunchResult) {
    const healthy = result.services.filter((s) => s.outcome === 'healthy').length;
    super(`Launch interrupted with ${healthy} of ${result.services.length} services healthy.`);
    this.result = result;
  }
}

/** `launch --adopt` found no container docker compose made for the fleet file: there is nothing to take over. */
export class NothingToAdoptError extends Error {
  override readonly name = 'NothingToAdoptError';
  readonly code = 'NOTHING_TO_ADOPT';
  readonly suggestions: readonly string[];

  constructor(file: string, composeProject: string, what: string, elsewhere: readonly string[]) {
    super(
      `--adopt: no container made by docker compose (label com.docker.compose.project=${composeProject}) runs ${what} of ${file}${elsewhere.length > 0 ? ` (compose runs ${names(elsewhere)}, outside it)` : ''}. Nothing was changed.`,
    );
    this.suggestions = [
      `docker compose names the project after the fleet file's directory unless given -p or COMPOSE_PROJECT_NAME: pass the same name with --project (n3xus then uses it for its own containers too).`,
      'Without --adopt, launch starts the fleet itself: n3xus launch',
    ];
  }
}

/** `--adopt` with a driver that has no docker compose containers to take over. */
export class AdoptUnsupportedError extends Error {
  override readonly name = 'AdoptUnsupportedError';
  readonly code = 'INVALID_ARGUMENT';
  readonly suggestions = ['Adopt on the Docker engine compose ran on: n3xus launch --adopt --driver docker'];

  constructor(driver: string) {
    super(`--adopt takes over containers docker compose made on a Docker engine; the ${driver} driver has none. Nothing was changed.`);
  }
}

/**
 * down removed everything but networks the engine refuses to remove though no container is attached to them: Docker
 * 20.10 keeps counting an endpoint of a container long gone (moby/moby#42119, #43286), until the engine restarts.
 */
export class StaleNetworkError extends Error {
  override readonly name = 'StaleNetworkError';
  readonly code = 'STALE_NETWORK';
  readonly suggestions: readonly string[];

  constructor(networks: readonly string[]) {
    const which = networks.length === 1 ? `The network ${networks[0]} was` : `The networks ${networks.join(', ')} were`;
    super(`${which} not removed: the Docker engine counts an endpoint on ${networks.length === 1 ? 'it' : 'them'} that no container holds (a known engine bug, moby/moby#42119). Everything else was removed.`);
    this.suggestions = [
      'Restart the engine (systemctl restart docker, or stop and start dockerd) and run n3xus down again; a restart clears the count.',
      `Or leave ${networks.length === 1 ? 'it' : 'them'}: the next launch uses ${networks.length === 1 ? 'it' : 'them'} as ${networks.length === 1 ? 'it is' : 'they are'}.`,
    ];
  }
}
