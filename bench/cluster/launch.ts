/**
 * The whole fleet on a real multi-node swarm (issue 13), against the same on one node, in the same run:
 *   node --import tsx bench/cluster/launch.ts [--nodes 3] [--no-single] [--no-verify]
 * For each cluster (one node, then `--nodes`), made with bench/cluster/cluster.ts: one archive of every n3xus image
 * (the fleet's and the CLI's, made once with docker save) sent to every node with `images distribute` (time, bytes), then from the manager's namespace `launch
 * --driver swarm` of all 100 to all healthy (time), where each task runs, `verify --full --driver swarm` from inside
 * the overlay network, `down --volumes`, and the cluster torn down. Prints the launch's ratio, many nodes against
 * one. Needs the images built (n3xus images build) and the CLI built (npm run build); runs as root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countOption, seconds } from '../lib/util.ts';
import { projectTasks } from './cluster-fleet.ts';
import { clusterDown, clusterLayout, clusterLeftovers, clusterUp } from './cluster.ts';
import { cli, must, saveEveryImage } from './lib.ts';

const nodes = countOption('--nodes', 3);
const single = !process.argv.includes('--no-single');
const verify = !process.argv.includes('--no-verify');

interface Outcome {
  nodes: number;
  distributeMs: number;
  sentMB: number;
  launchMs: number;
  perNode: Record<string, number>;
  verify: string;
}

async function onCluster(count: number, archive: string): Promise<Outcome> {
  const cluster = clusterLayout('n3xb', count);
  if (clusterLeftovers(cluster).length > 0) await clusterDown(cluster);
  await clusterUp(cluster);
  try {
    const distributed = cli(['images', 'distribute', '-i', archive, ...cluster.nodes.flatMap((n) => ['--engine', `unix://${n.socket}`]), '--json']);
    must(distributed, 'images distribute');
    const sent = (JSON.parse(distributed.out) as { engines: { bytes: number }[] }).engines.reduce((sum, e) => sum + e.bytes, 0);
    console.log(`${count} node(s): distributed ${(sent / 1e6).toFixed(1)} MB in ${seconds(distributed.ms)}`);
    const launched = cli(['launch', '--driver', 'swarm'], cluster);
    must(launched, 'launch --driver swarm');
    console.log(`${count} node(s): ${launched.out.trim().split('\n').filter((l) => /healthy in/.test(l)).pop() ?? ''} (${seconds(launched.ms)} with the CLI's start)`);
    // Counted from the services: `docker node ps node1 node2 node3`, as this bench used to count, gave 199 tasks
    // for a fleet of 100 (99, 66 and 34; Docker 20.10's CLI).
    const placed = projectTasks(cluster, 'n3xus').tasks.filter((t) => t.state === 'running').map((t) => t.node);
    const perNode: Record<string, number> = {};
    for (const n of placed) perNode[n] = (perNode[n] ?? 0) + 1;
    console.log(`${count} node(s): tasks per node ${JSON.stringify(perNode)}`);
    let verified = 'not run';
    if (verify) {
      const v = cli(['verify', '--full', '--driver', 'swarm', '--threshold', '100'], cluster);
      verified = `exit ${v.code}: ${v.out.split('\n').filter((l) => /operational/.test(l)).pop() ?? ''}`;
      console.log(`${count} node(s): verify --full ${verified} in ${seconds(v.ms)}`);
    }
    must(cli(['down', '--driver', 'swarm', '--volumes'], cluster), 'down');
    return { nodes: count, distributeMs: distributed.ms, sentMB: sent / 1e6, launchMs: launched.ms, perNode, verify: verified };
  } finally {
    await clusterDown(cluster);
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-cluster-bench-'));
try {
  const withCli = saveEveryImage(dir);
  const results: Outcome[] = [];
  if (single) results.push(await onCluster(1, withCli));
  results.push(await onCluster(nodes, withCli));
  console.log('\nNODES  DISTRIBUTED           LAUNCH (100 to healthy)  TASKS PER NODE  VERIFY --FULL');
  for (const r of results) console.log(`${String(r.nodes).padEnd(5)}  ${`${r.sentMB.toFixed(0)} MB in ${seconds(r.distributeMs)}`.padEnd(20)}  ${seconds(r.launchMs).padEnd(23)}  ${JSON.stringify(r.perNode).padEnd(14)}  ${r.verify}`);
  if (results.length === 2) console.log(`launch on ${nodes} nodes against 1: ${(results[1]!.launchMs / results[0]!.launchMs).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
