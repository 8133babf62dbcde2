/**
 * The process driver's supervisor (issue 14): the fleet's file promises `restart: unless-stopped`, which Docker
 * keeps and bare processes do not. After a launch with the process driver, a `n3xus heal` runs detached beside the
 * fleet, registered in the project's watchers directory (see watchers.ts), its output in `logs/supervisor.log`.
 * `down` stops it before the fleet; a launch holds a lease meanwhile, so it does not fight the launch.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { projectDir } from '../drivers/process/process-state.ts';
import { pidAlive, startDetached } from '../process/detached.ts';
import { rotateLog } from '../process/log-rotation.ts';
import { tailFile } from '../logs/process-logs.ts';
import { projectRoot } from '../util/project-root.ts';
import { CodedError } from '../util/coded-error.ts';
import { sleep } from '../util/sleep.ts';
import { liveWatchers, watchersDir, type WatcherEntry } from './watchers.ts';

/** The supervisor did not come up. Exit 5. */
export class SupervisorError extends CodedError {
  override readonly name = 'SupervisorError';
}

export interface SupervisorOptions {
  stateDir: string;
  project: string;
  /** The fleet file and env file it was launched with. */
  file: string;
  envFile?: string;
  intervalMs: number;
  /** The environment it runs in (PATH finds PostgreSQL and Redis, N3XUS_* pick servers); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for it to register; default 15 s. */
  timeoutMs?: number;
}

const SUPERVISOR_LOG_LIMIT = { maxBytes: 10 * 1024 * 1024, files: 2 };

/** Where the supervisor of a project writes its events. */
export function supervisorLog(stateDir: string, project: string): string {
  return path.join(projectDir(path.resolve(stateDir), project), 'logs', 'supervisor.log');
}

/** The running supervisor of the project, if any. */
export function runningSupervisor(stateDir: string, project: string): WatcherEntry | undefined {
  return liveWatchers(watchersDir('process', { stateDir, project })).find((w) => w.supervisor);
}

/**
 * Starts the supervisor unless one runs; resolves with it once it has registered (it then watches), or throws with
 * the end of its log when it exited or did not register in time.
 */
export async function ensureSupervisor(options: SupervisorOptions): Promise<{ supervisor: WatcherEntry; started: boolean }> {
  const running = runningSupervisor(options.stateDir, options.project);
  if (running !== undefined) return { supervisor: running, started: false };
  const dir = projectDir(path.resolve(options.stateDir), options.project);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  const logFile = supervisorLog(options.stateDir, options.project);
  const exitFile = path.join(dir, 'run', 'supervisor.exit');
  rmSync(exitFile, { force: true });
  rotateLog(logFile, SUPERVISOR_LOG_LIMIT);
  const argv = [
    process.execPath,
    path.join(projectRoot(), 'bin', 'run.js'),
    'heal',
    '--driver',
    'process',
    '--state-dir',
    path.resolve(options.stateDir),
    '--project',
    options.project,
    '--file',
    path.resolve(options.file),
    ...(options.envFile === undefined ? [] : ['--env-file', path.resolve(options.envFile)]),
    '--interval',
    String(options.intervalMs / 1000),
    // A free port, which it registers (and status shows).
    '--metrics-port',
    '0',
    '--json',
    '--supervisor',
  ];
  const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const started = await startDetached({ argv, env, cwd: process.cwd(), logFile, exitFile, tag: `n3xus-supervisor:${options.project}` });
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const supervisor = runningSupervisor(options.stateDir, options.project);
    if (supervisor !== undefined) return { supervisor, started: true };
    const exited = !pidAlive(started.pid);
    if (exited || Date.now() > deadline) {
      const tail = tailFile(logFile, 5).join('\n');
      throw new SupervisorError(
        `The supervisor of project ${options.project} ${exited ? 'exited at start' : `did not start within ${Math.round((options.timeoutMs ?? 15_000) / 1000)} s`}; the fleet runs without one.${tail === '' ? '' : ` Its log ends with:\n${tail}`}`,
        'PROCESS_FAILED',
        [`Read ${logFile}, then launch again, or watch the fleet in a terminal: n3xus heal --driver process`],
      );
    }
    await sleep(100);
  }
}
