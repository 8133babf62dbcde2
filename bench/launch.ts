/**
 * Launch of the full fleet (100 containers, from built images) on this machine, in one run:
 *   node --import tsx bench/launch.ts
 *
 * 1. `n3xus launch` (the built CLI, process start included) until it returns with all 100 healthy (every service
 *    answering /ready on its published port, PostgreSQL and Redis accepting connections);
 * 2. `n3xus launch` again on the unchanged, healthy fleet: the no-op relaunch;
 * 3. `docker-compose up -d` (Debian's 1.29) on the same compose file, then polling until all 100 are healthy by
 *    the same probes launch uses, so both are timed to the same finish line.
 * 4. The floor, measured in the same run: 100 containers from the fleet's own images that run only a bare node HTTP
 *    server (no kit, no database), created and started 8 at a time through the engine API, timed until each answers
 *    on its published port. Twice: on the default bridge (the floor of ../shared/docker-here.md, which measured
 *    29-34 s there), and with what the fleet's containers must carry (a user-defined bridge like nexus-net, a
 *    read-only root with a tmpfs, all capabilities dropped, no-new-privileges, a memory limit, a restart policy).
 * 5. The fleet's own floor, in the same run: the 100 containers launch would make (the same images, commands, secret
 *    files, network, volume and hardening, from desiredInstances), created and started through the same driver all at
 *    once (16 at a time, as launch's batches), in no stage order and with no wait between stages, timed until all 100
 *    pass launch's probes. What the engine and the services themselves cost to start, without the orchestration.
 * Each run starts from nothing (no containers, no volume) and is torn down after. Prints the times and the ratios.
 */
import { DockerEngine } from '../src/docker/engine.ts';
import { loadFleetImages } from '../src/images/archive.ts';
import { desiredInstances, desiredResources } from '../src/launch/desired.ts';
import { DockerDriver } from '../src/drivers/docker/docker-driver.ts';
import { probeService } from '../src/launch/health.ts';
import pLimit from 'p-limit';
import { httpRequest, HttpError } from '../src/http/client.ts';
import { run } from '../src/process/run.ts';
import { downProject } from './lib/util.ts';

const { fleet } = await loadFleetImages();
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
  const desired = desiredInstances(fleet, project, fleet.services, new Map());
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

const FLOOR_LABEL = 'n3xus.bench-floor';
const FLOOR_NETWORK = 'n3xus-bench-floor';

async function cleanFloor(): Promise<void> {
  const left = await engine.container.list({ labels: { [FLOOR_LABEL]: undefined } });
  await Promise.all(left.map((c) => engine.container.remove(c.id)));
  await engine.network.remove(FLOOR_NETWORK);
}

/** Item 4 above: 100 bare node servers, one per fleet entry (postgres and redis get the first service's image). */
async function floor(hardened: boolean): Promise<number> {
  await cleanFloor();
  if (hardened) await engine.network.create({ name: FLOOR_NETWORK, labels: { [FLOOR_LABEL]: '1' } });
  const nodeImage = fleet.services.find((s) => s.stage !== 'infra')!.image;
  const limit = pLimit(8);
  const startedAt = performance.now();
  await Promise.all(
    fleet.services.map((s) =>
      limit(async () => {
        const id = await engine.container.create({
          image: s.stage === 'infra' ? nodeImage : s.image,
          name: `n3xus-floor-${s.name}`,
          labels: { [FLOOR_LABEL]: '1' },
          entrypoint: ['node'],
          cmd: ['-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${s.port})`],
          publish: [{ containerPort: s.port, hostPort: s.hostPort }],
          ...(hardened
            ? { network: FLOOR_NETWORK, readOnlyRootfs: true, tmpfs: { '/tmp': '' }, capDrop: ['ALL'], securityOpt: ['no-new-privileges:true'], memoryBytes: 128 * 1024 * 1024, restartPolicy: { name: 'unless-stopped' as const } }
            : {}),
        });
        await engine.container.start(id);
      }),
    ),
  );
  const pending = new Set(fleet.services.map((s) => s.hostPort));
  const deadline = Date.now() + 600_000;
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async (port) => {
        try {
          if ((await httpRequest(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 })).status === 200) pending.delete(port);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
        }
      }),
    );
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`floor containers not answering after 600 s on ports ${[...pending].slice(0, 10).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const ms = performance.now() - startedAt;
  await cleanFloor();
  return ms;
}

/** Item 5 above: the fleet's own containers, all at once, in no order, until all pass launch's probes. */
async function fleetFloor(project: string): Promise<number> {
  await downProject(driver, project);
  const desired = desiredInstances(fleet, project, fleet.services, new Map());
  const limit = pLimit(16);
  const startedAt = performance.now();
  await driver.prepare(desiredResources(fleet, project, fleet.services));
  await Promise.all(
    desired.map((d) =>
      limit(async () => {
        const id = await driver.create(d);
        await driver.start(id);
      }),
    ),
  );
  await allHealthy(project, 'n3xus.project', 600_000);
  const ms = performance.now() - startedAt;
  await downProject(driver, project);
  return ms;
}

const ours = 'n3xus-bench';
const theirs = 'n3xus-compose-bench';
await downProject(driver, ours);
const compose = ['--env-file', 'compose/airgap.env', '-f', 'compose/docker-compose.full.yml', '-p', theirs];
await run('docker-compose', [...compose, 'down', '-v', '--timeout', '2'], { timeoutMs: 300_000 });

console.log(`n3xus launch of ${fleet.services.length} containers…`);
const launchMs = await timed('n3xus launch', process.execPath, ['bin/run.js', 'launch', '--project', ours]);
const noOpMs = await timed('n3xus launch (no-op)', process.execPath, ['bin/run.js', 'launch', '--project', ours]);
await downProject(driver, ours);

console.log('docker-compose up -d, then waiting until all are healthy…');
const composeStartedAt = performance.now();
const upMs = await timed('docker-compose up -d', 'docker-compose', [...compose, 'up', '-d', '--no-build']);
await allHealthy(theirs, 'com.docker.compose.project', 900_000);
const composeMs = performance.now() - composeStartedAt;
await run('docker-compose', [...compose, 'down', '-v', '--timeout', '2'], { timeoutMs: 300_000 });

console.log('the floor: 100 bare node servers, default bridge, then with what the fleet carries…');
const floorMs = await floor(false);
const hardenedFloorMs = await floor(true);
console.log("the fleet's own floor: its 100 containers all at once, in no order…");
const fleetFloorMs = await fleetFloor(ours);

console.log(`n3xus launch, all 100 healthy:                   ${seconds(launchMs)}`);
console.log(`n3xus launch again, no-op on the healthy fleet:   ${seconds(noOpMs)}`);
console.log(`docker-compose up -d:                             ${seconds(upMs)}`);
console.log(`docker-compose up -d, then all 100 healthy:       ${seconds(composeMs)}`);
console.log(`ratio docker-compose / n3xus launch:              ${(composeMs / launchMs).toFixed(2)}x`);
console.log(`floor: 100 bare servers answering, default bridge: ${seconds(floorMs)}`);
console.log(`floor with the fleet's network and hardening:     ${seconds(hardenedFloorMs)}`);
console.log(`n3xus launch / floor (default bridge):            ${(launchMs / floorMs).toFixed(2)}x`);
console.log(`n3xus launch / floor (network and hardening):     ${(launchMs / hardenedFloorMs).toFixed(2)}x`);
console.log(`the fleet's own 100 containers, no order, healthy: ${seconds(fleetFloorMs)}`);
console.log(`n3xus launch / the fleet's own floor:             ${(launchMs / fleetFloorMs).toFixed(2)}x`);
