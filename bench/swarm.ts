/**
 * The full fleet on a one-node swarm against the Docker driver, on this machine, in one run:
 *   node --import tsx bench/swarm.ts [--runs N] [--idle-seconds S]
 *
 * Each round, from nothing (no containers, no services, no volume):
 * 1. `n3xus launch --driver docker` (the built CLI, process start included) until all 100 are healthy; the CPU of
 *    the idle fleet over `--idle-seconds`; `down`.
 * 2. `n3xus launch --driver swarm` until all 100 Swarm services are healthy (answering through the loopback
 *    gateway as launch probes them); then the no-op relaunch; `verify --full --driver swarm` (from inside the
 *    overlay network); the CPU of the idle Swarm fleet over `--idle-seconds` (default 60: the whole machine's busy
 *    time from /proc/stat, in cores); `down`.
 * The rounds alternate the two drivers' order so neither always runs on a warmer machine. The engine is made a
 * one-node swarm (advertised on 127.0.0.1) for the run when it is in none, and leaves it afterwards.
 * Prints every figure and the ratio swarm / docker.
 */
import { readFileSync } from 'node:fs';
import { DockerEngine } from '../src/docker/engine.ts';
import { run } from '../src/process/run.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(name);
  const value = at < 0 ? fallback : Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Expected ${name} to be a whole number from 1 up`);
  return value;
};
const runs = option('--runs', 1);
const idleSeconds = option('--idle-seconds', 60);
const engine = new DockerEngine();
const project = 'n3xus-bench-swarm';
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function cli(args: string[]): Promise<number> {
  const startedAt = performance.now();
  await run(process.execPath, ['bin/run.js', ...args, '--project', project], { timeoutMs: 900_000 });
  return performance.now() - startedAt;
}

function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Cores busy on this machine over `windowS` seconds (1.0 is one core all the time). */
async function busyCores(windowS: number): Promise<number> {
  const a = cpuJiffies();
  await new Promise((resolve) => setTimeout(resolve, windowS * 1000));
  const b = cpuJiffies();
  const cores = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
  return ((b.busy - a.busy) / (b.total - a.total)) * cores;
}

const joined = (await engine.swarm.state()).state !== 'active';
if (joined) await engine.swarm.init({ advertiseAddr: '127.0.0.1' });
const results = { docker: [] as number[], swarm: [] as number[], noOp: [] as number[], verify: [] as number[], idle: [] as number[], dockerIdle: [] as number[], down: [] as number[] };

/** The whole machine's busy cores with the fleet idle: start-up work (migrations, first connections) settled first. */
async function idleCores(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  return busyCores(idleSeconds);
}
try {
  for (const driver of ['docker', 'swarm']) await cli(['down', '--driver', driver, '--volumes', '--timeout', '2']).catch(() => undefined);
  for (let round = 0; round < runs; round++) {
    const order = round % 2 === 0 ? ['docker', 'swarm'] : ['swarm', 'docker'];
    for (const driver of order) {
      console.log(`round ${round + 1}: n3xus launch --driver ${driver} of 100…`);
      if (driver === 'docker') {
        results.docker.push(await cli(['launch', '--driver', 'docker']));
        results.dockerIdle.push(await idleCores());
        await cli(['down', '--driver', 'docker', '--volumes', '--timeout', '2']);
        continue;
      }
      results.swarm.push(await cli(['launch', '--driver', 'swarm']));
      results.noOp.push(await cli(['launch', '--driver', 'swarm']));
      results.verify.push(await cli(['verify', '--full', '--driver', 'swarm', '--threshold', '100']));
      results.idle.push(await idleCores());
      results.down.push(await cli(['down', '--driver', 'swarm', '--volumes', '--timeout', '2']));
    }
  }
} finally {
  for (const driver of ['docker', 'swarm']) await cli(['down', '--driver', driver, '--volumes', '--timeout', '2']).catch(() => undefined);
  if (joined) await engine.swarm.leave({ force: true });
}

const all = (values: number[], show: (v: number) => string): string => `${show(median(values))}${values.length > 1 ? ` (runs: ${values.map(show).join(', ')})` : ''}`;
console.log(`n3xus launch --driver docker, all 100 healthy:       ${all(results.docker, seconds)}`);
console.log(`n3xus launch --driver swarm, all 100 healthy:        ${all(results.swarm, seconds)}`);
console.log(`ratio swarm / docker:                                ${(median(results.swarm) / median(results.docker)).toFixed(2)}x`);
console.log(`swarm no-op relaunch, whole command:                 ${all(results.noOp, seconds)}`);
console.log(`swarm verify --full from inside the network:          ${all(results.verify, seconds)}`);
const cores = (v: number): string => `${v.toFixed(2)} cores`;
console.log(`idle swarm fleet, whole machine, over ${idleSeconds} s:          ${all(results.idle, cores)}`);
console.log(`idle Docker-driver fleet, whole machine, over ${idleSeconds} s:  ${all(results.dockerIdle, cores)}`);
console.log(`swarm down (services, gateway, network, secrets):    ${all(results.down, seconds)}`);
