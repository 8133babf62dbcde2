/**
 * What a CPU limit per service costs the launch of the full fleet (100 containers, from built images), in one run:
 *   node --import tsx bench/cpu-limit.ts [--cpus 0.1,0.25] [--rounds 1]
 *
 * The seed budgets ~0.1 core per service (~10 cores for the fleet). A hard quota (`cpus:`, the engine's NanoCpus)
 * bounds what one busy service can take from the others, but also how fast each one starts: Node's start and the
 * first migrations are CPU-bound. For each limit given, and without one, the fleet file is written with `cpus:` on
 * every microservice (PostgreSQL and Redis keep none), the built CLI launches it from nothing, and the time until
 * all 100 are healthy is printed with each stage's, and the ratio to the launch without a limit in the same run.
 * Each launch starts from nothing (no containers, no volume) and is torn down after.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { run } from '../src/process/run.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const limits = flag('cpus', '0.1').split(',').map(Number);
const rounds = Number(flag('rounds', '1'));
const project = 'n3xuscpubench';
const source = 'compose/docker-compose.full.yml';
// Beside the real one, so that its relative paths (build contexts, secret files) resolve the same.
const file = path.join(path.dirname(source), '.bench-cpu-limit.yml');

function writeFleet(cpus: number | undefined): void {
  const doc = parseDocument(readFileSync(source, 'utf8'), { merge: true, version: '1.1' });
  const services = doc.get('services') as { items: { key: { value: string }; value: { set(k: string, v: unknown): void; delete(k: string): void; get(k: string): unknown } }[] };
  for (const pair of services.items) {
    const labels = pair.value.get('labels') as { get(k: string): unknown };
    if (labels.get('n3xus.stage') === 'infra') continue;
    if (cpus === undefined) pair.value.delete('cpus');
    else pair.value.set('cpus', cpus);
  }
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

interface Launched {
  ms: number;
  stages: { stage: string; durationMs?: number }[];
}

async function launchOnce(cpus: number | undefined): Promise<Launched> {
  writeFleet(cpus);
  await run('node', ['bin/run.js', 'down', '-f', file, '-p', project, '--volumes', '--timeout', '2'], { timeoutMs: 300_000 }).catch(() => undefined);
  const started = performance.now();
  const out = await run('node', ['bin/run.js', 'launch', '-f', file, '-p', project, '--json'], { timeoutMs: 900_000 });
  const ms = performance.now() - started;
  const result = JSON.parse(out.stdout) as { failures: unknown[]; stages: Launched['stages'] };
  if (result.failures.length > 0) throw new Error(`launch with cpus=${cpus ?? 'none'} failed: ${JSON.stringify(result.failures).slice(0, 500)}`);
  await run('node', ['bin/run.js', 'down', '-f', file, '-p', project, '--volumes', '--timeout', '2'], { timeoutMs: 300_000 });
  return { ms, stages: result.stages };
}

const s = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
try {
  const results = new Map<string, Launched[]>();
  for (let round = 0; round < rounds; round++) {
    for (const cpus of [undefined, ...limits]) {
      const key = cpus === undefined ? 'none' : String(cpus);
      const launched = await launchOnce(cpus);
      results.set(key, [...(results.get(key) ?? []), launched]);
      console.log(`round ${round + 1}, cpus ${key}: all 100 healthy in ${s(launched.ms)} (${launched.stages.map((st) => `${st.stage} ${s(st.durationMs)}`).join(', ')})`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get('none')!.map((r) => r.ms));
  console.log('\ncpus per service   launch (median)   vs no limit');
  for (const [key, list] of results) {
    const m = median(list.map((r) => r.ms));
    console.log(`${key.padEnd(18)} ${s(m).padEnd(17)} ${(m / base).toFixed(2)}x`);
  }
} finally {
  rmSync(file, { force: true });
}
