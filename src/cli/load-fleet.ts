/**
 * The one way every command that works on a whole fleet reads it: the fleet file (`-f`, default
 * compose/docker-compose.full.yml), its variables from the environment then `--env-file` (default `airgap.env` next
 * to it), through the fleet cache, and the project name from `--project`, else the file's, else the default.
 * verify reads only the fields it needs through its own cache entry (src/verify/fleet-source.ts), with the same
 * variables.
 */
import { loadFleetCached } from '../fleet/cached-fleet.ts';
import { interpolationEnv } from '../fleet/env-file.ts';
import { DEFAULT_FLEET_FILE } from '../fleet/fleet-file.ts';
import type { Fleet } from '../fleet/model.ts';
import { projectName } from './fleet-flags.ts';

/** The flags the fleet is read from. */
export interface FleetSourceFlags {
  file?: string | undefined;
  'env-file'?: string | undefined;
  project?: string | undefined;
}

/** Reads the fleet and names the project, from the shared flags. */
export async function loadCommandFleet(flags: FleetSourceFlags): Promise<{ fleet: Fleet; project: string }> {
  const file = flags.file ?? DEFAULT_FLEET_FILE;
  const { env } = interpolationEnv(file, { envFile: flags['env-file'] });
  const fleet = await loadFleetCached(file, { env });
  return { fleet, project: projectName(flags.project, fleet.project) };
}
