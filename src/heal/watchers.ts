/**
 * Who watches a project, and who is changing it (issue 14). Each `n3xus heal` registers itself in the project's
 * watchers directory (its PID, start time, interval, metrics port; the process driver's supervisor is one, started
 * detached by launch); `down` stops them before it removes anything, and `status` shows them. A launch holds a lease
 * there while it runs, and a watcher decides nothing while a lease is held, so the two never fight over an
 * instance. A file whose process has ended (same PID, other start time: reused) is stale and swept away.
 *
 * Where: the process driver's state directory (`<state dir>/<project>/watchers`), or for the engine's drivers the
 * n3xus cache directory, per engine address and project.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DriverKind } from '../drivers/driver.ts';
import { projectDir } from '../drivers/process/process-state.ts';
import { fleetCacheDirectory } from '../fleet/cache.ts';
import { isZombie, processStartTicks } from '../process/detached.ts';

/** One watcher as it registered itself. */
export interface WatcherEntry {
  pid: number;
  startTicks: number;
  startedAt: string;
  intervalMs: number;
  /** Started by launch to keep a process fleet up (see supervisor.ts), not by a user at a terminal. */
  supervisor: boolean;
  metricsPort?: number;
  /** Where its output goes, when it runs detached. */
  logFile?: string;
}

/** A change in progress: launch holds one while it runs. */
export interface Lease {
  pid: number;
  startTicks: number;
  operation: string;
  since: string;
}

/** The watchers directory of a project run by `kind`. */
export function watchersDir(kind: DriverKind, options: { stateDir: string; project: string; env?: NodeJS.ProcessEnv }): string {
  if (kind === 'process') return path.join(projectDir(options.stateDir, options.project), 'watchers');
  const env = options.env ?? process.env;
  const engine = createHash('sha256').update(env.DOCKER_HOST || 'unix:///var/run/docker.sock').digest('hex').slice(0, 12);
  return path.join(fleetCacheDirectory(env), 'watchers', `${kind}-${engine}-${options.project}`);
}

const alive = (pid: number, startTicks: number) => startTicks !== 0 && processStartTicks(pid) === startTicks && !isZombie(pid);

function readEntries<T extends { pid: number; startTicks: number }>(dir: string, prefix: string): T[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
  } catch {
    return [];
  }
  const live: T[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let entry: T | undefined;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      entry = undefined; // half-written by a process killed meanwhile: stale
    }
    if (entry !== undefined && typeof entry.pid === 'number' && alive(entry.pid, entry.startTicks)) live.push(entry);
    else rmSync(file, { force: true });
  }
  return live.sort((a, b) => a.pid - b.pid);
}

function writeEntry(dir: string, name: string, entry: object): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(entry)}\n`);
  renameSync(`${file}.tmp`, file);
  return () => rmSync(file, { force: true });
}

/** Registers this process as a watcher; returns the function that removes the entry. */
export function registerWatcher(dir: string, entry: Omit<WatcherEntry, 'pid' | 'startTicks' | 'startedAt'>): () => void {
  return writeEntry(dir, `watcher-${process.pid}.json`, { pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0, startedAt: new Date().toISOString(), ...entry });
}

/** The watchers of the directory whose process still runs. */
export function liveWatchers(dir: string): WatcherEntry[] {
  return readEntries<WatcherEntry>(dir, 'watcher-');
}

/** Takes a lease for `operation`; returns its release. */
export function holdLease(dir: string, operation: string): () => void {
  return writeEntry(dir, `lease-${process.pid}.json`, { pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0, operation, since: new Date().toISOString() } satisfies Lease);
}

/** A lease held by a running process other than this one, if any. */
export function activeLease(dir: string): Lease | undefined {
  return readEntries<Lease>(dir, 'lease-').find((l) => l.pid !== process.pid);
}

/**
 * Waits while another process holds a lease on the fleet (a watcher creating or restarting instances, another
 * launch), up to `timeoutMs` (default 120 s), telling `onWait` once what it waits for; then takes the lease for
 * `operation` and returns its release. After the deadline it takes the lease anyway, and says so through `onWait`.
 */
export async function takeLease(dir: string, operation: string, options: { timeoutMs?: number; signal?: AbortSignal; onWait?: (what: string) => void } = {}): Promise<() => void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let told: number | undefined;
  for (let held = activeLease(dir); held !== undefined && !options.signal?.aborted; held = activeLease(dir)) {
    if (Date.now() > deadline) {
      options.onWait?.(`${held.operation} (pid ${held.pid}) still holds the fleet after ${(options.timeoutMs ?? 120_000) / 1000} s; going on`);
      break;
    }
    if (told !== held.pid) options.onWait?.(`waiting for ${held.operation} (pid ${held.pid}) to finish with the fleet`);
    told = held.pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return holdLease(dir, operation);
}

/**
 * Stops every live watcher of the directory (SIGTERM: a watcher stops cleanly on it), waiting up to `timeoutMs`
 * for each, then SIGKILL. Returns the ones it stopped.
 */
export async function stopWatchers(dir: string, options: { timeoutMs?: number; only?: (w: WatcherEntry) => boolean } = {}): Promise<WatcherEntry[]> {
  const targets = liveWatchers(dir).filter((w) => w.pid !== process.pid && (options.only?.(w) ?? true));
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone meanwhile
    }
  };
  for (const w of targets) signal(w.pid, 'SIGTERM');
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (targets.some((w) => alive(w.pid, w.startTicks)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const w of targets) if (alive(w.pid, w.startTicks)) signal(w.pid, 'SIGKILL');
  for (const w of targets) rmSync(path.join(dir, `watcher-${w.pid}.json`), { force: true });
  return targets;
}
