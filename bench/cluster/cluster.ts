/**
 * A real multi-node Docker Swarm on one machine, for tests and benchmarks (issue 13): each node is an independent
 * `dockerd` in a network namespace of its own, with its own data-root, exec-root, pidfile, API socket and cgroup
 * parent, its engine reached through that socket. The nodes are joined by a bridge in a namespace of its own (the
 * "switch"), on addresses of a private range that exist only inside those namespaces; nothing is added to the host's
 * own network. Docker-in-Docker is not possible here (runc refuses privileged containers), which is why the nodes
 * are processes.
 *
 *   node --import tsx bench/cluster/cluster.ts up [--nodes 3] [--name n3xc]   # prints each node's socket
 *   node --import tsx bench/cluster/cluster.ts down [--name n3xc]             # leaves nothing behind
 *
 * `up` makes node 1 the manager (swarm init) and the others workers; launch labels the node that holds a project's
 * data (PostgreSQL, Redis), the manager the first time. `down` stops each engine (its containers with it), unmounts what it left under
 * its roots, removes the roots, the namespaces and their interfaces, and checks that no process, mount, namespace or
 * interface of the cluster is left.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** One node of the cluster: where its engine lives and how to reach it. */
export interface ClusterNode {
  index: number;
  name: string;
  netns: string;
  address: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  log: string;
}

export interface Cluster {
  name: string;
  nodes: ClusterNode[];
  switchNetns: string;
  /** DOCKER_HOST of the manager. */
  managerHost: string;
}

/** The private range the nodes live on, only inside the cluster's namespaces. */
const SUBNET = '10.213.7';
const RUN = '/run/n3xus-cluster';
const LIB = '/var/lib/n3xus-cluster';

function sh(argv: string[], options: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: options.input });
  if (r.status !== 0 && !options.allowFail) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return (r.stdout ?? '').trim();
}

/** The cluster's layout (nothing is created). */
export function clusterLayout(name = 'n3xc', count = 3): Cluster {
  const nodes = Array.from({ length: count }, (_, i): ClusterNode => {
    const index = i + 1;
    const node = `${name}-node${index}`;
    return {
      index,
      name: node,
      netns: node,
      address: `${SUBNET}.${10 + index}`,
      socket: path.join(RUN, `${node}.sock`),
      dataRoot: path.join(LIB, node),
      execRoot: path.join(RUN, node),
      pidfile: path.join(RUN, `${node}.pid`),
      log: path.join(RUN, `${node}.log`),
    };
  });
  return { name, nodes, switchNetns: `${name}-switch`, managerHost: `unix://${nodes[0]!.socket}` };
}

/** `docker` against one node's engine. */
export function nodeDocker(node: ClusterNode, args: string[], options: { allowFail?: boolean } = {}): string {
  return sh(['docker', '-H', `unix://${node.socket}`, ...args], options);
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Brings the cluster up: namespaces, the switch, the engines, the swarm. Throws (after tearing down) on failure. */
export async function clusterUp(cluster: Cluster, onLine: (line: string) => void = () => undefined): Promise<void> {
  try {
    mkdirSync(RUN, { recursive: true });
    sh(['ip', 'netns', 'add', cluster.switchNetns]);
    sh(['ip', '-n', cluster.switchNetns, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', cluster.switchNetns, 'link', 'set', 'br0', 'up']);
    for (const node of cluster.nodes) {
      sh(['ip', 'netns', 'add', node.netns]);
      // One veth pair per node, made directly inside the two namespaces: the host's own links are never touched.
      sh(['ip', 'link', 'add', `port${node.index}`, 'netns', cluster.switchNetns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
      sh(['ip', '-n', cluster.switchNetns, 'link', 'set', `port${node.index}`, 'master', 'br0', 'up']);
      sh(['ip', '-n', node.netns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
      sh(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
      sh(['ip', '-n', node.netns, 'link', 'set', 'lo', 'up']);
      mkdirSync(node.dataRoot, { recursive: true });
      mkdirSync(node.execRoot, { recursive: true });
      const out = openSync(node.log, 'a');
      // nsenter, not `ip netns exec`: that one also gives the process a mount namespace with a fresh /sys, where the
      // cgroup hierarchies are not mounted ("Devices cgroup isn't mounted", dockerd refuses to start).
      // A UTS namespace of its own too, so that the node is named after it (Swarm names a node by its hostname).
      const child = spawn(
        'unshare',
        [
          '--uts',
          'sh',
          '-c',
          'hostname "$0" && exec "$@"',
          node.name,
          'nsenter',
          `--net=/run/netns/${node.netns}`,
          'dockerd',
          '--data-root', node.dataRoot,
          '--exec-root', node.execRoot,
          '--pidfile', node.pidfile,
          '-H', `unix://${node.socket}`,
          '--cgroup-parent', `/${node.name}`,
          '--containerd-namespace', node.name,
          '--containerd-plugins-namespace', `${node.name}-plugins`,
          // Its own bridge range: the host's default (172.17/16) is the host engine's.
          '--bip', `172.${30 + node.index}.0.1/16`,
          // A registry on the swarm (images registry) speaks plain HTTP at a node's address.
          '--insecure-registry', `${SUBNET}.0/24`,
        ],
        { detached: true, stdio: ['ignore', out, out] },
      );
      child.unref();
      onLine(`${node.name}: dockerd at ${node.address}, unix://${node.socket}`);
    }
    for (const node of cluster.nodes) await waitFor(`${node.name}'s engine answering`, () => nodeDocker(node, ['version', '--format', '{{.Server.Version}}'], { allowFail: true }) !== '', 60_000);
    const [manager, ...workers] = cluster.nodes;
    nodeDocker(manager!, ['swarm', 'init', '--advertise-addr', manager!.address, '--listen-addr', `${manager!.address}:2377`]);
    const token = nodeDocker(manager!, ['swarm', 'join-token', '-q', 'worker']);
    for (const w of workers) nodeDocker(w, ['swarm', 'join', '--advertise-addr', w.address, '--listen-addr', `${w.address}:2377`, '--token', token, `${manager!.address}:2377`]);
    await waitFor('every node Ready', () => nodeDocker(manager!, ['node', 'ls', '--format', '{{.Status}}']).split('\n').filter((s) => s === 'Ready').length === cluster.nodes.length, 60_000);
    onLine(`swarm: ${cluster.nodes.length} nodes Ready, ${manager!.name} the manager`);
  } catch (error) {
    await clusterDown(cluster).catch(() => undefined);
    throw error;
  }
}

function pidOf(node: ClusterNode): number | undefined {
  try {
    const pid = Number(readFileSync(node.pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Processes whose command line names one of the cluster's roots (its engines, their containerd, the shims). */
function clusterProcesses(cluster: Cluster): number[] {
  const marks = cluster.nodes.flatMap((n) => [n.execRoot, n.dataRoot, n.socket]);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (marks.some((m) => cmd.includes(m))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const clusterMounts = (cluster: Cluster) =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => cluster.nodes.some((n) => m.startsWith(n.dataRoot) || m.startsWith(n.execRoot)) || m.includes(`/netns/${cluster.name}-`))
    .sort((a, b) => b.length - a.length);

/** The cgroup parents of the cluster's engines. */
const clusterCgroups = (cluster: Cluster): string[] => cluster.nodes.flatMap(nodeCgroups);

/** What is left of the cluster on this machine: processes, mounts, namespaces, cgroups, directories. */
export function clusterLeftovers(cluster: Cluster): string[] {
  const namespaces = sh(['ip', 'netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${cluster.name}-`));
  return [
    ...clusterProcesses(cluster).map((p) => `process ${p}`),
    ...clusterMounts(cluster).map((m) => `mount ${m}`),
    ...namespaces.map((n) => `netns ${n}`),
    ...clusterCgroups(cluster).map((c) => `cgroup ${c}`),
    ...cluster.nodes.flatMap((n) => [n.dataRoot, n.execRoot, n.socket, n.pidfile].filter((p) => existsSync(p)).map((p) => `path ${p}`)),
  ];
}

/** A node's cgroup parent in every hierarchy (cgroup v1 has one per controller, v2 one). */
function nodeCgroups(node: ClusterNode): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c))];
  return roots.map((root) => path.join(root, node.name)).filter((dir) => existsSync(dir));
}

/**
 * The containers of `node` that outlived its engine (SIGKILLed: containerd's shims kept them running, and ending
 * the shims does not end what they ran), each a cgroup under the node's cgroup parent: their processes killed and
 * their cgroups removed, as the engine would have done on its way down. Returns how many containers had processes.
 */
export async function reapNode(node: ClusterNode): Promise<number> {
  const dirs = nodeCgroups(node).flatMap((parent) => readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(parent, d.name)));
  const containers = new Set<string>();
  for (const dir of dirs) {
    let pids: string[] = [];
    try {
      pids = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      // removed meanwhile
    }
    for (const pid of pids) {
      containers.add(path.basename(dir));
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  const removed = (dir: string) => !existsSync(dir) || spawnSync('rmdir', [dir]).status === 0;
  await waitFor(`the cgroups of ${node.name}'s containers emptying`, () => dirs.every(removed), 10_000).catch(() => undefined);
  return containers.size;
}

/** Tears the cluster down completely; throws naming what is left, if anything. */
export async function clusterDown(cluster: Cluster): Promise<void> {
  for (const node of cluster.nodes) {
    const pid = pidOf(node);
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
  }
  await waitFor('the engines stopping', () => cluster.nodes.every((n) => pidOf(n) === undefined), 60_000).catch(() => undefined);
  // Anything of theirs still running (a shim whose engine was killed) goes too.
  for (const pid of clusterProcesses(cluster)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await waitFor('their processes ending', () => clusterProcesses(cluster).length === 0, 10_000).catch(() => undefined);
  // Containers of an engine that was killed run on without it.
  for (const node of cluster.nodes) await reapNode(node);
  for (const mount of clusterMounts(cluster)) sh(['umount', '-l', mount], { allowFail: true });
  for (const node of cluster.nodes) {
    for (const p of [node.dataRoot, node.execRoot, node.socket, node.pidfile, node.log]) rmSync(p, { recursive: true, force: true });
    sh(['ip', 'netns', 'del', node.netns], { allowFail: true });
  }
  sh(['ip', 'netns', 'del', cluster.switchNetns], { allowFail: true });
  for (const dir of [RUN, LIB]) spawnSync('rmdir', [dir]);
  // The cgroup parents the engines made for their containers (empty once those are gone).
  for (const dir of clusterCgroups(cluster)) spawnSync('rmdir', [dir]);
  const left = clusterLeftovers(cluster);
  if (left.length > 0) throw new Error(`the cluster left: ${left.join(', ')}`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [command] = process.argv.slice(2);
  const opt = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const cluster = clusterLayout(opt('--name') ?? 'n3xc', Number(opt('--nodes') ?? '3'));
  if (command === 'up') {
    const started = performance.now();
    await clusterUp(cluster, (line) => console.log(line));
    console.log(`up in ${((performance.now() - started) / 1000).toFixed(1)} s; manager: DOCKER_HOST=${cluster.managerHost} (run in its namespace: ip netns exec ${cluster.nodes[0]!.netns} …)`);
  } else if (command === 'down') {
    const started = performance.now();
    await clusterDown(cluster);
    console.log(`down in ${((performance.now() - started) / 1000).toFixed(1)} s: no process, mount, namespace or directory of the cluster is left`);
  } else {
    console.error('usage: cluster.ts up [--nodes 3] [--name n3xc] | down [--name n3xc]');
    process.exitCode = 22;
  }
}
