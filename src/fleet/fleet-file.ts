/**
 * Where the fleet file is by default: this repository's compose file. A module of its own so that naming it does
 * not load the fleet parser (yaml and zod, ~0.1 s of a command's start).
 */
import path from 'node:path';
import { projectRoot } from '../util/project-root.ts';

export const DEFAULT_FLEET_FILE = path.join(projectRoot(), 'compose', 'docker-compose.full.yml');
