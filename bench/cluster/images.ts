/**
 * The fleet's images onto every node of a three-node swarm, both ways (issue 13, item 2), in the same run:
 *   node --import tsx bench/cluster/images.ts [--nodes 3] [--rounds 1] [--images a:1,b:2]
 * - load: `images distribute --via load`, the archive sent to each engine through its API, each getting only the
 *   layers it lacks;
 * - registry: `images registry` (the registry started on the swarm, its image sent to the manager), then
 *   `images distribute --via registry`: the archive pushed once, every node pulling.
 * Each method starts on a fresh cluster (nodes without images) and is then run again on the same nodes (everything
 * there: what a re-run costs). Prints the time from the CLI's start and the bytes each moved, and the ratio of
 * the two. The archive holds every n3xus image (the fleet's and the CLI's), made once with docker save; the CLI
 * runs in the manager's namespace, where the nodes' addresses are. Needs the images and the CLI built; root.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countOption, mb, median, seconds } from '../lib/util.ts';
import { clusterDown, clusterLayout, clusterLeftovers, clusterUp, type Cluster } from './cluster.ts';
import { cli, must, saveEveryImage } from './lib.ts';

const nodes = countOption('--nodes', 3);
const rounds = countOption('--rounds', 1);
const only = (() => {
  const i = process.argv.indexOf('--images');
  return i < 0 ? undefined : process.argv[i + 1]!.split(',');
})();

interface Run {
  method: 'load' | 'registry';
  round: number;
  /** First on fresh nodes, then again on the same. */
  pass: 'fresh' | 'again';
  ms: number;
  /** Bytes that crossed to an engine or the registry, in all. */
  bytes: number;
  detail: string;
}

function engines(cluster: Cluster): string[] {
  return cluster.nodes.flatMap((n) => ['--engine', `unix://${n.socket}`]);
}

/** images distribute --via load, twice. */
function viaLoad(cluster: Cluster, archive: string, round: number): Run[] {
  return (['fresh', 'again'] as const).map((pass) => {
    const run = cli(['images', 'distribute', '-i', archive, ...engines(cluster), '--json'], cluster);
    must(run, 'images distribute --via load');
    const result = JSON.parse(run.out) as { engines: { bytes: number; layersSent: number }[] };
    const bytes = result.engines.reduce((sum, e) => sum + e.bytes, 0);
    return { method: 'load', round, pass, ms: run.ms, bytes, detail: `${result.engines.map((e) => e.layersSent).join('/')} layers sent per node` };
  });
}

/** images registry, then images distribute --via registry, twice (the registry started once). */
function viaRegistry(cluster: Cluster, archive: string, round: number): Run[] {
  const started = cli(['images', 'registry', '--json'], cluster);
  must(started, 'images registry');
  const place = JSON.parse(started.out) as { address: string; imageBytes: number };
  return (['fresh', 'again'] as const).map((pass) => {
    const run = cli(['images', 'distribute', '-i', archive, ...engines(cluster), '--via', 'registry', '--registry', place.address, '--json'], cluster);
    must(run, 'images distribute --via registry');
    const result = JSON.parse(run.out) as { push: { bytes: number; uploaded: number; durationMs: number }; engines: { bytes: number; layersDownloaded: number; durationMs: number }[] };
    const pulled = result.engines.reduce((sum, e) => sum + e.bytes, 0);
    const registry = pass === 'fresh' ? { ms: started.ms, bytes: place.imageBytes } : { ms: 0, bytes: 0 };
    return {
      method: 'registry',
      round,
      pass,
      ms: registry.ms + run.ms,
      bytes: registry.bytes + result.push.bytes + pulled,
      detail: `${pass === 'fresh' ? `registry up ${seconds(started.ms)} (its image ${mb(place.imageBytes)}); ` : ''}push ${mb(result.push.bytes)} in ${seconds(result.push.durationMs)}; pulls ${result.engines.map((e) => mb(e.bytes)).join('/')} in ${seconds(Math.max(...result.engines.map((e) => e.durationMs)))}`,
    };
  });
}

async function onFreshCluster(work: (cluster: Cluster) => Run[]): Promise<Run[]> {
  const cluster = clusterLayout('n3xi', nodes);
  if (clusterLeftovers(cluster).length > 0) await clusterDown(cluster);
  await clusterUp(cluster);
  try {
    return work(cluster);
  } finally {
    await clusterDown(cluster);
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-images-bench-'));
try {
  const archive = saveEveryImage(dir, only);
  const size = Number(spawnSync('stat', ['-c', '%s', archive], { encoding: 'utf8' }).stdout.trim());
  console.log(`archive: ${mb(size)} (${only?.join(', ') ?? 'every n3xus image'}); ${nodes} nodes`);
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternating which goes first, so neither always meets a cold page cache.
    const order = round % 2 === 1 ? (['load', 'registry'] as const) : (['registry', 'load'] as const);
    for (const method of order) {
      const got = await onFreshCluster((cluster) => (method === 'load' ? viaLoad(cluster, archive, round) : viaRegistry(cluster, archive, round)));
      for (const r of got) console.log(`round ${r.round} ${r.method.padEnd(8)} ${r.pass.padEnd(5)} ${seconds(r.ms).padStart(7)}  ${mb(r.bytes).padStart(10)}  ${r.detail}`);
      runs.push(...got);
    }
  }
  console.log('\nMETHOD    PASS   TIME (median)  BYTES MOVED (median)');
  const summary = new Map<string, { ms: number; bytes: number }>();
  for (const method of ['load', 'registry'] as const) {
    for (const pass of ['fresh', 'again'] as const) {
      const these = runs.filter((r) => r.method === method && r.pass === pass);
      const row = { ms: median(these.map((r) => r.ms)), bytes: median(these.map((r) => r.bytes)) };
      summary.set(`${method} ${pass}`, row);
      console.log(`${method.padEnd(8)}  ${pass.padEnd(5)}  ${seconds(row.ms).padStart(13)}  ${mb(row.bytes).padStart(20)}`);
    }
  }
  const ratio = summary.get('registry fresh')!.ms / summary.get('load fresh')!.ms;
  console.log(`registry against load, fresh nodes: ${ratio.toFixed(2)}x the time; the faster: ${ratio < 1 ? 'registry' : 'load'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
