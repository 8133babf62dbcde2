/**
 * Long-lived processes that outlive the CLI: started in a session (and process group) of their own, output
 * appended to a log file, exit code written to a file by a small `sh` wrapper, so that a later invocation can still
 * tell a crash (and its exit code) from a stop. Liveness is read from /proc, which also tells a reused PID apart by
 * its start time. This module and run.ts are the only places that spawn processes.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

/** How to start one detached process. */
export interface DetachedSpec {
  /** The program and its arguments. */
  argv: readonly string[];
  /** The whole environment of the process (nothing is inherited). */
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** The wrapper writes the exit code here when the program ends (any old file must be removed first). */
  exitFile: string;
  /** Names the process in `ps` and in /proc/<pid>/cmdline, so a reused PID is not taken for it. */
  tag: string;
}

/** A started process: its PID (also its process group ID) and its start time in clock ticks since boot. */
export interface DetachedProcess {
  pid: number;
  startTicks: number;
}

/**
 * The wrapper: `trap :` makes the shell outlive a SIGTERM or SIGINT sent to the group, so it can record the exit
 * code of the program, which gets the signal with its default disposition (a trapped signal is reset in children).
 */
const WRAPPER = 'trap : INT TERM HUP; "$@"; code=$?; echo "$code" > "$N3XUS_EXIT_FILE"; exit "$code"';

/** Starts `spec` detached; resolves once the PID is known (not once the program is ready). */
export async function startDetached(spec: DetachedSpec): Promise<DetachedProcess> {
  if (spec.argv.length === 0) throw new TypeError('Expected `argv` to name a program');
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn('/bin/sh', ['-c', WRAPPER, spec.tag, ...spec.argv], {
      cwd: spec.cwd,
      env: { ...spec.env, N3XUS_EXIT_FILE: spec.exitFile },
      detached: true,
      stdio: ['ignore', out, out],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    const startTicks = processStartTicks(pid);
    // It may already be gone (a program that cannot start): its exit file says how; 0 ticks marks "never seen".
    return { pid, startTicks: startTicks ?? 0 };
  } finally {
    closeSync(out);
  }
}

/** Fields of /proc/<pid>/stat after the command name: state is [0], starttime is [19]. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** When the process started, in clock ticks since boot, or undefined when there is no such process. */
export function processStartTicks(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[19]);
}

/** Whether this system has Linux's /proc, which tells a process's start time and command line. */
const HAS_PROC = existsSync('/proc/self/stat');

/**
 * Whether `pid` is still the process that was started with `tag` at `startTicks`: alive (not a zombie), same
 * start time, and its command line carries the tag. Anything else is a process that has ended (or a stale PID).
 * Without /proc (macOS, the BSDs) only "alive" can be checked, so a reused PID is not recognised there.
 */
export function isSameProcess(pid: number, startTicks: number, tag: string): boolean {
  if (!HAS_PROC) return groupAlive(pid) && pidAlive(pid);
  const fields = statFields(pid);
  if (fields === undefined || fields[0] === 'Z' || fields[0] === 'X') return false;
  if (startTicks !== 0 && Number(fields[19]) !== startTicks) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(tag);
  } catch {
    return false;
  }
}

/** Whether a process with this PID exists (one of another user's counts). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any process of the group `pgid` is alive (zombies aside, as far as kill(2) can tell). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `signal` to every process of the group `pgid`; a group that is gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Whether the process `pid` has exited and waits to be reaped (state Z in /proc). A detached instance's parent is
 * PID 1, which reaps when it gets to it: 1.2-1.5 s later on this project's machines, during which kill(2) still
 * finds the group.
 */
export function isZombie(pid: number): boolean {
  return statFields(pid)?.[0] === 'Z';
}

/**
 * Stops the group `pgid`: `signal`, then up to `timeoutMs` for it to end, then SIGKILL. Resolves with whether it
 * had to be killed. The group has ended once its leader (the instance's wrapper, which waits for the service) has
 * exited, reaped or not; anything of the group still running then is killed, which cannot reach another group: the
 * zombie keeps its PID, and so the group's ID, from being reused.
 */
export async function stopGroup(pgid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<{ killed: boolean }> {
  if (!groupAlive(pgid)) return { killed: false };
  signalGroup(pgid, signal);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return { killed: false };
    if (isZombie(pgid)) {
      signalGroup(pgid, 'SIGKILL');
      return { killed: false };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return { killed: true };
}
