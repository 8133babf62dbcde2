/** Which driver runs the fleet, from the shared flags: the process driver's state, DOCKER_HOST, or a ping. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DockerEngine } from '../docker/engine.ts';
import type { Fleet } from '../fleet/model.ts';
import { DockerDriver } from '../launch/docker-driver.ts';
import type { FleetDriver } from '../launch/driver.ts';
import { ProcessDriver } from '../launch/process-driver.ts';
import { projectDir } from '../launch/process-state.ts';
import { projectName, type DriverChoice } from './fleet-flags.ts';

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
  if (options.driver === 'docker') return { driver: new DockerDriver(engine), engine };
  if (new ProcessDriver({ stateDir: options.stateDir }).hasInstances(options.project)) return processDriver();
  // DOCKER_HOST names an engine on purpose: when it does not answer, that is the error to report, not a reason
  // to start the fleet as processes instead.
  if (process.env.DOCKER_HOST) return { driver: new DockerDriver(engine), engine };
  try {
    await engine.ping({ timeoutMs: 1_000 });
    return { driver: new DockerDriver(engine), engine };
  } catch {
    return processDriver();
  }
}

/** The fleet, its project name and the driver that runs it, from the shared flags. */
export interface FleetContext extends DriverContext {
  fleet: Fleet;
  project: string;
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
  // Loaded here: the parser behind it (yaml, zod) is ~0.1 s that verify, which shares these flags, does not need.
  const { loadFleetImages } = await import('../images/archive.ts');
  const { fleet } = await loadFleetImages({ file: flags.file, ...(flags['env-file'] === undefined ? {} : { envFile: flags['env-file'] }) });
  const project = projectName(flags.project, fleet.project);
  const chosen = await selectDriver({ driver: flags.driver, stateDir: flags['state-dir'], project, fleet, ...(flags.requireState ? { requireState: true } : {}) });
  return { fleet, project, ...chosen };
}
