/**
 * What watching the launched fleet costs when nothing happens (issue 14: the target is ≤ 0.05 core at a 5 s
 * interval):
 *   node --import tsx bench/heal-idle.ts [--driver docker|process] [--seconds 60] [--interval 5] [--warmup 30]
 * First `--seconds` without a watcher, then as long with `n3xus heal` (the built CLI, spawned) watching: the CPU of
 * the watcher itself (/proc/<pid>/stat), of the fleet (its containers' cgroups, or its processes), of the engine's
 * daemons (dockerd, containerd, docker-proxy), and of the whole machine (/proc/stat, shared with whatever else runs),
 * each in cores. What watching costs is the watcher plus what the fleet and the engine spend more with it. Needs the fleet launched and the CLI
 * built; with the process driver, launch's own supervisor is stopped first (down stops it too) and none is left.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stopWatchers, watchersDir } from '../src/heal/watchers.ts';
import { loadCommandFleet } from '../src/cli/load-fleet.ts';
import { selectDriver } from '../src/cli/select-driver.ts';
import { containersCpuSeconds } from './lib/cgroup.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { sleep } from '../src/util/sleep.ts';
import { countOption, groupMembers, option } from './lib/util.ts';

const kind = (option('--driver') ?? 'docker') as 'docker' | 'process';
const windowS = countOption('--seconds', 60);
const interval = option('--interval') ?? '5';
const stateDir = option('--state-dir') ?? '.n3xus';
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds a process has used (user + system). */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** CPU seconds the whole machine has been busy (everything but idle and iowait). */
function machineBusy(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) / TICKS;
}

const pidsOf = (names: string[]) => names.flatMap((name) => spawnSync('pidof', [name], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean).map(Number));
const sum = (pids: number[]) => pids.reduce((a, pid) => a + processCpu(pid), 0);

/** The fleet's own CPU seconds: its containers' cgroups, or its processes (each instance's process group). */
async function fleetCpu(): Promise<() => number> {
  const instances = (await driver.observe(project)).filter((i) => i.running);
  if (kind === 'docker') {
    const ids = instances.map((i) => i.id);
    return () => containersCpuSeconds(ids);
  }
  const groups = new Set(instances.flatMap((i) => (i.pid === undefined ? [] : [i.pid])));
  return () => sum(groupMembers(groups, { live: true }));
}

/**
 * Cores used over the window by the machine, the fleet (its services answering the probes), the engine's daemons
 * (dockerd, containerd, and docker-proxy, which carries each connection to a published port) and `pid`.
 */
async function window(pid?: number): Promise<{ machine: number; fleet: number; engine: number; watcher?: number }> {
  const engine = kind === 'docker' ? pidsOf(['dockerd', 'containerd', 'docker-proxy']) : [];
  const fleet = await fleetCpu();
  const before = { machine: machineBusy(), fleet: fleet(), engine: sum(engine), watcher: pid === undefined ? 0 : processCpu(pid) };
  await sleep(windowS * 1000);
  const cores = (a: number, b: number) => (b - a) / windowS;
  return {
    machine: cores(before.machine, machineBusy()),
    fleet: cores(before.fleet, fleet()),
    engine: cores(before.engine, sum(engine.filter((p) => existsSync(`/proc/${p}`)))),
    ...(pid === undefined ? {} : { watcher: cores(before.watcher, processCpu(pid)) }),
  };
}

const { fleet, project } = await loadCommandFleet({});
const { driver } = await selectDriver({ driver: kind, stateDir, project, fleet, requireState: true });
if (kind === 'process') {
  const stopped = await stopWatchers(watchersDir('process', { stateDir, project }));
  if (stopped.length > 0) console.log(`stopped ${stopped.length} watcher (the supervisor) for the window without one`);
}
const args = ['heal', '--json', '--interval', interval, '--metrics-port', '0', '--driver', kind, ...(kind === 'process' ? ['--state-dir', stateDir] : [])];
console.log(`idle cost of watching the ${kind} fleet of project ${project}: ${windowS} s without a watcher, then ${windowS} s with n3xus ${args.join(' ')}`);
const without = await window();
const child = spawn(process.execPath, [path.join(projectRoot(), 'bin/run.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (c: Buffer) => (out += c.toString()));
// Not idle yet: the watcher's start-up (the CLI, the fleet, its first sweep), and each service's first answers, which
// compile its request path (measured: the process fleet spent 0.064 core in a window begun 5 s after the watcher's
// start, 0.022 once warm).
await sleep(countOption('--warmup', 30) * 1000);
const withWatcher = await window(child.pid!);
child.kill('SIGINT');
await new Promise((resolve) => child.once('close', resolve));
const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { kind: string }).kind).filter((k) => !['watching', 'stopped'].includes(k));
const f = (cores: number) => `${cores.toFixed(3)} core`;
const parts = (w: { fleet: number; engine: number }) => `the fleet ${f(w.fleet)}${kind === 'docker' ? `, dockerd+containerd+docker-proxy ${f(w.engine)}` : ''}`;
console.log(`without a watcher: ${parts(without)}; the machine ${f(without.machine)}`);
console.log(`with n3xus heal every ${interval} s: the watcher ${f(withWatcher.watcher!)}, ${parts(withWatcher)}; the machine ${f(withWatcher.machine)}`);
const added = withWatcher.watcher! + withWatcher.fleet - without.fleet + withWatcher.engine - without.engine;
console.log(`watching costs ${f(added)} in all: the watcher itself, the services' answers and the engine's work it causes (the machine's difference, with its other tenants: ${f(withWatcher.machine - without.machine)}); events while watching: ${events.length === 0 ? 'none' : events.join(', ')}`);
if (kind === 'process') console.log('the supervisor is not restarted: launch --driver process starts it again');
