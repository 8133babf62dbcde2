import { Flags } from '@oclif/core';
import { DockerEngine } from '../docker/engine.ts';
import { DEFAULT_FLEET_FILE, type Fleet } from '../fleet/model.ts';
import { loadFleetImages } from '../images/archive.ts';
import { DockerDriver } from '../launch/docker-driver.ts';
import type { FleetDriver } from '../launch/driver.ts';
import { DEFAULT_PROJECT } from '../launch/labels.ts';

/** The flags every command that works on a launched fleet takes. */
export const fleetFlags = {
  file: Flags.string({ char: 'f', description: 'Compose file of the fleet (services carrying the n3xus labels).', default: DEFAULT_FLEET_FILE, defaultHelp: async () => 'compose/docker-compose.full.yml' }),
  'env-file': Flags.string({ description: 'KEY=VALUE file for the compose file\'s variables [default: airgap.env next to it, when present; the environment wins].' }),
  project: Flags.string({ char: 'p', description: `Project name: labels every container, so later commands find them (default: the file's name, else ${DEFAULT_PROJECT}).` }),
};

/** The fleet, its project name and the driver that runs it, from the shared flags. */
export interface FleetContext {
  fleet: Fleet;
  project: string;
  driver: FleetDriver;
  engine: DockerEngine;
}

/** Loads the fleet file and connects to the engine (lazily: nothing is asked of the engine here). */
export function fleetContext(flags: { file: string; project?: string | undefined; 'env-file'?: string | undefined }): FleetContext {
  const { fleet } = loadFleetImages({ file: flags.file, ...(flags['env-file'] === undefined ? {} : { envFile: flags['env-file'] }) });
  const project = flags.project ?? fleet.project ?? DEFAULT_PROJECT;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw Object.assign(new Error(`Project name "${project}" is not valid: use lower-case letters, digits, "_" and "-", starting with a letter or digit.`), {
      code: 'INVALID_ARGUMENT',
      suggestions: ['Pass --project n3xus, for example.'],
    });
  }
  const engine = new DockerEngine();
  return { fleet, project, engine, driver: new DockerDriver(engine) };
}
