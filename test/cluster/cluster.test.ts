/**
 * A three-node swarm on this machine (bench/cluster/cluster.ts, issue 13): three engines, each a dockerd in network
 * and UTS namespaces of its own, joined by a bridge in a namespace of its own. Brought up, given the images of a
 * small fleet (no registry: `images distribute` sends each node's engine the layers it lacks), launched on by the CLI from inside the manager's namespace
 * (where the loopback gateway publishes), refused while its data node is drained; a registry run on the swarm, an
 * archive pushed to it and pulled by every node; the fleet taken down, and the cluster torn down: nothing of it may
 * be left.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectTasks, psqlOnNode } from '../../bench/cluster/cluster-fleet.ts';
import { clusterDown, clusterLayout, clusterLeftovers, clusterUp, nodeDocker } from '../../bench/cluster/cluster.ts';
import { DockerEngine } from '../../src/docker/engine.ts';
import { saveImageArchive } from '../../src/images/archive.ts';
import { distributeArchive, type Distributed } from '../../src/images/distribute.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { AIRGAP, cutFleet } from '../support/fleet-cut.ts';
import { freePort } from '../support/local-servers.ts';
import { eventually } from '../support/servers.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

const IMAGES = { all: ['n3xus/v-supercore:3.0'], data: ['n3xus/postgres:15', 'n3xus/redis:7'], pulled: 'n3xus/api-docs:3.0', registry: 'n3xus/registry:2' };
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const haveImages = () => spawnSync('docker', ['image', 'inspect', ...IMAGES.all, ...IMAGES.data, IMAGES.pulled, IMAGES.registry], { stdio: 'ignore' }).status === 0;
const missing = process.getuid?.() !== 0 ? 'root (network namespaces)' : !has('dockerd') || !has('nsenter') || !has('unshare') || !has('ip') ? 'dockerd, nsenter, unshare and ip' : !haveImages() ? `the images ${[...IMAGES.all, ...IMAGES.data, IMAGES.pulled, IMAGES.registry].join(', ')} (n3xus images build)` : '';

const cluster = clusterLayout('n3xt', 3);
const project = 'n3xt';
let dir = '';
let file = '';

/** The CLI from inside the manager's namespace, against the manager's engine. */
function cli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', cluster.nodes[0]!.netns, process.execPath, path.join(projectRoot(), 'bin/run.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...AIRGAP, DOCKER_HOST: cluster.managerHost, CI: 'true' },
    timeout: 300_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The engine of each node, as `images distribute` reaches it. */
const engines = cluster.nodes.map((node) => ({ name: node.name, image: new DockerEngine({ env: { DOCKER_HOST: `unix://${node.socket}` } }).image }));
let distributed: { first: Distributed[]; again: Distributed[] } | undefined;

describeUnless(missing, 'a three-node swarm of engines in network namespaces', () => {
  beforeAll(async () => {
    // A cluster left by an interrupted run goes first.
    if (clusterLeftovers(cluster).length > 0) await clusterDown(cluster);
    await clusterUp(cluster);
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-cluster-'));
    // No registry: the images go to each node's engine from archives, as `images distribute` sends them. PostgreSQL
    // and Redis only to the data node (the manager, which the first launch labels); the service to every node.
    const host = new DockerEngine();
    const all = (await saveImageArchive(host, { images: IMAGES.all, outputPath: path.join(dir, 'all.tar') })).file;
    const data = (await saveImageArchive(host, { images: IMAGES.data, outputPath: path.join(dir, 'data.tar') })).file;
    await distributeArchive(data, engines.slice(0, 1));
    const first = (await distributeArchive(all, engines)).engines;
    // Again: every node has every layer now, so only the manifests and configs travel.
    const again = (await distributeArchive(all, engines)).engines;
    distributed = { first, again };
    file = path.join(dir, 'fleet.yml');
    const ports = { postgres: await freePort(), redis: await freePort(), 'v-supercore': await freePort() };
    writeFileSync(file, cutFleet(['postgres', 'redis', 'v-supercore'], ports, { driver: 'overlay', name: `${project}-net` }));
  }, 300_000);
  afterAll(async () => {
    await clusterDown(cluster);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('gives each node the images through its API, and only the layers it lacks', () => {
    for (const d of distributed!.first) {
      expect(d.loaded, d.engine).toEqual(IMAGES.all);
      expect(d.layersSent, d.engine).toBeGreaterThan(0);
    }
    for (const d of distributed!.again) {
      expect(d.layersSent, d.engine).toBe(0);
      expect(d.bytes, d.engine).toBeLessThan(100_000);
      expect(d.loaded, d.engine).toEqual(IMAGES.all);
    }
  });

  it('joins three nodes, one manager', () => {
    const nodes = nodeDocker(cluster.nodes[0]!, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}']).split('\n').sort();
    expect(nodes).toEqual(['n3xt-node1 Ready Leader', 'n3xt-node2 Ready ', 'n3xt-node3 Ready '].map((n) => n.trimEnd()).sort().map((n) => expect.stringMatching(new RegExp(`^${n}\\s*$`))));
  });

  it('runs a fleet across the nodes: its data on the data node, the copies of a stateless service on all three', () => {
    const launched = cli(['launch', '--driver', 'swarm', '-f', file, '--project', project, '--replicas', 'v-supercore=3']);
    expect(launched.code, launched.out).toBe(0);
    const manager = cluster.nodes[0]!;
    const where = (service: string) =>
      nodeDocker(manager, ['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Node}}', `${project}-${service}`])
        .split('\n')
        .filter(Boolean)
        .sort();
    expect(where('postgres')).toEqual(['n3xt-node1']);
    expect(where('redis')).toEqual(['n3xt-node1']);
    expect(where('v-supercore')).toEqual(['n3xt-node1', 'n3xt-node2', 'n3xt-node3']);
    const status = cli(['status', '--driver', 'swarm', '-f', file, '--project', project, '--json']);
    expect(status.code, status.out).toBe(0);
    const report = JSON.parse(status.out) as { healthy: number; total: number; services: { service: string; nodes?: string[] }[] };
    expect(report).toMatchObject({ healthy: 3, total: 3 });
    // status shows where each copy runs, by node name.
    expect(Object.fromEntries(report.services.map((s) => [s.service, s.nodes]))).toEqual({ postgres: ['n3xt-node1'], redis: ['n3xt-node1'], 'v-supercore': ['n3xt-node1', 'n3xt-node2', 'n3xt-node3'] });
    expect(cli(['status', '--driver', 'swarm', '-f', file, '--project', project]).out).toMatch(/v-supercore\s.*n3xt-node1,n3xt-node2,n3xt-node3/);
  }, 300_000);

  it('refuses to launch while the data node is drained, naming it; once it is active again, launches with the data kept', async () => {
    const manager = cluster.nodes[0]!;
    const args = ['launch', '--driver', 'swarm', '-f', file, '--project', project, '--replicas', 'v-supercore=3'];
    expect(psqlOnNode(manager, project, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before the drain')")).toContain('INSERT 0 1');
    nodeDocker(manager, ['node', 'update', '--availability', 'drain', manager.name]);
    try {
      // Swarm stops PostgreSQL's task and cannot place another: its volume is on this node.
      const pending = await eventually(() => projectTasks(cluster, project).tasks.find((t) => t.service === `${project}-postgres` && t.state === 'pending'), 60_000, 250);
      expect(pending.error).toContain('no suitable node');
      const refused = cli(args);
      expect(refused.code, refused.out).toBe(30);
      // One message, oclif's line wrapping undone; no stack trace.
      const said = refused.out.replace(/\s*\n\s*/g, ' ');
      expect(said).toContain(`Node ${manager.name} holds project ${project}'s data (node label n3xus.${project}.data=true), and it is drained`);
      expect(said).toContain(`docker node update --availability active ${manager.name}`);
      expect(refused.out).not.toMatch(/^\s+at /m);
      expect(cli(['status', '--driver', 'swarm', '-f', file, '--project', project]).out.replace(/\s*\n\s*/g, ' ')).toContain(`Data node ${manager.name} (label n3xus.${project}.data=true) is drained`);
    } finally {
      nodeDocker(manager, ['node', 'update', '--availability', 'active', manager.name]);
    }
    const launched = cli(args);
    expect(launched.code, launched.out).toBe(0);
    expect(psqlOnNode(manager, project, 'SELECT note FROM kept')).toBe('before the drain');
  }, 180_000);

  it('runs a registry on the swarm, pushes an archive to it once, and has every node pull from it', async () => {
    // The registry's image is on the host's engine only: images registry sends it to the manager.
    const started = cli(['images', 'registry', '--json']);
    expect(started.code, started.out).toBe(0);
    const place = JSON.parse(started.out) as { address: string; created: boolean; imageBytes: number };
    expect(place).toMatchObject({ address: `${cluster.nodes[0]!.address}:5000`, created: true });
    expect(place.imageBytes).toBeGreaterThan(0);
    // An image no node has yet.
    const archive = (await saveImageArchive(new DockerEngine(), { images: [IMAGES.pulled], outputPath: path.join(dir, 'pulled.tar') })).file;
    const sent = cli(['images', 'distribute', '-i', archive, '--via', 'registry', '--registry', place.address, ...cluster.nodes.flatMap((n) => ['--engine', `unix://${n.socket}`]), '--json']);
    expect(sent.code, sent.out).toBe(0);
    const result = JSON.parse(sent.out) as { push: { uploaded: number; bytes: number }; engines: { engine: string; layersDownloaded: number }[] };
    expect(result.push.uploaded).toBeGreaterThan(0);
    const id = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGES.pulled], { encoding: 'utf8' }).stdout.trim();
    for (const node of cluster.nodes) expect(nodeDocker(node, ['image', 'inspect', '--format', '{{.Id}}', IMAGES.pulled]), node.name).toBe(id);
    for (const e of result.engines) expect(e.layersDownloaded, e.engine).toBeGreaterThan(0);
    const removed = cli(['images', 'registry', '--remove', '--volumes']);
    expect(removed.code, removed.out).toBe(0);
    expect(nodeDocker(cluster.nodes[0]!, ['service', 'ls', '--filter', 'name=n3xus-registry', '-q'])).toBe('');
  }, 180_000);

  it('takes the fleet down, then the cluster down, leaving no process, mount, namespace, cgroup or directory', async () => {
    const down = cli(['down', '--driver', 'swarm', '-f', file, '--project', project, '--volumes']);
    expect(down.code, down.out).toBe(0);
    await clusterDown(cluster);
    expect(clusterLeftovers(cluster)).toEqual([]);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain('n3xt-');
  }, 120_000);
});
