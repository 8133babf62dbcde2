/**
 * The flags shared by the commands that work on a launched fleet. Only the flags: picking the driver (which loads
 * Docker's client and the process driver) is in select-driver.ts, so that a command pays for it only when it runs.
 */
import { Flags } from '@oclif/core';
import { DEFAULT_FLEET_FILE } from '../fleet/fleet-file.ts';
import { DEFAULT_PROJECT } from '../launch/labels.ts';
import { DEFAULT_STATE_DIR } from '../drivers/process/process-state.ts';

/** The flags every command that works on a launched fleet takes. */
export const fleetFlags = {
  file: Flags.string({ char: 'f', description: 'Compose file of the fleet (services carrying the n3xus labels).', default: DEFAULT_FLEET_FILE, defaultHelp: async () => 'compose/docker-compose.full.yml' }),
  'env-file': Flags.string({ description: 'KEY=VALUE file for the compose file\'s variables [default: airgap.env next to it, when present; the environment wins].' }),
  project: Flags.string({ char: 'p', description: `Project name: labels every container, so later commands find them (default: the file's name, else ${DEFAULT_PROJECT}).` }),
};

export type DriverChoice = 'auto' | 'docker' | 'process' | 'swarm';

/** `--driver` and `--state-dir`: what runs the fleet, for launch, status, logs, down and verify. */
export const driverFlags = {
  driver: Flags.option({
    options: ['auto', 'docker', 'process', 'swarm'] as const,
    default: 'auto' as const,
    description:
      'What runs the fleet: docker (containers), swarm (Swarm services, on a swarm manager), process (local processes, no Docker needed), or auto: process when the state directory holds this project, else the engine when DOCKER_HOST is set or it answers within 1 s (swarm when the project runs there as services, else docker), else process.',
  })(),
  'state-dir': Flags.string({ description: 'Where the process driver keeps its state, logs and data, one directory per project.', default: DEFAULT_STATE_DIR }),
};

/** The project name from `--project`, else the fleet file's, else the default; checked. */
export function projectName(flag: string | undefined, fromFile: string | undefined): string {
  const project = flag ?? fromFile ?? DEFAULT_PROJECT;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw Object.assign(new Error(`Project name "${project}" is not valid: use lower-case letters, digits, "_" and "-", starting with a letter or digit.`), {
      code: 'INVALID_ARGUMENT',
      suggestions: ['Pass --project n3xus, for example.'],
    });
  }
  return project;
}
