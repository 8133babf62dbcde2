/**
 * Footprint of the fleet's images and of the running fleet, on this machine:
 *   node --import tsx bench/fleet-footprint.ts [--no-run]
 * Prints the shared runtime layer, the per-service layer, what all 98 service images take on disk (shared layers
 * counted once), then starts the 100 containers with docker-compose (Debian's 1.29, local images), waits until
 * every container is healthy to Docker, and measures one idle service's memory and the whole machine's CPU over
 * two healthcheck intervals with every healthcheck on. The fleet is removed at the end.
 */
import { readFileSync } from 'node:fs';
import { DockerEngine } from '../src/docker/engine.ts';
import { loadCatalog } from '../src/fleet/catalog.ts';
import { HEALTHCHECK, INFRA_HEALTHCHECK, imageTag } from '../src/fleet/service-files.ts';
import { run } from '../src/process/run.ts';

const engine = new DockerEngine();
const catalog = loadCatalog();
const project = 'n3xus-footprint';
const compose = ['--env-file', 'compose/airgap.env', '-f', 'compose/docker-compose.full.yml', '-p', project];
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
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
    const deadline = Date.now() + (HEALTHCHECK.intervalSeconds + 180) * 1000;
    let containers = await engine.container.list({ labels: { 'com.docker.compose.project': project } });
    for (;;) {
      containers = await engine.container.list({ labels: { 'com.docker.compose.project': project } });
      const healthy = containers.filter((c) => c.health === 'healthy').length;
      if (healthy === 100) break;
      if (Date.now() > deadline) throw new Error(`only ${healthy}/100 healthy: ${containers.filter((c) => c.health !== 'healthy').map((c) => `${c.name} ${c.status}/${c.health}`).slice(0, 10).join(', ')}`);
      await sleep(2000);
    }
    console.log(`all 100 Docker-healthy after ${((performance.now() - t0) / 1000).toFixed(1)} s (the engine runs the first check one interval after start)`);
    const flags = containers.find((c) => c.labels['com.docker.compose.service'] === 'feature-flags')!;
    console.log(`idle feature-flags: ${procMemory((await engine.container.inspect(flags.id)).pid!)}`);
    // Steady state: every container has started and run its first check. One whole service interval: each
    // service runs its check once in it, PostgreSQL and Redis every 15 s.
    const windowS = HEALTHCHECK.intervalSeconds;
    const fleet = await machineCpu(windowS);
    console.log(
      `idle fleet with every healthcheck on (services every ${HEALTHCHECK.intervalSeconds} s, infra every ${INFRA_HEALTHCHECK.intervalSeconds} s), over ${windowS} s: ` +
        `${fleet.toFixed(3)} of one core for the whole machine, ${(fleet - baseline).toFixed(3)} above the machine without the fleet`,
    );
  } finally {
    await run('docker-compose', [...compose, 'down', '-v', '--timeout', '10'], { timeoutMs: 300_000 });
  }
}

await imageSizes();
if (!process.argv.includes('--no-run')) await fleetRun();
