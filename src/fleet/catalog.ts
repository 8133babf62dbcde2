import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { projectRoot } from '../util/project-root.ts';
import { STAGES, stageIndex, type Stage } from './stages.ts';

/** Where the catalog lives in this repository. */
export const CATALOG_PATH = join(projectRoot(), 'services', 'catalog.yaml');

const NAME = /^[a-z][a-z0-9-]{1,62}$/;

const entrySchema = z.strictObject({
  name: z.string().regex(NAME, 'lower-case letters, digits and dashes'),
  stage: z.enum(STAGES),
  phase: z.number().int().min(3).max(12).optional(),
  group: z.string().regex(NAME),
  category: z.string().regex(NAME),
  port: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535).optional(),
  calls: z.array(z.string()).default([]),
  description: z.string().min(1),
});

const catalogSchema = z.strictObject({
  version: z.string(),
  infra: z.array(entrySchema),
  services: z.array(entrySchema),
});

/** One container of the fleet, as the catalog describes it. */
export interface CatalogEntry {
  name: string;
  stage: Stage;
  /** The seed's phase (3-12) for core, federation and domain services. */
  phase?: number;
  group: string;
  category: string;
  /** Port the container listens on. */
  port: number;
  /** Port published on 127.0.0.1 (defaults to `port`). */
  hostPort: number;
  /** Services this one calls, by name. */
  calls: string[];
  description: string;
}

/** The whole fleet: infrastructure (PostgreSQL, Redis) and the microservices. */
export interface Catalog {
  version: string;
  infra: CatalogEntry[];
  services: CatalogEntry[];
}

/** Raised for a catalog that breaks a rule; the message names the file, the service and the rule. */
export class CatalogError extends Error {
  override name = 'CatalogError';
}

/** The seed's port ranges per stage, inclusive. */
export const PORT_RANGES: Record<Exclude<Stage, 'infra'>, [number, number]> = {
  core: [3001, 3051],
  federation: [3001, 3051],
  domain: [3001, 3051],
  compliance: [4001, 4005],
  puabo: [4010, 4099],
  vsuite: [4010, 4099],
  extended: [4010, 4099],
};

/** Parses and checks catalog text: shape, unique names and ports, port ranges, and calls that point backwards. */
export function parseCatalog(text: string, file = 'services/catalog.yaml'): Catalog {
  const parsed = catalogSchema.safeParse(parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CatalogError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const toEntry = (e: z.infer<typeof entrySchema>): CatalogEntry => ({ ...e, hostPort: e.hostPort ?? e.port });
  const catalog: Catalog = { version: parsed.data.version, infra: parsed.data.infra.map(toEntry), services: parsed.data.services.map(toEntry) };
  checkCatalog(catalog, file);
  return catalog;
}

function checkCatalog(catalog: Catalog, file: string): void {
  const fail = (message: string): never => {
    throw new CatalogError(`${file}: ${message}`);
  };
  const all = [...catalog.infra, ...catalog.services];
  const byName = new Map<string, CatalogEntry>();
  const byHostPort = new Map<number, string>();
  for (const entry of all) {
    if (byName.has(entry.name)) fail(`service ${entry.name} is listed twice`);
    byName.set(entry.name, entry);
    const other = byHostPort.get(entry.hostPort);
    if (other) fail(`services ${other} and ${entry.name} both publish port ${entry.hostPort}`);
    byHostPort.set(entry.hostPort, entry.name);
  }
  for (const entry of catalog.infra) {
    if (entry.stage !== 'infra') fail(`infra entry ${entry.name} must have stage infra, not ${entry.stage}`);
  }
  for (const entry of catalog.services) {
    if (entry.stage === 'infra') fail(`service ${entry.name} cannot be in stage infra (that stage is PostgreSQL and Redis)`);
    const [low, high] = PORT_RANGES[entry.stage as Exclude<Stage, 'infra'>];
    if (entry.port < low || entry.port > high) fail(`service ${entry.name} (stage ${entry.stage}) has port ${entry.port}, outside ${low}-${high}`);
    for (const callee of entry.calls) {
      const target = byName.get(callee);
      if (!target) fail(`service ${entry.name} calls ${callee}, which is not in the catalog`);
      else if (target.stage === 'infra') fail(`service ${entry.name} lists ${callee} in calls; PostgreSQL and Redis are implicit`);
      else if (stageIndex(target.stage) > stageIndex(entry.stage)) {
        fail(`service ${entry.name} (stage ${entry.stage}) calls ${callee} of the later stage ${target.stage}; a service may only call its own or an earlier stage`);
      }
      if (callee === entry.name) fail(`service ${entry.name} calls itself`);
    }
  }
}

/** Reads the catalog from `path` (default: this repository's). */
export function loadCatalog(path = CATALOG_PATH): Catalog {
  return parseCatalog(readFileSync(path, 'utf8'), path);
}
