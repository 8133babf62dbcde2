/**
 * Compose's project name from a directory, in a module of its own so that verify can name the project plain
 * docker-compose gives a fleet file without loading the fleet parser (yaml and zod).
 */
import path from 'node:path';

/** Compose's project name from a directory: lower-case, only letters, digits, "_" and "-". */
export function projectFromDir(dir: string): string {
  return path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}
