/**
 * What one kit service costs to start, in CPU seconds and wall time, from the start of its container until it
 * answers `GET /ready` with 200, against the floor in the same run:
 *   node --import tsx bench/service-start.ts [--runs N] [--service NAME ...]
 *
 * The fleet is launched first (`n3xus launch --project n3xus-bench-start`: each service needs PostgreSQL and Redis
 * to be ready). Then, for each service (default api-docs, identity-registry, event-bus) and each run, interleaved:
 *   a. the service's own container is stopped, then started again, and polled every 10 ms on /ready (with the
 *      handshake); its cgroup's CPU time when /ready first answers 200 is the figure (the cgroup starts at 0 with
 *      each start);
 *   b. the same service without Node's compile cache: a second container made as launch makes the service's (the same
 *      spec, through the same driver), on another host port, with NODE_DISABLE_COMPILE_CACHE=1: the kit's 2 MB bundle
 *      compiled at every start, as before the images carried the cache;
 *   c. the floor: a container from the same image, with the same Node flags, memory limit and hardening, whose
 *      command is a bare node HTTP server answering 200 on every path: what node itself costs to start and answer.
 * Medians over N runs (default 5). The fleet and the floor containers are removed at the end. Needs the images.
 */
import os from 'node:os';
import path from 'node:path';
import { HANDSHAKE_HEADER, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { DockerEngine } from '../src/docker/engine.ts';
import { DockerDriver } from '../src/drivers/docker/docker-driver.ts';
import { loadFleetImages } from '../src/images/archive.ts';
import { NODE_FLAGS } from '../src/fleet/service-files.ts';
import { httpRequest } from '../src/http/client.ts';
import { desiredInstances } from '../src/launch/desired.ts';
import { STATE_LABELS } from '../src/launch/labels.ts';
import { run } from '../src/process/run.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { containersCpuSeconds } from './lib/cgroup.ts';
import { countOption, downProject, freePort, median } from './lib/util.ts';

const argv = process.argv.slice(2);
const runs = countOption('--runs', 5);
const named = argv.flatMap((a, i) => (argv[i - 1] === '--service' ? [a] : []));
const wanted = named.length > 0 ? named : ['api-docs', 'identity-registry', 'event-bus'];

const { fleet } = await loadFleetImages();
const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const project = 'n3xus-bench-start';
const FLOOR_LABEL = 'n3xus.bench-start-floor';
for (const name of wanted) {
  const s = fleet.services.find((x) => x.name === name);
  if (s === undefined || s.stage === 'infra') throw new Error(`--service ${name}: not a kit service of the fleet file`);
}

async function cleanFloor(): Promise<void> {
  const left = await engine.container.list({ labels: { [FLOOR_LABEL]: undefined } });
  await Promise.all(left.map((c) => engine.container.remove(c.id)));
}

/** Starts the (stopped) container, polls `url` every 10 ms; its CPU seconds and the wall time when it answers 200. */
async function startToAnswer(id: string, url: string): Promise<{ cpuS: number; ms: number }> {
  const startedAt = performance.now();
  await engine.container.start(id);
  for (;;) {
    try {
      const response = await httpRequest(url, { timeoutMs: 1_000, headers: { [HANDSHAKE_HEADER]: N3XUS_LAW } });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - startedAt > 60_000) throw new Error(`${url}: no 200 within 60 s of the start`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const ms = performance.now() - startedAt;
  return { cpuS: containersCpuSeconds([id]), ms };
}

type Sample = { cpuS: number; ms: number };
const results = new Map(wanted.map((n) => [n, { service: [] as Sample[], noCache: [] as Sample[], floor: [] as Sample[] }]));
await downProject(driver, project);
await cleanFloor();
try {
  console.log(`launching the fleet (project ${project})…`);
  await run(process.execPath, [path.join(projectRoot(), 'bin', 'run.js'), 'launch', '--project', project], { timeoutMs: 900_000 });
  const containers = await engine.container.list({ labels: { [STATE_LABELS.project]: project } });
  const floors = new Map<string, { id: string; url: string }>();
  const noCache = new Map<string, { id: string; url: string }>();
  for (const name of wanted) {
    const s = fleet.services.find((x) => x.name === name)!;
    const [want] = desiredInstances(fleet, project, [s], new Map());
    const noCachePort = await freePort();
    const noCacheId = await driver.create({
      ...want!,
      name: `${want!.name}-no-compile-cache`,
      aliases: [],
      env: { ...want!.env, NODE_DISABLE_COMPILE_CACHE: '1' },
      ports: want!.ports.map((p) => ({ ...p, hostPort: noCachePort })),
    });
    noCache.set(name, { id: noCacheId, url: `http://127.0.0.1:${noCachePort}/ready` });
    const port = await freePort();
    const id = await engine.container.create({
      image: s.image,
      name: `n3xus-bench-start-floor-${name}`,
      labels: { [FLOOR_LABEL]: '1' },
      entrypoint: ['node'],
      cmd: [...NODE_FLAGS, '-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${s.port})`],
      // A fixed host port: one the engine picks changes with every start.
      publish: [{ containerPort: s.port, hostPort: port }],
      readOnlyRootfs: true,
      tmpfs: { '/tmp': '' },
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges:true'],
      memoryBytes: 128 * 1024 * 1024,
    });
    floors.set(name, { id, url: `http://127.0.0.1:${port}/ready` });
  }
  for (let i = 1; i <= runs; i++) {
    for (const name of wanted) {
      const s = fleet.services.find((x) => x.name === name)!;
      const c = containers.find((x) => x.labels[STATE_LABELS.service] === name && x.name === `${project}-${name}`);
      if (c === undefined) throw new Error(`no container of ${name} in project ${project}`);
      await engine.container.stop(c.id, { timeoutS: 10 });
      const service = await startToAnswer(c.id, `http://127.0.0.1:${s.hostPort}/ready`);
      await engine.container.stop(c.id, { timeoutS: 10 });
      const other = noCache.get(name)!;
      const uncached = await startToAnswer(other.id, other.url);
      await engine.container.stop(other.id, { timeoutS: 10 });
      const floor = floors.get(name)!;
      const bare = await startToAnswer(floor.id, floor.url);
      await engine.container.stop(floor.id, { timeoutS: 2 });
      results.get(name)!.service.push(service);
      results.get(name)!.noCache.push(uncached);
      results.get(name)!.floor.push(bare);
      console.log(
        `run ${i} ${name}: ${service.cpuS.toFixed(3)} CPU-s, ${Math.round(service.ms)} ms; without the compile cache ${uncached.cpuS.toFixed(3)} CPU-s, ${Math.round(uncached.ms)} ms; bare node ${bare.cpuS.toFixed(3)} CPU-s, ${Math.round(bare.ms)} ms`,
      );
    }
  }
} finally {
  await cleanFloor();
  await downProject(driver, project);
}

console.log(`\nstart to the first 200 on /ready, medians of ${runs} run(s), ${os.cpus().length} cores (load average ${os.loadavg()[0]!.toFixed(1)}):`);
const cell = (xs: Sample[]): string => `${median(xs.map((x) => x.cpuS)).toFixed(3)} CPU-s ${String(Math.round(median(xs.map((x) => x.ms)))).padStart(5)} ms`;
console.log(`  ${'service'.padEnd(20)} ${'as shipped'.padEnd(22)} ${'no compile cache'.padEnd(22)} ${'bare node'.padEnd(22)} shipped / no cache (CPU)`);
for (const [name, r] of results) {
  const ratio = median(r.service.map((x) => x.cpuS)) / median(r.noCache.map((x) => x.cpuS));
  console.log(`  ${name.padEnd(20)} ${cell(r.service).padEnd(22)} ${cell(r.noCache).padEnd(22)} ${cell(r.floor).padEnd(22)} ${ratio.toFixed(2)}x`);
}
