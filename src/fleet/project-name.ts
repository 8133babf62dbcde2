/**
 * Compose's project name from a directory, in a module of its own so that verify can name the project plain
 * docker-compose gives a fleet file (see {@link composeProjectOf}) without loading the fleet parser (yaml and zod).
 */
import path from 'node:path';

/** Compose's project name from a directory: lower-case, only letters, digits, "_" and "-". */
export function projectFromDir(dir: string): string {
  return path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/**
 * The project plain docker-compose gives the fleet file: the one named (`--project`, COMPOSE_PROJECT_NAME, the file's
 * `name`), else, as compose does, its directory's ("compose" for compose/docker-compose.full.yml).
 */
export function composeProjectOf(fleetFile: string, named: string | undefined): string {
  return named ?? projectFromDir(path.dirname(fleetFile));
}
