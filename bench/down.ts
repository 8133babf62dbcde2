/**
 * `down` of the full fleet, on Docker and as processes, each against its floor measured in the same run:
 *   node --import tsx bench/down.ts [--runs N] [--no-compose] [--no-process]
 *
 * Docker (the fleet's own images, built first; project n3xus-bench-down). Each run launches the fleet with
 * `n3xus launch` three times, and after each launch times one way of taking it down again, in turn:
 *   a. `n3xus down --volumes` (the built CLI, process start included): stage by stage, extended first;
 *   b. the engine's floor for the same work: every container of the project stopped (SIGTERM, the same 10 s grace)
 *      and removed through the engine API, all at once, in no order, then the network and the volume;
 *   c. `docker-compose down -v` (Debian's 1.29) of the same fleet file, started by docker-compose (stage by stage, as
 *      .ci/run does, since one `up` of about 100 services can stall).
 * Processes (unless --no-process; the fleet file's ports remapped to free ones, a state directory of its own):
 *   d. `n3xus down --driver process --volumes` (the built CLI);
 *   e. the floor: SIGTERM to every instance's process group at once, timed until no member of any group is left
 *      (a zombie counts as gone), then the state cleared by down.
 * Medians over N runs (default 2), interleaved; the ratios are against the floors. Needs `npm run build`.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { DockerEngine } from '../src/docker/engine.ts';
import { DockerDriver } from '../src/drivers/docker/docker-driver.ts';
import { readState } from '../src/drivers/process/process-state.ts';
import { loadFleetImages } from '../src/images/archive.ts';
import { STATE_LABELS } from '../src/launch/labels.ts';
import { run } from '../src/process/run.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { countOption, downProject, fleetFileOnFreePorts, groupMembers, median, seconds } from './lib/util.ts';

const ROOT = projectRoot();
const argv = process.argv.slice(2);
const runs = countOption('--runs', 2);
const withCompose = !argv.includes('--no-compose');
const withProcess = !argv.includes('--no-process');

const { fleet } = await loadFleetImages();
const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const project = 'n3xus-bench-down';
const composeProject = 'n3xus-bench-down-compose';
const compose = ['--env-file', 'compose/airgap.env', '-f', 'compose/docker-compose.full.yml', '-p', composeProject];

async function cli(args: string[], options: { cwd?: string } = {}): Promise<number> {
  const startedAt = performance.now();
  try {
    await run(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], { timeoutMs: 900_000, ...options });
  } catch (error) {
    throw new Error(`n3xus ${args.join(' ')} failed: ${(error as Error).message}`, { cause: error });
  }
  return performance.now() - startedAt;
}

async function launch(): Promise<void> {
  await cli(['launch', '--project', project]);
}

/** b: every container of the project stopped and removed at once, in no order; then the network and the volume. */
async function engineFloor(): Promise<number> {
  const startedAt = performance.now();
  const containers = await engine.container.list({ labels: { [STATE_LABELS.project]: project } });
  const limit = pLimit(100);
  await Promise.all(
    containers.map((c) =>
      limit(async () => {
        await engine.container.stop(c.id, { timeoutS: 10 });
        await engine.container.remove(c.id);
      }),
    ),
  );
  const { stale } = await driver.removeResources(project, { volumes: true });
  if (stale !== undefined) throw new Error(`the engine floor: the engine would not remove network ${stale.join(', ')} (a stale endpoint, moby/moby#42119): restart dockerd`);
  return performance.now() - startedAt;
}

/** docker-compose up, stage by stage (at most 24 services a call, as .ci/run does). */
async function composeUp(): Promise<void> {
  const order = ['infra', 'core', 'federation', 'domain', 'compliance', 'puabo', 'vsuite', 'extended'];
  for (const stage of order) {
    const names = fleet.services.filter((s) => s.stage === stage).map((s) => s.name);
    for (let i = 0; i < names.length; i += 24) {
      await run('docker-compose', [...compose, 'up', '-d', '--no-build', ...names.slice(i, i + 24)], { timeoutMs: 300_000 });
    }
  }
}

async function composeDown(): Promise<number> {
  const startedAt = performance.now();
  await run('docker-compose', [...compose, 'down', '-v', '--timeout', '10'], { timeoutMs: 300_000 });
  return performance.now() - startedAt;
}

async function cleanDocker(): Promise<void> {
  await downProject(driver, project);
  await run('docker-compose', [...compose, 'down', '-v', '--timeout', '2'], { timeoutMs: 300_000 });
}

// ---------------------------------------------------------------- processes

/** e: SIGTERM to every group at once, until none is left (SIGKILL after 10 s, as down's grace). */
async function processFloor(stateDir: string, name: string): Promise<number> {
  const groups = new Set(readState(stateDir, name).records.flatMap((r) => (r.pid === undefined ? [] : [r.pid])));
  const startedAt = performance.now();
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  let killed = false;
  while (groupMembers(groups, { live: true }).length > 0) {
    if (!killed && performance.now() - startedAt > 10_000) {
      for (const pid of groupMembers(groups, { live: true })) process.kill(pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - startedAt;
}

// ---------------------------------------------------------------- the runs

const results = { ours: [] as number[], floor: [] as number[], compose: [] as number[], processOurs: [] as number[], processFloor: [] as number[] };

await cleanDocker();
try {
  for (let i = 1; i <= runs; i++) {
    console.log(`run ${i} of ${runs}: Docker…`);
    await launch();
    const ours = await cli(['down', '--project', project, '--volumes']);
    results.ours.push(ours);
    await launch();
    const floor = await engineFloor();
    results.floor.push(floor);
    let composeMs: number | undefined;
    if (withCompose) {
      await composeUp();
      composeMs = await composeDown();
      results.compose.push(composeMs);
    }
    console.log(`  n3xus down ${seconds(ours)}, engine floor ${seconds(floor)}${composeMs === undefined ? '' : `, docker-compose down ${seconds(composeMs)}`}`);
  }
} finally {
  await cleanDocker();
}

if (withProcess) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-bench-down-'));
  chmodSync(stateDir, 0o755); // as root, PostgreSQL runs as nobody and must reach its data directory
  const name = 'bench-down-process';
  const file = await fleetFileOnFreePorts(stateDir);
  const common = ['-f', file, '--project', name, '--driver', 'process', '--state-dir', stateDir];
  try {
    for (let i = 1; i <= runs; i++) {
      console.log(`run ${i} of ${runs}: processes…`);
      await cli(['launch', ...common], { cwd: stateDir });
      const ours = await cli(['down', ...common, '--volumes'], { cwd: stateDir });
      results.processOurs.push(ours);
      await cli(['launch', ...common], { cwd: stateDir });
      const floor = await processFloor(stateDir, name);
      results.processFloor.push(floor);
      await cli(['down', ...common, '--volumes'], { cwd: stateDir });
      console.log(`  n3xus down ${seconds(ours)}, floor ${seconds(floor)}`);
    }
  } finally {
    await cli(['down', ...common, '--volumes', '--timeout', '2'], { cwd: stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const row = (what: string, xs: number[]): string => `${what.padEnd(52)} ${seconds(median(xs)).padStart(7)}   (${xs.map(seconds).join(', ')})`;
console.log(`\ndown of ${fleet.services.length} instances, medians of ${runs} run(s), ${os.cpus().length} cores:`);
console.log(row('Docker: n3xus down --volumes (whole command)', results.ours));
console.log(row('Docker: engine floor (stop + remove all at once)', results.floor));
if (withCompose) console.log(row('Docker: docker-compose down -v', results.compose));
console.log(`Docker: n3xus down / engine floor                    ${(median(results.ours) / median(results.floor)).toFixed(2)}x`);
if (withCompose) console.log(`Docker: n3xus down / docker-compose down             ${(median(results.ours) / median(results.compose)).toFixed(2)}x`);
if (withProcess) {
  console.log(row('processes: n3xus down --volumes (whole command)', results.processOurs));
  console.log(row('processes: floor (SIGTERM to every group at once)', results.processFloor));
  console.log(`processes: n3xus down / floor                       ${(median(results.processOurs) / median(results.processFloor)).toFixed(2)}x`);
}
