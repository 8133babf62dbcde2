/**
 * Footprint of the fleet's images and of the running fleet, on this machine:
 *   node --import tsx bench/fleet-footprint.ts [--no-run]
 * Prints the shared runtime layer, the per-service layer, what all 98 service images take on disk (shared layers
 * counted once), then starts the 100 containers with docker-compose (Debian's 1.29, local images), waits until
 * every service answers /health on its published port, and measures one idle service's memory and the fleet's CPU
 * over one whole service healthcheck interval with every healthcheck on (each service runs its check once in it).
 *
 * CPU is given two ways. The whole machine (minus a baseline taken before) is noisy on a shared machine. The
 * fleet's own share is exact: the CPU time of every container's cgroup (the services and their health-check
 * execs) plus that of the engine's processes (dockerd, containerd, every containerd-shim and the runc children
 * they reaped), read before and after the interval. The fleet is removed at the end.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DockerEngine } from '../src/docker/engine.ts';
import { loadCatalog } from '../src/fleet/catalog.ts';
import { HEALTHCHECK, INFRA_HEALTHCHECK, imageTag } from '../src/fleet/service-files.ts';
import { httpRequest } from '../src/http/client.ts';
import { run } from '../src/process/run.ts';
import { containersCpuSeconds } from './lib/cgroup.ts';
import { mb } from './lib/util.ts';

const engine = new DockerEngine();
const catalog = loadCatalog();
const project = 'n3xus-footprint';
const compose = ['--env-file', 'compose/airgap.env', '-f', 'compose/docker-compose.full.yml', '-p', project];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function imageSizes(): Promise<void> {
  const tags = new Set(catalog.services.map((s) => imageTag(catalog, s.name)));
  const df = await engine.diskUsage();
  const images = df.images.filter((i) => i.tags.some((t) => tags.has(t)));
  if (images.length !== tags.size) throw new Error(`${tags.size - images.length} service images are missing: run n3xus images build`);
  const history = await engine.image.history(imageTag(catalog, 'feature-flags'));
  const runtime = history.find((h) => /COPY dir:\S+ in \/opt\/n3xus\/ $/.test(h.createdBy) || h.createdBy.includes('in /opt/n3xus/ '));
  const own = history.find((h) => h.createdBy.includes('/opt/n3xus/services/feature-flags/'));
  const shared = Math.max(...images.map((i) => i.sharedSizeBytes));
  const unique = images.reduce((sum, i) => sum + (i.sizeBytes - i.sharedSizeBytes), 0);
  const base = await engine.imageInspect('n3xus/node:24');
  console.log(`node base image (n3xus/node:24):         ${mb(base.sizeBytes)}`);
  console.log(`shared runtime layer (kit+law+probe):    ${mb(runtime?.sizeBytes ?? NaN)}`);
  console.log(`per-service layer (feature-flags):       ${((own?.sizeBytes ?? NaN) / 1e3).toFixed(1)} kB`);
  console.log(`one service image, as docker lists it:   ${mb(images[0]!.sizeBytes)}`);
  console.log(`all 98 service images on disk:           ${mb(shared + unique)} (shared ${mb(shared)} + unique ${mb(unique)})`);
}

function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function procMemory(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  return `VmRSS ${(kb('VmRSS') / 1024).toFixed(1)} MiB (anonymous ${(kb('RssAnon') / 1024).toFixed(1)} MiB, file-backed ${(kb('RssFile') / 1024).toFixed(1)} MiB shared by every service), PSS ${(pss / 1024).toFixed(1)} MiB`;
}

const CLOCK_TICKS_PER_S = 100;

/** CPU seconds of the engine's processes: dockerd, containerd and the shims, with the children they reaped. */
function engineCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (!['dockerd', 'containerd', 'containerd-shim', 'containerd-shim-runc-v2'].some((c) => comm === c || comm.startsWith('containerd-shim'))) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the command.
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / CLOCK_TICKS_PER_S;
}

/** Resolves once GET /health on 127.0.0.1:`port` answers 200, polling every 500 ms until `deadline`. */
async function answering(port: number, deadline: number): Promise<void> {
  for (;;) {
    try {
      // Not fetch(): it refuses the WHATWG "bad ports", and feature-store's 4045 is one of them.
      const response = await httpRequest(`http://127.0.0.1:${port}/health`, { timeoutMs: 2000 });
      if (response.status === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`nothing answers /health on 127.0.0.1:${port}`);
    await sleep(500);
  }
}

/** Share of both cores busy over `seconds`, in units of one core. */
async function machineCpu(seconds: number): Promise<number> {
  const a = cpuJiffies();
  await sleep(seconds * 1000);
  const b = cpuJiffies();
  return ((b.busy - a.busy) / (b.total - a.total)) * 2;
}

async function fleetRun(): Promise<void> {
  // What this machine spends with no fleet at all (the sandbox's own processes), to subtract below.
  const baseline = await machineCpu(60);
  console.log(`machine without the fleet, over 60 s: ${baseline.toFixed(3)} of one core`);
  const t0 = performance.now();
  await run('docker-compose', [...compose, 'up', '-d', '--no-build'], { timeoutMs: 600_000 });
  console.log(`docker-compose up -d: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    await Promise.all(catalog.services.map((svc) => answering(svc.hostPort, Date.now() + 300_000)));
    console.log(`all 98 services answer /health after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const containers = await engine.container.list({ labels: { 'com.docker.compose.project': project } });
    if (containers.length !== 100) throw new Error(`expected 100 containers, found ${containers.length}`);
    const flags = containers.find((c) => c.labels['com.docker.compose.service'] === 'feature-flags')!;
    // Let start-up work settle (migrations, first connections) before measuring an idle fleet.
    await sleep(30_000);
    console.log(`idle feature-flags: ${procMemory((await engine.container.inspect(flags.id)).pid!)}`);
    const ids = containers.map((c) => c.id);
    const windowS = HEALTHCHECK.intervalSeconds;
    const before = { containers: containersCpuSeconds(ids), engine: engineCpuSeconds() };
    const machine = await machineCpu(windowS);
    const after = { containers: containersCpuSeconds(ids), engine: engineCpuSeconds() };
    const inContainers = (after.containers - before.containers) / windowS;
    const inEngine = (after.engine - before.engine) / windowS;
    const healthy = (await engine.container.list({ labels: { 'com.docker.compose.project': project } })).filter((c) => c.health === 'healthy').length;
    console.log(`idle fleet with every healthcheck on (services every ${HEALTHCHECK.intervalSeconds} s, infra every ${INFRA_HEALTHCHECK.intervalSeconds} s), over ${windowS} s:`);
    console.log(`  fleet's own CPU: ${(inContainers + inEngine).toFixed(3)} of one core = containers ${inContainers.toFixed(3)} (services, postgres, redis, health execs) + engine ${inEngine.toFixed(3)} (dockerd, containerd, shims, runc)`);
    console.log(`  whole machine: ${machine.toFixed(3)} of one core, ${(machine - baseline).toFixed(3)} above the machine without the fleet (noisy: shared machine)`);
    console.log(`  Docker-healthy at the end of the interval: ${healthy}/100 (each service's first check falls inside it)`);
  } finally {
    await run('docker-compose', [...compose, 'down', '-v', '--timeout', '10'], { timeoutMs: 300_000 });
  }
}

await imageSizes();
if (!process.argv.includes('--no-run')) await fleetRun();
