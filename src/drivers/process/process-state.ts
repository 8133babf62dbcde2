/**
 * What the process driver knows about a project, kept in `<state dir>/<project>/state.json` so that status, logs,
 * down and verify find the fleet from a later invocation. Each record carries the same labels a container would
 * (project, service, config hash, image ID, driver), so reconcile treats processes as it treats containers.
 * Writes are atomic (a temporary file renamed over the old one): a reader never sees half a file; changes are made
 * under a lock file, so two invocations (a launch and a down) cannot lose each other's records.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pidAlive } from '../../process/detached.ts';
import type { LogLimit } from '../../process/log-rotation.ts';
import { displayPath } from '../../util/display-path.ts';
import type { Instance } from '../driver.ts';

/** Where the process driver keeps its state, unless `--state-dir` says otherwise: `.n3xus` in the current directory. */
export const DEFAULT_STATE_DIR = '.n3xus';

/** One process instance of a service. */
export interface ProcessRecord {
  id: string;
  /** `<project>-<service>`, as a container would be named. */
  name: string;
  service: string;
  image: string;
  /** What the process runs, as reconcile compares it: a hash of the service bundle, or of the server binary. */
  imageId: string;
  labels: Record<string, string>;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** `<container port>/tcp` → host port, as for a container. */
  ports: Record<string, number>;
  /** The signal that asks it to stop cleanly (PostgreSQL: SIGINT, a fast shutdown that does not wait for clients). */
  stopSignal: 'SIGTERM' | 'SIGINT';
  createdAt: string;
  /** Set by each start; the process group ID too. */
  pid?: number;
  /** Start time of `pid` in clock ticks since boot, so a reused PID is not taken for it. */
  startTicks?: number;
  startedAt?: string;
  /** Starts after the first. */
  restartCount: number;
  /** The exit code when the driver had to kill it (the wrapper could not record one). */
  killedExitCode?: number;
  /** Set when there is nothing to run (Redis without redis-server): why the fleet does without it. */
  absent?: string;
  /** How far its log file may grow (the service's `logging` max-size and max-file); rotated at each start. */
  logLimit?: LogLimit;
}

export interface ProjectState {
  version: 1;
  project: string;
  records: ProcessRecord[];
}

/** The directory of a project's state, logs and data. */
export function projectDir(stateDir: string, project: string): string {
  return path.join(stateDir, project);
}

/** Reads a project's state; a project never launched here has none (empty, not an error). */
export function readState(stateDir: string, project: string): ProjectState {
  const file = path.join(projectDir(stateDir, project), 'state.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, project, records: [] };
    throw error;
  }
  let parsed: Partial<ProjectState> | null;
  try {
    parsed = JSON.parse(text) as Partial<ProjectState> | null;
  } catch (error) {
    throw new StateFileError(file, project, `not JSON (${(error as Error).message})`);
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.records)) throw new StateFileError(file, project, 'not a process driver state file (version 1)');
  return parsed as ProjectState;
}

/** A state file n3xus cannot read: edited by hand, cut short, or written by another version. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  readonly code = 'STATE_UNREADABLE';
  readonly suggestions: readonly string[];

  constructor(file: string, project: string, why: string) {
    super(`${displayPath(file)} is ${why}: the process driver cannot tell which processes of project "${project}" it started.`);
    const dir = displayPath(path.dirname(file));
    this.suggestions = [
      `Only n3xus writes this file. Put back a good copy, or stop the project's processes still running (their logs are in ${dir}/logs) and move ${dir} aside; then launch again.`,
    ];
  }
}

/** Writes a project's state atomically. */
export function writeState(stateDir: string, state: ProjectState): void {
  const dir = projectDir(stateDir, state.project);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'state.json');
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, file);
}

/** How a record is doing now, as the driver read it from /proc and the exit file. */
export interface Liveness {
  running: boolean;
  /** The code the wrapper recorded, when the process has ended and it could. */
  exitCode?: number;
  /** The PID in the record is alive but is another process now (reused). */
  stale?: boolean;
}

/**
 * A record as an {@link Instance}, in Docker's words: created, running, or exited (with its code); or `degraded`
 * when there is nothing to run and the fleet does without it. Pure.
 */
export function recordInstance(record: ProcessRecord, live: Liveness): Instance {
  const common = {
    id: record.id,
    name: record.name,
    image: record.image,
    imageId: record.imageId,
    labels: { ...record.labels },
    health: undefined,
    lastHealthOutput: undefined,
    oomKilled: false,
  };
  if (record.absent !== undefined) {
    return { ...common, status: 'degraded', running: false, exitCode: 0, ports: {}, pid: 0, restartCount: 0, error: record.absent, degraded: record.absent };
  }
  const status = record.pid === undefined ? 'created' : live.running ? 'running' : 'exited';
  const exitCode = live.running ? 0 : (live.exitCode ?? record.killedExitCode ?? -1);
  return {
    ...common,
    status,
    running: live.running,
    exitCode: status === 'created' ? 0 : exitCode,
    ports: { ...record.ports },
    pid: live.running ? record.pid! : 0,
    restartCount: record.restartCount,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    ...(live.stale ? { error: `its PID ${record.pid} now belongs to another process (stale)` } : status === 'exited' && exitCode === -1 ? { error: 'it ended without its exit code being recorded' } : {}),
  };
}

/**
 * Runs `fn` holding `<state dir>/<project>/state.lock` (a file created exclusively, holding the owner's PID; one
 * left by a process that is gone is taken over). Waits up to `timeoutMs` (default 30000) for another holder.
 */
export async function withStateLock<T>(stateDir: string, project: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const dir = projectDir(stateDir, project);
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'state.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lock, 'utf8').trim() || '0');
      if (owner > 0 && !pidAlive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`The process driver's state of project ${project} is locked by PID ${owner} (${lock}); wait for that n3xus command to finish.`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
