/**
 * Launch of the full fleet (100 containers, from built images) on this machine, in one run:
 *   node --import tsx bench/launch.ts
 *
 * 1. `n3xus launch` (the built CLI, process start included) until it returns with all 100 healthy (every service
 *    answering /ready on its published port, PostgreSQL and Redis accepting connections);
 * 2. `n3xus launch` again on the unchanged, healthy fleet: the no-op relaunch;
 * 3. `docker-compose up -d` (Debian's 1.29) on the same compose file, then polling until all 100 are healthy by
 *    the same probes launch uses, so both are timed to the same finish line.
 * Each run starts from nothing (no containers, no volume) and is torn down after. Prints the times and the ratio.
 * The floor measured on this machine (../shared/docker-here.md): 100 bare containers started in parallel answer
 * after 29-34 s.
 */
import { DockerEngine } from '../src/docker/engine.ts';
import { loadFleetImages } from '../src/images/archive.ts';
import { desiredContainers } from '../src/launch/desired.ts';
import { DockerDriver } from '../src/launch/docker-driver.ts';
import { down } from '../src/launch/down.ts';
import { probeService } from '../src/launch/health.ts';
import { run } from '../src/process/run.ts';

const { fleet } = loadFleetImages();
const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function timed(what: string, command: string, args: string[]): Promise<number> {
  const startedAt = performance.now();
  try {
    await run(command, args, { timeoutMs: 900_000 });
  } catch (error) {
    throw new Error(`${what} failed: ${(error as Error).message}`, { cause: error });
  }
  return performance.now() - startedAt;
}

/** Polls every service with launch's own probes until all 100 pass; returns when they do. */
async function allHealthy(project: string, label: string, deadlineMs: number): Promise<void> {
  const desired = desiredContainers(fleet, project, fleet.services, new Map());
  const pending = new Set(desired.map((d) => d.service.name));
  const deadline = Date.now() + deadlineMs;
  while (pending.size > 0) {
    const listed = await engine.container.list({ labels: { [label]: project } });
    const byService = new Map(listed.map((c) => [c.labels['com.docker.compose.service'] ?? c.labels['n3xus.service'] ?? '', c]));
    await Promise.all(
      desired
        .filter((d) => pending.has(d.service.name))
        .map(async (d) => {
          const instance = byService.get(d.service.name);
          if (instance && (await probeService(d, instance, 2_000)).healthy) pending.delete(d.service.name);
        }),
    );
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`not healthy after ${deadlineMs} ms: ${[...pending].slice(0, 10).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function clean(project: string): Promise<void> {
  await down(driver, project, { volumes: true, timeoutS: 2 });
}

const ours = 'n3xus-bench';
const theirs = 'n3xus-compose-bench';
await clean(ours);
const compose = ['--env-file', 'compose/airgap.env', '-f', 'compose/docker-compose.full.yml', '-p', theirs];
await run('docker-compose', [...compose, 'down', '-v', '--timeout', '2'], { timeoutMs: 300_000 });

console.log(`n3xus launch of ${fleet.services.length} containers…`);
const launchMs = await timed('n3xus launch', process.execPath, ['bin/run.js', 'launch', '--project', ours]);
const noOpMs = await timed('n3xus launch (no-op)', process.execPath, ['bin/run.js', 'launch', '--project', ours]);
await clean(ours);

console.log('docker-compose up -d, then waiting until all are healthy…');
const composeStartedAt = performance.now();
const upMs = await timed('docker-compose up -d', 'docker-compose', [...compose, 'up', '-d', '--no-build']);
await allHealthy(theirs, 'com.docker.compose.project', 900_000);
const composeMs = performance.now() - composeStartedAt;
await run('docker-compose', [...compose, 'down', '-v', '--timeout', '2'], { timeoutMs: 300_000 });

console.log(`n3xus launch, all 100 healthy:                   ${seconds(launchMs)}`);
console.log(`n3xus launch again, no-op on the healthy fleet:   ${seconds(noOpMs)}`);
console.log(`docker-compose up -d:                             ${seconds(upMs)}`);
console.log(`docker-compose up -d, then all 100 healthy:       ${seconds(composeMs)}`);
console.log(`ratio docker-compose / n3xus launch:              ${(composeMs / launchMs).toFixed(2)}x`);
console.log(`n3xus launch against the floor (29-34 s):         ${(launchMs / 31_500).toFixed(2)}x`);
