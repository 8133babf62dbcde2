/**
 * The whole fleet on a real multi-node swarm (issue 13), against the same on one node, in the same run:
 *   node --import tsx bench/cluster/launch.ts [--nodes 3] [--no-single] [--no-verify]
 * For each cluster (one node, then `--nodes`), made with bench/cluster/cluster.ts: one archive of every n3xus image
 * (the fleet's and the CLI's, made once with docker save) sent to every node with `images distribute` (time, bytes), then from the manager's namespace `launch
 * --driver swarm` of all 100 to all healthy (time), where each task runs, `verify --full --driver swarm` from inside
 * the overlay network, `down --volumes`, and the cluster torn down. Prints the launch's ratio, many nodes against
 * one. Needs the images built (n3xus images build) and the CLI built (npm run build); runs as root.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.ts';
import { countOption } from '../lib/util.ts';
import { clusterDown, clusterLayout, clusterLeftovers, clusterUp, nodeDocker, type Cluster } from './cluster.ts';

const root = projectRoot();
const nodes = countOption('--nodes', 3);
const single = !process.argv.includes('--no-single');
const verify = !process.argv.includes('--no-verify');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The CLI; `inside` runs it in the manager's namespace, against the manager's engine. */
function cli(args: string[], inside?: Cluster): { code: number | null; out: string; ms: number } {
  const started = performance.now();
  const argv = [process.execPath, path.join(root, 'bin/run.js'), ...args];
  const r = inside === undefined
    ? spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: root, env: { ...process.env, CI: 'true' } })
    : spawnSync('ip', ['netns', 'exec', inside.nodes[0]!.netns, ...argv], { encoding: 'utf8', cwd: root, env: { ...process.env, DOCKER_HOST: inside.managerHost, CI: 'true' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: performance.now() - started };
}

function must(run: { code: number | null; out: string }, what: string): void {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.out.split('\n').slice(-25).join('\n')}`);
}

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
    const manager = cluster.nodes[0]!;
    const placed = nodeDocker(manager, ['node', 'ps', ...cluster.nodes.map((n) => n.name), '--filter', 'desired-state=running', '--format', '{{.Node}}'], { allowFail: true })
      .split('\n')
      .filter(Boolean);
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
  // Every n3xus image: the fleet's (what `images save` writes) and the CLI's, which verify --driver swarm runs in
  // the network.
  const withCli = path.join(dir, 'all.tar');
  const tags = spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=n3xus/*'], { encoding: 'utf8' }).stdout.split('\n').filter((t) => t !== '' && !t.endsWith(':<none>'));
  must({ code: spawnSync('docker', ['save', '-o', withCli, ...tags]).status, out: '' }, 'docker save');
  const results: Outcome[] = [];
  if (single) results.push(await onCluster(1, withCli));
  results.push(await onCluster(nodes, withCli));
  console.log('\nNODES  DISTRIBUTED           LAUNCH (100 to healthy)  TASKS PER NODE  VERIFY --FULL');
  for (const r of results) console.log(`${String(r.nodes).padEnd(5)}  ${`${r.sentMB.toFixed(0)} MB in ${seconds(r.distributeMs)}`.padEnd(20)}  ${seconds(r.launchMs).padEnd(23)}  ${JSON.stringify(r.perNode).padEnd(14)}  ${r.verify}`);
  if (results.length === 2) console.log(`launch on ${nodes} nodes against 1: ${(results[1]!.launchMs / results[0]!.launchMs).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
