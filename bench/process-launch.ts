/**
 * The full fleet (98 services, PostgreSQL and Redis) launched with the process driver, no Docker involved:
 *   node --import tsx bench/process-launch.ts            # on free ports (a copy of the compose file, ports remapped)
 *   flock /tmp/n3xus-fleet.lock node --import tsx bench/process-launch.ts --default-ports
 *
 * 1. `n3xus launch --driver process` (the built CLI, process start included) until it returns with all 100 healthy;
 * 2. the fleet's memory once it is up: the sum over every process the driver started (each service's process
 *    group: the sh wrapper and node; PostgreSQL with its backends; Redis) of VmRSS from /proc/<pid>/status and
 *    of Pss from /proc/<pid>/smaps_rollup (RSS counts shared pages once per process, PSS shares them out);
 * 3. `n3xus verify --full --threshold 100 --driver process`: every check of every service passes (or the bench fails);
 * 4. `n3xus launch` again: the no-op relaunch;
 * 5. `n3xus down --volumes`, timed too.
 * Starts from an empty state directory of its own and removes it after. Needs `npm run build` first.
 *
 * Measured here (2 shared cores, 24 GB, nothing else running, --default-ports, 2026-11-27): launch to all 100
 * healthy 41.7 s, verify --full at 100 % in 2.4 s, no-op relaunch 1.0 s, down 20.5 s; RSS 7721 MiB and PSS 3190 MiB
 * over 200 processes (98 node services at 76.6 MiB RSS each on average, their sh wrappers, PostgreSQL with its
 * backends, Redis). RSS counts the node binary's shared pages in every service; PSS is the memory the fleet really
 * takes.
 */
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../src/process/run.ts';
import { readState } from '../src/drivers/process/process-state.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { fleetFileOnFreePorts, groupMembers } from './lib/util.ts';

const ROOT = projectRoot();
const defaultPorts = process.argv.includes('--default-ports');
const project = 'bench-process';
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-bench-process-'));
chmodSync(stateDir, 0o755); // as root, PostgreSQL runs as nobody and must reach its data directory
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The full compose file, or a copy of it whose published ports are free ones (the fleet on its own ports may be up). */
async function fleetFile(): Promise<string> {
  return defaultPorts ? path.join(ROOT, 'compose', 'docker-compose.full.yml') : fleetFileOnFreePorts(stateDir);
}

async function cli(args: string[]): Promise<number> {
  const startedAt = performance.now();
  await run(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], { cwd: stateDir, timeoutMs: 900_000, env: { CI: 'true' } });
  return performance.now() - startedAt;
}

function kib(file: string, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

const file = await fleetFile();
const common = ['-f', file, '--project', project, '--driver', 'process', '--state-dir', stateDir];
try {
  const launchMs = await cli(['launch', ...common]);
  const records = readState(stateDir, project).records;
  const pids = groupMembers(new Set(records.map((r) => r.pid!).filter((pid) => pid !== undefined)));
  const rssKiB = pids.reduce((sum, pid) => sum + kib(`/proc/${pid}/status`, 'VmRSS'), 0);
  const pssKiB = pids.reduce((sum, pid) => sum + kib(`/proc/${pid}/smaps_rollup`, 'Pss'), 0);
  const node = records.filter((r) => r.argv[0] === process.execPath).map((r) => r.pid!);
  const nodePids = groupMembers(new Set(node)).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === process.execPath;
    } catch {
      return false;
    }
  });
  const perService = nodePids.reduce((sum, pid) => sum + kib(`/proc/${pid}/status`, 'VmRSS'), 0) / Math.max(1, nodePids.length);
  const verifyMs = await cli(['verify', '--full', '--threshold', '100', '-f', file, '--project', project, '--driver', 'process', '--state-dir', stateDir]);
  const noOpMs = await cli(['launch', ...common]);
  const downMs = await cli(['down', ...common, '--volumes', '--timeout', '5']);
  console.log(`process driver, ${records.length} instances (${defaultPorts ? 'default ports' : 'free ports'}), ${os.cpus().length} cores:`);
  console.log(`  launch to all healthy:  ${seconds(launchMs)}`);
  console.log(`  verify --full at 100 %: passed in ${seconds(verifyMs)}`);
  console.log(`  no-op relaunch:         ${seconds(noOpMs)}`);
  console.log(`  down:                   ${seconds(downMs)}`);
  console.log(`  fleet memory:           RSS ${(rssKiB / 1024).toFixed(0)} MiB, PSS ${(pssKiB / 1024).toFixed(0)} MiB over ${pids.length} processes`);
  console.log(`  one service (node):     RSS ${(perService / 1024).toFixed(1)} MiB on average over ${nodePids.length}`);
} finally {
  await run(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'down', ...common, '--volumes', '--timeout', '2'], { cwd: stateDir }).catch(() => undefined);
  rmSync(stateDir, { recursive: true, force: true });
}
