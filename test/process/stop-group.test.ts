/**
 * stopGroup on real processes: a group whose leader has exited but is not reaped yet (its parent has not collected
 * it, as PID 1 here takes 1.2-1.5 s to) has ended; waiting for the reaping made `down` of the process fleet take
 * ~2 s a stage. A straggler of such a group is killed; a live group is still stopped by its signal.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupAlive, isZombie, stopGroup } from '../../src/process/detached.ts';

/** Starts `script` in a shell whose last act is `exec sleep`, so that it never reaps its children; resolves with its first output line. */
function parentThatDoesNotReap(script: string): Promise<{ line: string; parent: number }> {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.once('data', (chunk: Buffer) => resolve({ line: chunk.toString().trim(), parent: child.pid! }));
  });
}

const state = (pid: number): string => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return 'gone';
  }
};

describe('stopGroup', () => {
  it('takes a group whose leader has exited, not yet reaped, as ended, and kills what is left of it', async () => {
    // The leader (a session of its own) starts a straggler in its group, prints both PIDs and exits at once; its
    // parent then becomes `sleep 5`, which never reaps it.
    const { line, parent } = await parentThatDoesNotReap(`setsid sh -c 'sleep 30 & echo "$$ $!"; exit 0' & exec sleep 5`);
    const [leader, straggler] = line.split(' ').map(Number) as [number, number];
    for (let i = 0; i < 100 && !isZombie(leader); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isZombie(leader)).toBe(true);
    expect(groupAlive(leader)).toBe(true); // kill(2) still finds the group

    const result = await stopGroup(leader, 'SIGTERM', 10_000);
    expect(result).toEqual({ killed: false });
    // It returned while the leader still waits to be reaped: it did not wait for the reaping.
    expect(state(leader)).toBe('Z');
    for (let i = 0; i < 100 && !['Z', 'gone'].includes(state(straggler)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(['Z', 'gone']).toContain(state(straggler));
    process.kill(parent, 'SIGKILL');
  }, 20_000);

  it('stops a live group by its signal', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    expect(await stopGroup(child.pid!, 'SIGTERM', 5_000)).toEqual({ killed: false });
    await exited;
    expect(groupAlive(child.pid!)).toBe(false);
  });
});
