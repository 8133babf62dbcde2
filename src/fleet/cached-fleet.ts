/**
 * {@link loadFleet} through the fleet cache (src/fleet/cache.ts), for the commands that need the whole model:
 * launch, status, down, logs, images save. The entry holds the parsed fleet as JSON; its key covers, besides the
 * file and its variables, the source of the parser and of what it reads (so a changed parser never reads an old
 * entry) and the path the file is shown as (relative paths in the file are resolved against it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetCacheDirectory, fleetCacheKey, readCacheEntry, writeCacheEntry } from './cache.ts';
import type { Env, Fleet } from './model.ts';
import { displayPath } from '../util/display-path.ts';

const CACHE_KIND = 'model';
/** The modules whose code decides what parseFleet returns, next to this one. */
const PARSER_MODULES = ['model', 'compose', 'stages', 'sizes', 'project-name'];

const fingerprints = new Map<string, string>();
/**
 * The sha256 of the code of `modules` (the parser's by default), next to this one, as it is on disk (compiled or
 * not). Throws when a module is not where expected (a bundled copy).
 */
export function codeFingerprint(modules: readonly string[] = PARSER_MODULES): string {
  const key = modules.join(',');
  let fingerprint = fingerprints.get(key);
  if (fingerprint === undefined) {
    const here = fileURLToPath(import.meta.url);
    const hash = createHash('sha256');
    for (const name of modules) hash.update(readFileSync(path.join(path.dirname(here), `${name}${path.extname(here)}`)));
    fingerprint = hash.digest('hex');
    fingerprints.set(key, fingerprint);
  }
  return fingerprint;
}

/** The modules whose code decides a service's config hash: the parser's, and the hash's own. */
export const CONFIG_HASH_MODULES: readonly string[] = [...PARSER_MODULES, 'config-hash'];

const parser = (): string => codeFingerprint();

/** True when `value` has the shape of a {@link Fleet} (what a cache entry must read back as; the rest is JSON). */
function isFleet(value: unknown): value is Omit<Fleet, 'file'> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.services) && typeof v.networks === 'object' && typeof v.volumes === 'object' && Array.isArray(v.warnings);
}

/**
 * Reads a fleet file as {@link loadFleet} does, from the cache when nothing that shapes the result changed.
 * @throws FleetFileError when the file is missing, unreadable or invalid (always from the parser itself).
 */
export async function loadFleetCached(file: string, options: { env: Env; cacheDir?: string }): Promise<Fleet> {
  // The parser (yaml and zod, ~0.1 s to load) is loaded only when the cache cannot answer.
  const parse = async (): Promise<typeof import('./model.ts')['loadFleet']> => (await import('./model.ts')).loadFleet;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return (await parse())(file, { env: options.env }); // throws the parser's own message
  }
  const shown = displayPath(file);
  const dir = fleetCacheDirectory(options.env, options.cacheDir);
  let key: string | undefined;
  try {
    // The absolute path too: the parsed fleet holds absolute build contexts, so the same file in a checkout that was
    // moved or copied (a CI workspace, another clone) must not be answered with the old checkout's paths.
    key = fleetCacheKey(text, options.env, [shown, path.resolve(file), parser()]);
  } catch {
    key = undefined; // the parser's source is not where expected (a bundled copy): no caching
  }
  if (key !== undefined) {
    const cached = readCacheEntry(dir, CACHE_KIND, key);
    if (isFleet(cached)) return { ...cached, file: shown };
  }
  const fleet = (await parse())(file, { env: options.env });
  if (key !== undefined) {
    const { file: _file, ...rest } = fleet;
    writeCacheEntry(dir, CACHE_KIND, key, rest);
  }
  return fleet;
}
