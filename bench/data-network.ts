/**
 * What an internal data network costs the full fleet (100 containers, from built images), in one run:
 *   node --import tsx bench/data-network.ts [--rounds 2]
 *
 * Two layouts of the same fleet file (src/fleet/compose.ts, ComposeOptions.dataNetwork):
 * - `one network`: every container on nexus-net, as shipped;
 * - `data network`: PostgreSQL and Redis on the internal nexus-data and on nexus-admin (for their loopback ports),
 *   every microservice on nexus-net and nexus-data: two network endpoints each.
 * Each round launches each layout from nothing with the built CLI, then takes it down, and prints both times and
 * the ratios to the shipped layout. A down that has not returned after DOWN_HANG_MS is reported as a hung engine
 * (moby/moby#46661, a lock-order deadlock in libnetwork between endpoint deletion and service records, fixed in
 * Docker 20.10.27): the bench stops there, and the engine must be restarted (kill -9 dockerd, stale docker-proxy
 * processes too, then start it again).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCatalog } from '../src/fleet/catalog.ts';
import { renderCompose } from '../src/fleet/compose.ts';
import { COMPOSE_FILE } from '../src/fleet/generate.ts';
import { run } from '../src/process/run.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const rounds = Number(flag('rounds', '2'));
const project = 'n3xusnetbench';
// Beside the real one, so that its relative paths (build contexts, secret files) resolve the same.
const file = path.join(path.dirname(COMPOSE_FILE), '.bench-data-network.yml');
const DOWN_HANG_MS = 180_000;
const LAYOUTS = [
  { name: 'one network', dataNetwork: false },
  { name: 'data network', dataNetwork: true },
] as const;

interface Round {
  launchMs: number;
  downMs: number;
}

const cli = (command: string[], timeoutMs: number) => run('node', ['bin/run.js', ...command, '-f', file, '-p', project], { timeoutMs });

async function once(dataNetwork: boolean): Promise<Round> {
  writeFileSync(file, renderCompose(loadCatalog(), { dataNetwork }));
  await cli(['down', '--volumes', '--timeout', '2'], DOWN_HANG_MS).catch(() => undefined);
  const started = performance.now();
  const out = await cli(['launch', '--json'], 900_000);
  const launchMs = performance.now() - started;
  const result = JSON.parse(out.stdout) as { failures: unknown[] };
  if (result.failures.length > 0) throw new Error(`launch (data network ${dataNetwork}) failed: ${JSON.stringify(result.failures).slice(0, 500)}`);
  const downStarted = performance.now();
  try {
    await cli(['down', '--volumes', '--timeout', '2'], DOWN_HANG_MS);
  } catch (error) {
    const waited = performance.now() - downStarted;
    if (waited >= DOWN_HANG_MS - 1_000) {
      throw new Error(`down did not return in ${DOWN_HANG_MS / 1000} s (data network ${dataNetwork}): the engine hung (moby/moby#46661 on Docker before 20.10.27). Restart it: kill -9 dockerd and docker-proxy, then start dockerd.`, { cause: error });
    }
    throw error;
  }
  return { launchMs, downMs: performance.now() - downStarted };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const results = new Map<string, Round[]>(LAYOUTS.map((l) => [l.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const layout of LAYOUTS) {
      const r = await once(layout.dataNetwork);
      results.get(layout.name)!.push(r);
      console.log(`round ${round + 1}, ${layout.name}: launch of 100 ${s(r.launchMs)}, down ${s(r.downMs)}`);
    }
  }
  const base = results.get('one network')!;
  const [baseLaunch, baseDown] = [median(base.map((r) => r.launchMs)), median(base.map((r) => r.downMs))];
  console.log('\nlayout         launch (median)   down (median)   vs one network');
  for (const [name, list] of results) {
    const [l, d] = [median(list.map((r) => r.launchMs)), median(list.map((r) => r.downMs))];
    console.log(`${name.padEnd(14)} ${s(l).padEnd(17)} ${s(d).padEnd(15)} launch ${(l / baseLaunch).toFixed(2)}x, down ${(d / baseDown).toFixed(2)}x`);
  }
} finally {
  rmSync(file, { force: true });
}
