/** Which driver runs the fleet, from the shared flags: the process driver's state, DOCKER_HOST, or a ping. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DockerEngine } from '../docker/engine.ts';
import type { Fleet } from '../fleet/model.ts';
import { DockerDriver } from '../drivers/docker/docker-driver.ts';
import { requireSwarmManager, SwarmDriver } from '../drivers/swarm/swarm-driver.ts';
import { STATE_LABELS } from '../launch/labels.ts';
import type { FleetDriver } from '../drivers/driver.ts';
import { ProcessDriver } from '../drivers/process/process-driver.ts';
import { projectDir } from '../drivers/process/process-state.ts';
import type { DriverChoice } from './fleet-flags.ts';
import { loadCommandFleet } from './load-fleet.ts';
import { composeProjectOf } from '../fleet/project-name.ts';

/** The process driver has no state for the project: it was never launched from here, or with another --state-dir. */
export class StateMissingError extends Error {
  override readonly name = 'StateMissingError';
  readonly code = 'NOT_LAUNCHED';
  readonly suggestions: readonly string[];

  constructor(dir: string, project: string) {
    super(`No fleet of project "${project}" was launched with the process driver here: ${dir} does not exist.`);
    this.suggestions = [
      'Run the command from the directory you launched from, or pass the --state-dir and --project it was launched with.',
      'Launch the fleet first: n3xus launch --driver process',
    ];
  }
}

/** The driver a command uses, and the engine when it is Docker. */
export interface DriverContext {
  driver: FleetDriver;
  /** Set when the driver is Docker. */
  engine?: DockerEngine;
}

/**
 * Picks the driver: `docker` and `process` as asked; `auto` takes the process driver when its state directory holds
 * instances of the project (a fleet launched as processes stays found even where Docker runs), else Docker when
 * DOCKER_HOST is set or the engine answers a ping within 1 s, else processes. `requireState` makes a missing project
 * state directory an error for the process driver (status, logs and down have nothing to work on without it).
 */
export async function selectDriver(options: {
  driver: DriverChoice;
  stateDir: string;
  project: string;
  fleet?: Fleet;
  requireState?: boolean;
  /** The engine to try; default the one DOCKER_HOST or /var/run/docker.sock names. */
  engine?: DockerEngine;
}): Promise<DriverContext> {
  const processDriver = (): DriverContext => {
    const driver = new ProcessDriver({ stateDir: options.stateDir, ...(options.fleet === undefined ? {} : { fleet: options.fleet }) });
    const dir = projectDir(driver.stateDir, options.project);
    if (options.requireState && !existsSync(dir)) throw new StateMissingError(path.relative(process.cwd(), dir) || dir, options.project);
    return { driver };
  };
  if (options.driver === 'process') return processDriver();
  const engine = options.engine ?? new DockerEngine();
  const swarm = (): DriverContext => ({ driver: new SwarmDriver(engine, options.fleet === undefined ? {} : { fleet: options.fleet }), engine });
  if (options.driver === 'docker') return { driver: new DockerDriver(engine), engine };
  if (options.driver === 'swarm') {
    await requireSwarmManager(engine);
    return swarm();
  }
  if (new ProcessDriver({ stateDir: options.stateDir }).hasInstances(options.project)) return processDriver();
  // DOCKER_HOST names an engine on purpose: when it does not answer, that is the error to report, not a reason
  // to start the fleet as processes instead.
  if (!process.env.DOCKER_HOST) {
    try {
      await engine.ping({ timeoutMs: 1_000 });
    } catch {
      return processDriver();
    }
  }
  return (await runsOnSwarm(engine, options.project)) ? swarm() : { driver: new DockerDriver(engine), engine };
}

/** Whether the engine is a swarm manager with services of the project: where `auto` finds a Swarm fleet. */
async function runsOnSwarm(engine: DockerEngine, project: string): Promise<boolean> {
  try {
    const state = await engine.swarm.state();
    if (state.state !== 'active' || !state.manager) return false;
    return (await engine.swarm.listServices({ labels: { [STATE_LABELS.project]: project } })).length > 0;
  } catch {
    return false; // the engine's own errors are reported by the Docker driver's first call
  }
}

/** The fleet, its project name and the driver that runs it, from the shared flags. */
export interface FleetContext extends DriverContext {
  fleet: Fleet;
  project: string;
  /** The project plain docker-compose gives the fleet file (see composeProjectOf): where compose's containers are found. */
  composeProject: string;
}

/** Loads the fleet file and picks the driver (see {@link selectDriver}); Docker is pinged only by `auto`. */
export async function fleetContext(flags: {
  file: string;
  project?: string | undefined;
  'env-file'?: string | undefined;
  driver: DriverChoice;
  'state-dir': string;
  requireState?: boolean;
}): Promise<FleetContext> {
  const { fleet, project } = await loadCommandFleet(flags);
  const chosen = await selectDriver({ driver: flags.driver, stateDir: flags['state-dir'], project, fleet, ...(flags.requireState ? { requireState: true } : {}) });
  return { fleet, project, composeProject: composeProjectOf(fleet.file, flags.project ?? fleet.project), ...chosen };
}
