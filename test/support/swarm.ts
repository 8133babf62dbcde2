/**
 * A one-node swarm for the Swarm driver's tests, made on first need and left at the end of the test run. Only the
 * test files that need one make it (a swarm changes the engine for everything else that runs on it), and only
 * when the engine is in none: an engine already in a swarm is used as it is and left in it. Files run in parallel,
 * so a marker file names the run that made the swarm; the global teardown leaves it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerEngine } from '../../src/docker/engine.ts';

/** The bridge swarm mode makes for its containers' traffic out of the overlay networks. */
const GWBRIDGE = 'docker_gwbridge';

const marker = (runId: string): string => path.join(os.tmpdir(), `n3xus-test-swarm-${runId}`);

/** Makes the engine a swarm manager for this run if it is in no swarm; returns why it cannot be one, or ''. */
export async function ensureSwarm(runId: string): Promise<string> {
  const engine = new DockerEngine();
  try {
    await engine.ping({ timeoutMs: 3_000 });
  } catch (error) {
    return `no Docker engine: ${(error as Error).message}`;
  }
  const state = await engine.swarm.state();
  if (state.state === 'active') return state.manager ? '' : 'the engine is a swarm worker, not a manager';
  try {
    // swarm init makes the docker_gwbridge network and leaving keeps it: the marker says whether it was there before.
    const gwbridgeBefore = (await engine.network.list({ labels: {} })).some((n) => n.name === GWBRIDGE);
    await engine.swarm.init({ advertiseAddr: '127.0.0.1' });
    writeFileSync(marker(runId), gwbridgeBefore ? 'gwbridge-before' : '');
  } catch (error) {
    // Another test file of this run is making it: wait for it to be active.
    for (let i = 0; i < 40; i++) {
      if ((await engine.swarm.state()).state === 'active') return '';
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return `docker swarm init failed: ${(error as Error).message}`;
  }
  return '';
}

/** Leaves the swarm when this run made it (see {@link ensureSwarm}). */
export async function leaveSwarmMadeBy(runId: string): Promise<void> {
  if (!existsSync(marker(runId))) return;
  const engine = new DockerEngine();
  await engine.swarm.leave({ force: true });
  if (readFileSync(marker(runId), 'utf8') !== 'gwbridge-before') {
    // Its ingress endpoint can outlive the leave by a moment; a bridge left behind is said, not failed on.
    for (let attempt = 1; ; attempt++) {
      try {
        await engine.network.remove(GWBRIDGE);
        break;
      } catch (error) {
        if (attempt === 10) {
          console.error(`the test run left network ${GWBRIDGE} behind: ${(error as Error).message}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
  rmSync(marker(runId), { force: true });
}
