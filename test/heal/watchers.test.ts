/**
 * The watchers directory (src/heal/watchers.ts) on real processes: who registered, which lease is held, stale
 * entries swept, and stopWatchers ending a watcher with SIGTERM (SIGKILL for one that ignores it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeLease, holdLease, liveWatchers, registerWatcher, stopWatchers, takeLease, watchersDir } from '../../src/heal/watchers.ts';
import { processStartTicks } from '../../src/process/detached.ts';

let dir = '';
const children: ChildProcess[] = [];

/** A node process that runs until killed; with `stubborn`, it ignores SIGTERM. */
async function child(stubborn = false): Promise<{ pid: number; startTicks: number; exited: Promise<NodeJS.Signals | null> }> {
  const code = `${stubborn ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('up');`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => c.once('exit', (_code, signal) => resolve(signal)));
  await new Promise((resolve) => c.stdout!.once('data', resolve));
  return { pid: c.pid!, startTicks: processStartTicks(c.pid!)!, exited };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-watchers-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the watchers directory', () => {
  it('lives in the process state for the process driver, and per engine address in the cache for the others', () => {
    expect(watchersDir('process', { stateDir: '/srv/state', project: 'p' })).toBe('/srv/state/p/watchers');
    const a = watchersDir('docker', { stateDir: '.n3xus', project: 'p', env: { N3XUS_CACHE_DIR: '/c' } });
    const b = watchersDir('docker', { stateDir: '.n3xus', project: 'p', env: { N3XUS_CACHE_DIR: '/c', DOCKER_HOST: 'tcp://10.0.0.2:2375' } });
    expect(a).toMatch(/^\/c\/watchers\/docker-[0-9a-f]{12}-p$/);
    expect(b).not.toBe(a);
  });

  it('lists a registered watcher until it unregisters, and sweeps an entry whose process has ended', async () => {
    const unregister = registerWatcher(dir, { intervalMs: 5000, supervisor: false, metricsPort: 9464 });
    expect(liveWatchers(dir)).toEqual([expect.objectContaining({ pid: process.pid, intervalMs: 5000, supervisor: false, metricsPort: 9464 })]);
    unregister();
    expect(liveWatchers(dir)).toEqual([]);
    const gone = await child();
    writeFileSync(path.join(dir, `watcher-${gone.pid}.json`), JSON.stringify({ pid: gone.pid, startTicks: gone.startTicks, startedAt: '', intervalMs: 1, supervisor: true }));
    expect(liveWatchers(dir)).toHaveLength(1);
    process.kill(gone.pid, 'SIGKILL');
    await gone.exited;
    expect(liveWatchers(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes a PID reused by another process for an ended one: the start time must match", async () => {
    const other = await child();
    writeFileSync(path.join(dir, `watcher-${other.pid}.json`), JSON.stringify({ pid: other.pid, startTicks: other.startTicks - 1, startedAt: '', intervalMs: 1, supervisor: false }));
    writeFileSync(path.join(dir, `lease-${other.pid}.json`), '{"pid": 1, "startTi');
    expect(liveWatchers(dir)).toEqual([]);
    expect(activeLease(dir)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("sees another process's lease, not its own", async () => {
    const release = holdLease(dir, 'launch');
    expect(activeLease(dir)).toBeUndefined();
    release();
    const launcher = await child();
    writeFileSync(path.join(dir, `lease-${launcher.pid}.json`), JSON.stringify({ pid: launcher.pid, startTicks: launcher.startTicks, operation: 'launch', since: '' }));
    expect(activeLease(dir)).toMatchObject({ pid: launcher.pid, operation: 'launch' });
  });

  it('stops each live watcher with SIGTERM, and one that ignores it with SIGKILL after the timeout', async () => {
    const polite = await child();
    const stubborn = await child(true);
    for (const w of [polite, stubborn]) writeFileSync(path.join(dir, `watcher-${w.pid}.json`), JSON.stringify({ pid: w.pid, startTicks: w.startTicks, startedAt: '', intervalMs: 1, supervisor: w === polite }));
    const stopped = await stopWatchers(dir, { timeoutMs: 1_000 });
    expect(stopped.map((w) => w.pid).sort()).toEqual([polite.pid, stubborn.pid].sort());
    expect(await polite.exited).toBe('SIGTERM');
    expect(await stubborn.exited).toBe('SIGKILL');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('makes a launch wait while another process holds the fleet, then take it; or go on after the deadline, saying so', async () => {
    const heal = await child();
    writeFileSync(path.join(dir, `lease-${heal.pid}.json`), JSON.stringify({ pid: heal.pid, startTicks: heal.startTicks, operation: 'n3xus heal, restarting 2 services', since: new Date().toISOString() }));
    const said: string[] = [];
    let taken = false;
    const taking = takeLease(dir, 'launch', { onWait: (what) => said.push(what) }).then((release) => {
      taken = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(taken).toBe(false);
    expect(said).toEqual([`waiting for n3xus heal, restarting 2 services (pid ${heal.pid}) to finish with the fleet`]);
    process.kill(heal.pid, 'SIGKILL');
    await heal.exited;
    const release = await taking;
    expect(readdirSync(dir)).toEqual([`lease-${process.pid}.json`]);
    release();
    expect(readdirSync(dir)).toEqual([]);

    const stuck = await child();
    writeFileSync(path.join(dir, `lease-${stuck.pid}.json`), JSON.stringify({ pid: stuck.pid, startTicks: stuck.startTicks, operation: 'launch', since: new Date().toISOString() }));
    const late: string[] = [];
    (await takeLease(dir, 'launch', { timeoutMs: 200, onWait: (what) => late.push(what) }))();
    expect(late[late.length - 1]).toBe(`launch (pid ${stuck.pid}) still holds the fleet after 0.2 s; going on`);
  });
});

