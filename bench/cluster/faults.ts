/**
 * Node faults on a real three-node swarm (issue 13, item 4), each scripted and measured, then one table:
 *   node --import tsx bench/cluster/faults.ts [--small] [--only drain,data,kill]
 * A cluster of bench/cluster/cluster.ts named n3xf is brought up, given the images (docker save, then `images
 * distribute` to every node), and the fleet launched on it with `launch --driver swarm` from the manager's namespace
 * (the whole fleet of compose/; with --small PostgreSQL, Redis, v-supercore ×3 and puabo-api-ai-hf ×2). Then:
 * - drain: worker node2 drained; the time until each of its tasks runs on another node, and until `verify --full
 *   --driver swarm --threshold 100` passes. Made active again after (Swarm does not move tasks back).
 * - data: a row written into PostgreSQL, then its node (node1, the manager, the data node) drained: what Swarm does
 *   with PostgreSQL's task, whether a PostgreSQL starts anywhere else, what `status` and `launch` say; the node made
 *   active again, the time until PostgreSQL answers, whether the row is still there, launch and verify again.
 * - kill: worker node3's dockerd SIGKILLed; the time until the manager marks it down, until its tasks run elsewhere,
 *   until verify passes; then `launch` again: its exit code, and for every service the tasks running against its
 *   replicas (duplicates). node3 stays down, which is why kill runs last.
 * The fleet is taken down (`down --volumes`) and the cluster torn down at the end, whatever happened. Exit 1 unless
 * every scenario passed. Needs the images built (n3xus images build), the CLI built (npm run build); runs as root.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.ts';
import { sleep } from '../../src/util/sleep.ts';
import { cutCompose } from '../lib/fleet-cut.ts';
import { option, seconds } from '../lib/util.ts';
import { clusterDown, clusterLayout, clusterLeftovers, clusterUp, nodeDocker, reapNode, type ClusterNode } from './cluster.ts';
import { projectTasks, psqlOnNode, type TaskRow } from './cluster-fleet.ts';
import { cli, must, saveEveryImage } from './lib.ts';

type CliRun = ReturnType<typeof cli>;

const ALL = ['drain', 'data', 'kill'] as const;
type Scenario = (typeof ALL)[number];
const only = (option('--only')?.split(',') ?? [...ALL]) as Scenario[];
for (const s of only) if (!ALL.includes(s)) throw new Error(`--only: unknown scenario ${s}; the scenarios are ${ALL.join(', ')}`);
// In this order whatever the command line said: kill leaves node3 down.
const scenarios = ALL.filter((s) => only.includes(s));
const small = process.argv.includes('--small');

/** The small fleet: the copies of each service (PostgreSQL and Redis run one, on the data node). */
const SMALL: Readonly<Record<string, number>> = { postgres: 1, redis: 1, 'v-supercore': 3, 'puabo-api-ai-hf': 2 };
const SMALL_IMAGES = ['n3xus/postgres:15', 'n3xus/redis:7', 'n3xus/v-supercore:3.0', 'n3xus/puabo-api-ai-hf:3.0', 'n3xus/cli:3.0'];
/** How long Swarm may take to move tasks, and verify to pass again, before a scenario fails. */
const MOVE_TIMEOUT_MS = 300_000;
const VERIFY_TIMEOUT_MS = 240_000;

const project = 'n3xf';
const cluster = clusterLayout('n3xf', 3);
const [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];

interface Outcome {
  passed: boolean;
  /** What the scenario measured, in one line for the table. */
  summary: string;
}

interface Row extends Outcome {
  scenario: Scenario;
  ms: number;
}

/** Polls `check` every `intervalMs` until it gives a value; the value and the time it took, or undefined. */
async function until<T>(check: () => T | undefined | false, timeoutMs: number, intervalMs = 500): Promise<{ value: T; ms: number } | undefined> {
  const started = performance.now();
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) return undefined;
    await sleep(intervalMs);
  }
}

const since = (at: number): number => performance.now() - at;
const took = (ms: number | undefined): string => (ms === undefined ? 'never' : seconds(ms));
/** A CLI's output with oclif's line wrapping undone. */
const oneLine = (out: string): string => out.replace(/\s*\n\s*/g, ' ').trim();

function availability(node: ClusterNode, value: 'active' | 'drain'): void {
  nodeDocker(node1, ['node', 'update', '--availability', value, node.name]);
}

/**
 * The project's tasks that run now (on nodes other than `avoid`); the services with fewer or more than their
 * replicas, and how many tasks run beyond them (duplicates).
 */
function census(avoid?: ClusterNode): { running: TaskRow[]; short: string[]; extra: string[]; duplicates: number; stillOn: TaskRow[] } {
  const { replicas, tasks } = projectTasks(cluster, project);
  const running = tasks.filter((t) => t.state === 'running' && t.node !== avoid?.name);
  const count = (service: string) => running.filter((t) => t.service === service).length;
  return {
    running,
    short: [...replicas].filter(([s, n]) => count(s) < n).map(([s, n]) => `${s} ${count(s)}/${n}`),
    extra: [...replicas].filter(([s, n]) => count(s) > n).map(([s, n]) => `${s} ${count(s)}/${n}`),
    duplicates: [...replicas].reduce((sum, [s, n]) => sum + Math.max(0, count(s) - n), 0),
    // Tasks Swarm still means to run on the node avoided (desired state running).
    stillOn: avoid === undefined ? [] : tasks.filter((t) => t.node === avoid.name),
  };
}

const perNode = (tasks: readonly TaskRow[]): string => {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.node, (counts.get(t.node) ?? 0) + 1);
  return [...counts].sort().map(([n, c]) => `${n.replace(`${cluster.name}-`, '')} ${c}`).join(', ');
};

// ---------------------------------------------------------------- the fleet

const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-cluster-faults-'));
let fleetArgs = ['--project', project];
let replicaArgs: string[] = [];
if (small) {
  const file = path.join(dir, 'fleet.yml');
  writeFileSync(file, cutCompose(Object.keys(SMALL), { network: { name: `${project}-net`, driver: 'overlay' }, secretsDir: path.join(dir, 'secrets') }));
  // Beside the fleet file, where the CLI looks for it: the images built here, not the public ones.
  copyFileSync(path.join(projectRoot(), 'compose', 'airgap.env'), path.join(dir, 'airgap.env'));
  fleetArgs = ['-f', file, ...fleetArgs];
  replicaArgs = Object.entries(SMALL).flatMap(([s, n]) => (n > 1 ? ['--replicas', `${s}=${n}`] : []));
}
const launchFleet = () => cli(['launch', '--driver', 'swarm', ...fleetArgs, ...replicaArgs], cluster);

/** `verify --full --driver swarm --threshold 100`, again until it passes: the time, the tries and its last verdict. */
async function verifyPasses(timeoutMs = VERIFY_TIMEOUT_MS): Promise<{ ms?: number; tries: number; verdict: string }> {
  const started = performance.now();
  let tries = 0;
  let verdict = '';
  const passed = await until(() => {
    tries += 1;
    const run = cli(['verify', '--full', '--driver', 'swarm', '--threshold', '100', ...fleetArgs], cluster);
    verdict = `exit ${run.code}: ${run.out.split('\n').filter((l) => /operational/.test(l)).pop()?.trim() ?? oneLine(run.out).slice(-200)}`;
    return run.code === 0;
  }, timeoutMs, 1_000);
  return { ...(passed === undefined ? {} : { ms: since(started) }), tries, verdict };
}

// ---------------------------------------------------------------- the scenarios

async function drain(): Promise<Outcome> {
  const before = census().running.filter((t) => t.node === node2.name);
  const at = performance.now();
  availability(node2, 'drain');
  try {
    const moved = await until(() => {
      const now = census(node2);
      return now.stillOn.length === 0 && now.short.length === 0 && now;
    }, MOVE_TIMEOUT_MS);
    const verified = await verifyPasses();
    const verifyMs = verified.ms === undefined ? undefined : since(at);
    console.log(`drain: ${node2.name} drained; its ${before.length} tasks (${before.map((t) => t.service).join(', ')}) ran elsewhere after ${took(moved?.ms)} (tasks per node: ${moved === undefined ? census(node2).short.join(', ') : perNode(moved.value.running)}); verify at 100 % after ${took(verifyMs)} (${verified.tries} run(s); ${verified.verdict})`);
    return {
      passed: moved !== undefined && verified.ms !== undefined,
      summary: `${before.length} tasks moved in ${took(moved?.ms)}; verify 100 % at ${took(verifyMs)}`,
    };
  } finally {
    availability(node2, 'active');
    console.log(`drain: ${node2.name} active again; tasks per node ${perNode(census().running)} (Swarm does not move running tasks back onto it: only new tasks go there)`);
  }
}

const TABLE = 'n3xus_faults_bench';

/** What is seen while node1, the data node, is drained: PostgreSQL's task, a PostgreSQL elsewhere, status and launch. */
async function whileDataNodeDrained(): Promise<{ pending: { value: TaskRow; ms: number } | undefined; elsewhere: number; refused: CliRun }> {
  const pending = await until(() => projectTasks(cluster, project).tasks.find((t) => t.service === `${project}-postgres` && t.state === 'pending'), MOVE_TIMEOUT_MS);
  const redis = projectTasks(cluster, project).tasks.find((t) => t.service === `${project}-redis`);
  console.log(`data: ${node1.name} drained; PostgreSQL's task ${pending === undefined ? 'never went pending' : `stopped, and its new one is pending after ${seconds(pending.ms)}: "${pending.value.error}"`}; Redis's new task: ${redis?.state ?? 'none'}`);
  // No PostgreSQL may start on a node without its volume (it would start empty), nor may the volume appear there.
  const count = (node: ClusterNode, args: string[]) => nodeDocker(node, args).split('\n').filter(Boolean).length;
  const containers = cluster.nodes.reduce((n, node) => n + count(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${project}-postgres`]), 0);
  const volumes = [node2, node3].reduce((n, node) => n + count(node, ['volume', 'ls', '-q', '--filter', `name=${project}_pgdata`]), 0);
  console.log(`data: PostgreSQL containers running on any node: ${containers}; volumes ${project}_pgdata on the other nodes: ${volumes}; tasks per node ${perNode(census().running)}`);
  const status = cli(['status', '--driver', 'swarm', ...fleetArgs], cluster);
  console.log(`data: status says: ${oneLine(status.out).match(/Data node .*?\(exit 30\)\./)?.[0] ?? '(nothing about the data node)'}`);
  const refused = launchFleet();
  console.log(`data: launch exit ${refused.code} in ${seconds(refused.ms)}: ${oneLine(refused.out)}`);
  return { pending, elsewhere: containers + volumes, refused };
}

async function dataNode(): Promise<Outcome> {
  const note = `written before ${node1.name} was drained`;
  const written = psqlOnNode(node1, project, `CREATE TABLE IF NOT EXISTS ${TABLE} (id serial PRIMARY KEY, note text NOT NULL); INSERT INTO ${TABLE} (note) VALUES ('${note}') RETURNING id`);
  const id = written?.split('\n').find((l) => /^\d+$/.test(l));
  if (id === undefined) throw new Error(`could not write a row into PostgreSQL on ${node1.name} (psql said: ${written ?? 'no PostgreSQL task there'})`);
  console.log(`data: row ${id} written into ${TABLE} on ${node1.name}, the data node`);
  availability(node1, 'drain');
  const { pending, elsewhere, refused } = await whileDataNodeDrained().finally(() => availability(node1, 'active'));
  const back = await until(() => psqlOnNode(node1, project, 'SELECT 1') === '1', MOVE_TIMEOUT_MS);
  const kept = psqlOnNode(node1, project, `SELECT note FROM ${TABLE} WHERE id = ${id}`) === note;
  console.log(`data: ${node1.name} active again; PostgreSQL answering on it after ${took(back?.ms)}; row ${id} ${kept ? 'still there' : 'LOST'}`);
  const relaunched = launchFleet();
  const verified = await verifyPasses();
  console.log(`data: launch again exit ${relaunched.code} in ${seconds(relaunched.ms)}; verify at 100 % after ${took(verified.ms)} (${verified.verdict}); tasks per node ${perNode(census().running)}`);
  psqlOnNode(node1, project, `DROP TABLE ${TABLE}`);
  const named = oneLine(refused.out).includes(`Node ${node1.name} holds project ${project}'s data`);
  return {
    passed: pending !== undefined && elsewhere === 0 && refused.code === 30 && named && back !== undefined && kept && relaunched.code === 0 && verified.ms !== undefined,
    summary: `postgres pending after ${took(pending?.ms)}, PostgreSQL or its volume on another node: ${elsewhere}; launch exit ${refused.code}${named ? ' naming the node' : ''}; back ${took(back?.ms)} after active again; data kept: ${kept ? 'yes' : 'NO'}`,
  };
}

async function kill(): Promise<Outcome> {
  try {
    return await killNode3();
  } finally {
    // Whatever happened: node3's containers must not run on (idempotent).
    await reapNode(node3);
  }
}

async function killNode3(): Promise<Outcome> {
  const before = census().running.filter((t) => t.node === node3.name);
  const pid = Number(readFileSync(node3.pidfile, 'utf8').trim());
  const at = performance.now();
  process.kill(pid, 'SIGKILL');
  const down = await until(() => nodeDocker(node1, ['node', 'inspect', node3.name, '--format', '{{.Status.State}}']) === 'down', MOVE_TIMEOUT_MS);
  const downMs = down === undefined ? undefined : since(at);
  const moved = await until(() => census(node3).short.length === 0, MOVE_TIMEOUT_MS);
  const movedMs = moved === undefined ? undefined : since(at);
  console.log(`kill: ${node3.name}'s dockerd (pid ${pid}) SIGKILLed; marked down after ${took(downMs)}; its ${before.length} tasks (${before.map((t) => t.service).join(', ')}) running on other nodes after ${took(movedMs)} (tasks per node: ${perNode(census(node3).running)})`);
  const verified = await verifyPasses();
  const verifyMs = verified.ms === undefined ? undefined : since(at);
  console.log(`kill: verify at 100 % after ${took(verifyMs)} (${verified.tries} run(s); ${verified.verdict})`);
  const relaunched = launchFleet();
  const after = census(node3);
  const orphans = await reapNode(node3);
  console.log(
    `kill: launch again exit ${relaunched.code} in ${seconds(relaunched.ms)}${relaunched.code === 0 ? '' : `: ${oneLine(relaunched.out).slice(-400)}`}; ` +
      `tasks running against replicas: ${after.short.length === 0 && after.duplicates === 0 ? 'equal for every service' : `short ${after.short.join(', ') || 'none'}, over ${after.extra.join(', ') || 'none'}`}; ` +
      `tasks the manager still means to run on ${node3.name}: ${after.stillOn.length}; containers of ${node3.name} still running without their engine: ${orphans} (ended now)`,
  );
  return {
    passed: down !== undefined && moved !== undefined && verified.ms !== undefined && relaunched.code === 0 && after.duplicates === 0 && after.short.length === 0,
    summary: `down after ${took(downMs)}; ${before.length} tasks moved at ${took(movedMs)}; verify 100 % at ${took(verifyMs)}; launch again exit ${relaunched.code}; duplicates ${after.duplicates}`,
  };
}

const RUN: Record<Scenario, () => Promise<Outcome>> = { drain, data: dataNode, kill };

// ---------------------------------------------------------------- run

const rows: Row[] = [];
try {
  if (clusterLeftovers(cluster).length > 0) await clusterDown(cluster);
  let at = performance.now();
  await clusterUp(cluster);
  console.log(`cluster ${cluster.name} up in ${seconds(since(at))}: ${cluster.nodes.map((n) => n.name).join(', ')} (${node1.name} the manager)`);
  const images = small ? SMALL_IMAGES : undefined;
  const archive = saveEveryImage(dir, images);
  const distributed = cli(['images', 'distribute', '-i', archive, ...cluster.nodes.flatMap((n) => ['--engine', `unix://${n.socket}`]), '--json']);
  must(distributed, 'images distribute');
  const sent = (JSON.parse(distributed.out) as { engines: { bytes: number }[] }).engines.reduce((sum, e) => sum + e.bytes, 0);
  console.log(`images on every node: ${(sent / 1e6).toFixed(0)} MB sent in ${seconds(distributed.ms)}`);
  const launched = launchFleet();
  must(launched, 'launch --driver swarm');
  const first = census();
  console.log(`${small ? 'small fleet' : 'fleet'} launched in ${seconds(launched.ms)}: ${first.running.length} tasks; per node ${perNode(first.running)}`);
  for (const scenario of scenarios) {
    at = performance.now();
    let outcome: Outcome;
    try {
      outcome = await RUN[scenario]();
    } catch (error) {
      outcome = { passed: false, summary: `the scenario failed to run: ${error instanceof Error ? error.message : String(error)}` };
    }
    rows.push({ scenario, ms: since(at), ...outcome });
    console.log(`${scenario}: ${outcome.passed ? 'passed' : 'FAILED'} in ${seconds(since(at))}\n`);
  }
} finally {
  const down = cli(['down', '--driver', 'swarm', '--volumes', ...fleetArgs], cluster);
  if (down.code !== 0) console.log(`down exited ${down.code}: ${oneLine(down.out).slice(-300)}`);
  try {
    await clusterDown(cluster);
    console.log(`cluster ${cluster.name} down: nothing of it left`);
  } catch (error) {
    console.log(`cluster ${cluster.name} down: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
  rmSync(dir, { recursive: true, force: true });
}

const header = ['SCENARIO', 'OUTCOME', 'TIME', 'MEASURED'];
const table = rows.map((r) => [r.scenario, r.passed ? 'passed' : 'FAILED', seconds(r.ms), r.summary]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
console.log(`\nnode faults on a three-node swarm, ${small ? 'small fleet (postgres, redis, v-supercore ×3, puabo-api-ai-hf ×2)' : 'the whole fleet'}`);
for (const line of [header, ...table]) console.log(line.map((c, i) => (i === line.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
if (rows.length < scenarios.length || rows.some((r) => !r.passed)) process.exitCode = 1;
