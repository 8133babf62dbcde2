/**
 * A small on-disk cache of parsed fleet files, shared by every command that reads one.
 *
 * Why: parsing and validating the 100-service compose file (yaml's document parser, then zod) costs about 0.3
 * CPU-s, a third of what a no-op launch may take in all and a fifth of `verify --full`'s budget. An entry is keyed
 * by the sha256 of the file's text, of the value of every variable the file could interpolate, and of whatever else
 * the caller says shapes the result (the parser's own code, the path the file is shown as), so a change to any of
 * them misses and re-reads the file through the one parser. An entry that does not read back as expected is
 * ignored, and a cache that cannot be written is skipped: nothing but speed depends on it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Entries kept per kind: one per version of a fleet file (and of its variables) seen lately. */
const MAX_CACHE_ENTRIES = 16;

type Env = Readonly<Record<string, string | undefined>>;

/** Where entries go: `given`, else `$N3XUS_CACHE_DIR`, else `$XDG_CACHE_HOME/n3xus`, else `~/.cache/n3xus`. */
export function fleetCacheDirectory(env: Env, given?: string): string {
  if (given !== undefined) return given;
  if (env.N3XUS_CACHE_DIR) return env.N3XUS_CACHE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'n3xus');
}

/**
 * The cache key of a fleet file: its text, the value of every variable it could interpolate (any `$NAME` or
 * `${NAME` in it, plus COMPOSE_PROJECT_NAME, which names the project), and `extra`.
 */
export function fleetCacheKey(text: string, env: Env, extra: readonly unknown[] = []): string {
  const names = new Set(['COMPOSE_PROJECT_NAME']);
  for (const match of text.matchAll(/\$\{?([_a-zA-Z][_a-zA-Z0-9]*)/g)) names.add(match[1]!);
  const values = [...names].sort().map((name) => [name, env[name] ?? null]);
  return createHash('sha256').update(JSON.stringify([text, values, ...extra])).digest('hex');
}

const entryName = (kind: string, key: string) => `${kind}-${key}.json`;

/** The parsed JSON of an entry, or undefined when there is none or it does not parse. */
export function readCacheEntry(dir: string, kind: string, key: string): unknown {
  try {
    return JSON.parse(readFileSync(path.join(dir, entryName(kind, key)), 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Writes an entry whole then renames it into place, so a concurrent reader never sees half of one, and drops the
 * least recently written entries of the kind beyond 16. Best effort: a cache that cannot be written is skipped.
 */
export function writeCacheEntry(dir: string, kind: string, key: string, value: unknown): void {
  const file = path.join(dir, entryName(kind, key));
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(temporary, JSON.stringify(value));
    renameSync(temporary, file);
    pruneCache(dir, kind);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was written
    }
  }
}

/** Removes the least recently written entries of `kind` beyond {@link MAX_CACHE_ENTRIES}. */
export function pruneCache(dir: string, kind: string): void {
  const pattern = new RegExp(`^${kind}-[0-9a-f]{64}\\.json$`);
  const names = readdirSync(dir).filter((name) => pattern.test(name));
  if (names.length <= MAX_CACHE_ENTRIES) return;
  const entries = names.map((name) => ({ name, mtimeMs: statSync(path.join(dir, name)).mtimeMs }));
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const e of entries.slice(MAX_CACHE_ENTRIES)) {
    try {
      unlinkSync(path.join(dir, e.name));
    } catch {
      // gone already
    }
  }
}
