/**
 * Fault injection on the launched fleet (issue 14), each scenario scripted and judged, then one table:
 *   node --import tsx bench/faults.ts [--driver docker|process] [--state-dir .n3xus] [--only kill,interrupt,postgres,all-down,crash-loop]
 *
 * - kill: 10 % of the services SIGKILLed while a launch starts the extended stage; the launch completes or names
 *   them, a second launch converges, one instance per service.
 * - interrupt: Ctrl-C (SIGINT) while a launch starts the extended stage; exit 130, no instance outside the fleet, no
 *   duplicate; a second launch completes.
 * - postgres: PostgreSQL stopped for 30 s; every service stays live (/health), readiness (/ready) goes down and comes
 *   back once it is started again, and no service is restarted.
 * - all-down: the engine restarted (Docker: dockerd stopped and started again with its own command line) or every
 *   process of the fleet killed (process driver); a watcher (`n3xus heal`; with processes, launch's supervisor)
 *   restores the fleet, dependencies before the services that need them.
 * - crash-loop: one service made to exit at start, forever (its caller key file made invalid, then the service
 *   killed); the watcher reports a crash loop and backs off, every other service stays up; with the file restored it
 *   comes back.
 *
 * Before each scenario, records are written through identity-registry's API; after it, each is read back through the
 * API, and every table's rows are counted in PostgreSQL (on its published port): no row may be lost. Exit 1 unless
 * every scenario passed. Needs the fleet launched (n3xus launch, with the process driver: launch --driver process),
 * the CLI built (npm run build), and for all-down on Docker a dockerd this user may restart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { HANDSHAKE_HEADER, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { loadCommandFleet } from '../src/cli/load-fleet.ts';
import { selectDriver } from '../src/cli/select-driver.ts';
import { instancesByService, type FleetDriver, type Instance } from '../src/drivers/driver.ts';
import { projectDir } from '../src/drivers/process/process-state.ts';
import { STAGES } from '../src/fleet/stages.ts';
import { dependencies } from '../src/heal/watch.ts';
import { holdLease, watchersDir } from '../src/heal/watchers.ts';
import { STATE_LABELS } from '../src/launch/labels.ts';
import { adminPostgresUrl } from '../src/secrets/provision.ts';
import { managedSecrets, readSecretsFile } from '../src/secrets/secrets-file.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { sleep } from '../src/util/sleep.ts';
import { option, seconds } from './lib/util.ts';

const root = projectRoot();
const kind = (option('--driver') ?? 'docker') as 'docker' | 'process';
if (kind !== 'docker' && kind !== 'process') throw new Error(`--driver must be docker or process; got ${kind}`);
const stateDir = option('--state-dir') ?? '.n3xus';
const ALL = ['kill', 'interrupt', 'postgres', 'all-down', 'crash-loop'] as const;
type Scenario = (typeof ALL)[number];
const only = (option('--only')?.split(',') ?? [...ALL]) as Scenario[];
for (const s of only) if (!ALL.includes(s)) throw new Error(`--only: unknown scenario ${s}; the scenarios are ${ALL.join(', ')}`);

const { fleet, project } = await loadCommandFleet({});
const driverArgs = ['--driver', kind, ...(kind === 'process' ? ['--state-dir', stateDir] : [])];
let driver: FleetDriver = (await selectDriver({ driver: kind, stateDir, project, fleet, requireState: true })).driver;
const services = fleet.services.map((s) => s.name);
const stageOf = new Map(fleet.services.map((s) => [s.name, s.stage]));
const portOf = new Map(fleet.services.map((s) => [s.name, s.hostPort]));
const adminUrl = adminPostgresUrl(fleet, readSecretsFile(managedSecrets(fleet)!.secretsFile).postgresPassword)!;
const lawful = { [HANDSHAKE_HEADER]: N3XUS_LAW };

interface Row {
  scenario: Scenario;
  passed: boolean;
  recoverMs?: number;
  rowsBefore: number;
  rowsAfter: number;
  records: string;
  detail: string;
}

// ---------------------------------------------------------------- the fleet, seen from outside

/** The CLI, as a user runs it; resolves with its exit code and output. `onChild` gets the process (to signal it). */
function cli(args: string[], onChild?: (child: ChildProcess) => void): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), ...args], { cwd: root, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    onChild?.(child);
    child.once('close', (code) => resolve({ code, out }));
  });
}

// undici's request, not fetch: fetch refuses the ports browsers block, and feature-store listens on one (4045).
async function get(service: string, route: string, timeoutMs = 2_000): Promise<number> {
  try {
    const res = await request(`http://127.0.0.1:${portOf.get(service)}${route}`, { headers: lawful, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

/** The services whose `route` does not answer 200 now (PostgreSQL and Redis: their port does not accept). */
async function notAnswering(route: '/health' | '/ready'): Promise<string[]> {
  const down = await Promise.all(
    services.map(async (s) => {
      if (stageOf.get(s) === 'infra') return (await tcpOpen(portOf.get(s)!)) ? undefined : s;
      return (await get(s, route)) === 200 ? undefined : s;
    }),
  );
  return down.filter((s): s is string => s !== undefined);
}

async function tcpOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Waits until every service is ready; resolves with the time it took, or undefined after `timeoutMs`. */
async function allReady(timeoutMs: number): Promise<{ ms?: number; left: string[] }> {
  const started = performance.now();
  let left: string[] = [];
  while (performance.now() - started < timeoutMs) {
    left = await notAnswering('/ready');
    if (left.length === 0) return { ms: performance.now() - started, left };
    await sleep(500);
  }
  return { left };
}

async function instances(): Promise<Instance[]> {
  return driver.observe(project);
}

/** Instances beyond one per service, and instances of no service of the fleet. */
function duplicatesAndStrays(list: readonly Instance[]): { duplicates: string[]; strays: string[] } {
  const count = new Map<string, number>();
  const strays: string[] = [];
  for (const i of list) {
    const service = i.labels[STATE_LABELS.service] ?? '';
    if (!services.includes(service)) strays.push(i.name);
    count.set(service, (count.get(service) ?? 0) + 1);
  }
  return { duplicates: [...count].filter(([, n]) => n > 1).map(([s, n]) => `${s} ×${n}`), strays };
}

/** Restarts each service's instance has had, as the engine (or the process state) counts them. */
async function restartCounts(): Promise<Map<string, number>> {
  const byService = instancesByService(await instances());
  const counts = new Map<string, number>();
  await Promise.all([...byService].map(async ([s, i]) => counts.set(s, (await driver.inspect(i.id).catch(() => i)).restartCount ?? 0)));
  return counts;
}

// ---------------------------------------------------------------- the data

async function countRows(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
      const tables = await client.query<{ name: string }>(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
      );
      let total = 0;
      for (const { name } of tables.rows) total += Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n);
      return total;
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(1_000);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

const CONTROLLER = 'did:web:n3xus-faults.invalid';

/** Writes `n` DIDs through identity-registry's API; returns their ids. */
async function writeRecords(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(`http://127.0.0.1:${portOf.get('identity-registry')}/v1/dids`, {
      method: 'POST',
      headers: { ...lawful, 'content-type': 'application/json' },
      body: JSON.stringify({ controller: CONTROLLER }),
    });
    const body = (await res.body.json()) as { didDocument?: { id?: string } };
    const did = body.didDocument?.id;
    if (res.statusCode !== 201 || did === undefined) throw new Error(`POST /v1/dids answered ${res.statusCode}: ${JSON.stringify(body)}`);
    ids.push(did);
  }
  return ids;
}

/** How many of `ids` identity-registry still resolves. */
async function readRecords(ids: readonly string[]): Promise<number> {
  let found = 0;
  for (const id of ids) if ((await get('identity-registry', `/v1/dids/${encodeURIComponent(id)}`, 5_000)) === 200) found += 1;
  return found;
}

/** The bench's own DIDs, left by a run that was stopped before it removed them. */
async function leftoverRecords(): Promise<string[]> {
  const res = await request(`http://127.0.0.1:${portOf.get('identity-registry')}/v1/dids?controller=${encodeURIComponent(CONTROLLER)}&limit=100`, { headers: lawful });
  const body = (await res.body.json()) as { items?: { id?: string; didDocument?: { id?: string } }[] };
  return (body.items ?? []).flatMap((i) => i.didDocument?.id ?? i.id ?? []);
}

async function removeRecords(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await request(`http://127.0.0.1:${portOf.get('identity-registry')}/v1/dids/${encodeURIComponent(id)}`, { method: 'DELETE', headers: lawful }).then((r) => r.body.dump(), () => undefined);
  }
}

// ---------------------------------------------------------------- faults

/** Kills a service the way a crash does: its main process, SIGKILL (the container's, or the process's own). */
async function crash(service: string): Promise<void> {
  const instance = instancesByService(await instances()).get(service);
  if (instance === undefined || !instance.running) return;
  if (kind === 'docker') {
    spawnSync('docker', ['kill', '--signal', 'KILL', instance.id], { stdio: 'ignore' });
    return;
  }
  // The wrapper (the group leader) stays, so it records the exit code, as it would for a crash.
  const children = readFileSync(`/proc/${instance.pid}/task/${instance.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const pid of children) process.kill(Number(pid), 'SIGKILL');
}

/** The extended stage's instances, removed, so that a launch has them to create. */
async function removeExtended(): Promise<string[]> {
  const extended = instancesByService(await instances());
  const removed: string[] = [];
  await Promise.all(
    [...extended].filter(([s]) => stageOf.get(s) === 'extended').map(async ([s, i]) => {
      await driver.remove(i.id);
      removed.push(s);
    }),
  );
  return removed;
}

/** Resolves once `n` instances of the extended stage run again (a launch is in its last stage). */
async function extendedRunning(n: number, timeoutMs = 180_000): Promise<string[]> {
  const started = performance.now();
  for (;;) {
    const running = (await instances()).filter((i) => i.running && stageOf.get(i.labels[STATE_LABELS.service] ?? '') === 'extended').map((i) => i.labels[STATE_LABELS.service]!);
    if (running.length >= n) return running;
    if (performance.now() - started > timeoutMs) throw new Error(`the launch did not reach the extended stage within ${seconds(timeoutMs)}`);
    await sleep(200);
  }
}

/** Every `step`-th name, sorted, from `offset`: a spread-out choice that is the same on every run. */
const spread = (names: readonly string[], count: number): string[] => {
  const sorted = [...names].sort();
  return Array.from({ length: Math.min(count, sorted.length) }, (_, i) => sorted[Math.floor((i * sorted.length) / count)]!);
};

// ---------------------------------------------------------------- the scenarios

async function killMidLaunch(): Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>> {
  const removed = await removeExtended();
  let launchChild: ChildProcess | undefined;
  const launching = cli(['launch', ...driverArgs], (c) => (launchChild = c));
  const extendedUp = await extendedRunning(5);
  const earlier = services.filter((s) => stageOf.get(s) !== 'infra' && stageOf.get(s) !== 'extended');
  const victims = [...spread(earlier, 5), ...spread(extendedUp, Math.ceil(services.length / 10) - 5)];
  const killedAt = performance.now();
  await Promise.all(victims.map(crash));
  const first = await launching;
  void launchChild;
  // What the launch said about them: its failure lines (✖, FAIL; the error's own list stops after a few names) and
  // the services it saw restart.
  const lines = first.out.split('\n').filter((l) => /^\s*(✖|FAIL)\s/.test(l) || /restarted during the launch/.test(l));
  const named = victims.filter((v) => lines.some((l) => new RegExp(`(^|[\\s,(:])${v}([\\s,):]|$)`).test(l)));
  const firstOk = (first.code === 0 || first.code === 11) && named.length > 0;
  const second = await cli(['launch', ...driverArgs]);
  const ready = await allReady(120_000);
  const { duplicates, strays } = duplicatesAndStrays(await instances());
  const passed = firstOk && second.code === 0 && ready.ms !== undefined && duplicates.length === 0 && strays.length === 0;
  return {
    passed,
    ...(ready.ms === undefined ? {} : { recoverMs: performance.now() - killedAt }),
    detail:
      `${removed.length} extended removed; killed ${victims.length} (${victims.join(', ')}) mid-launch; launch exit ${first.code} naming ${named.length} of them` +
      `; rerun exit ${second.code}; ${ready.ms === undefined ? `not ready: ${ready.left.join(', ')}` : 'all ready'}; duplicates ${duplicates.length}, strays ${strays.length}`,
  };
}

async function interruptLaunch(): Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>> {
  await removeExtended();
  let launchChild: ChildProcess | undefined;
  const launching = cli(['launch', ...driverArgs], (c) => (launchChild = c));
  await extendedRunning(5);
  const at = performance.now();
  launchChild!.kill('SIGINT');
  const first = await launching;
  const after = duplicatesAndStrays(await instances());
  const second = await cli(['launch', ...driverArgs]);
  const ready = await allReady(120_000);
  const again = duplicatesAndStrays(await instances());
  const passed = first.code === 130 && after.duplicates.length === 0 && after.strays.length === 0 && second.code === 0 && ready.ms !== undefined && again.duplicates.length === 0;
  return {
    passed,
    ...(ready.ms === undefined ? {} : { recoverMs: performance.now() - at }),
    detail: `Ctrl-C in the extended stage: exit ${first.code}; then duplicates ${after.duplicates.length}, strays ${after.strays.length}; rerun exit ${second.code}, ${ready.ms === undefined ? `not ready: ${ready.left.join(', ')}` : 'all ready'}`,
  };
}

async function postgresStopped(): Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>> {
  // The process fleet's supervisor would start it again at once: it is held off, as a launch holds it.
  const release = kind === 'process' ? holdLease(watchersDir('process', { stateDir, project }), 'bench/faults postgres') : () => undefined;
  try {
    const before = await restartCounts();
    const pgInstance = instancesByService(await instances()).get('postgres')!;
    await driver.stop(pgInstance.id, { timeoutS: 10 });
    const stoppedAt = performance.now();
    const notLive = new Set<string>();
    let readyDown = 0;
    while (performance.now() - stoppedAt < 30_000) {
      for (const s of await notAnswering('/health')) if (s !== 'postgres') notLive.add(s);
      if ((await get('identity-registry', '/ready')) !== 200) readyDown += 1;
      await sleep(2_000);
    }
    await driver.start(pgInstance.id);
    const startedAt = performance.now();
    const ready = await allReady(120_000);
    const after = await restartCounts();
    const restarted = services.filter((s) => s !== 'postgres' && (after.get(s) ?? 0) !== (before.get(s) ?? 0));
    const passed = notLive.size === 0 && readyDown > 0 && ready.ms !== undefined && restarted.length === 0;
    return {
      passed,
      ...(ready.ms === undefined ? {} : { recoverMs: performance.now() - startedAt }),
      detail: `30 s without PostgreSQL: not live ${notLive.size === 0 ? 'none' : [...notLive].join(', ')}; identity-registry not ready at ${readyDown} of its probes; ${ready.ms === undefined ? `not ready after: ${ready.left.join(', ')}` : 'all ready again'}; restarted ${restarted.length === 0 ? 'none' : restarted.join(', ')}`,
    };
  } finally {
    release();
  }
}

interface HealLine {
  kind: string;
  service: string;
  at: string;
}

/** A watcher for Docker (`n3xus heal --json`, spawned), or the process fleet's supervisor log read from `since`. */
function watcher(): { lines: () => HealLine[]; stop: () => Promise<void> } {
  if (kind === 'process') {
    const log = path.join(projectDir(path.resolve(stateDir), project), 'logs', 'supervisor.log');
    if (!existsSync(log)) throw new Error(`no supervisor log at ${log}: launch the fleet with --driver process (it starts the supervisor)`);
    const from = readFileSync(log, 'utf8').length;
    return { lines: () => parseLines(readFileSync(log, 'utf8').slice(from)), stop: async () => undefined };
  }
  let out = '';
  const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), 'heal', '--json', ...driverArgs], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise((resolve) => child.once('close', resolve));
  return {
    lines: () => parseLines(out),
    stop: async () => {
      child.kill('SIGINT');
      await closed;
    },
  };
}

function parseLines(text: string): HealLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as HealLine);
}

/** Restarts of a service before one it depends on, in the watcher's restart events (none: in stage order). */
function outOfOrder(lines: readonly HealLine[]): string[] {
  const deps = new Map(dependencies(fleet).map((s) => [s.name, s.dependsOn]));
  const order = lines.filter((l) => l.kind === 'restart' || l.kind === 'recreated').map((l) => l.service);
  const wrong: string[] = [];
  order.forEach((service, i) => {
    for (const dep of deps.get(service) ?? []) {
      const depAt = order.lastIndexOf(dep);
      if (depAt > i) wrong.push(`${service} before ${dep}`);
    }
  });
  return wrong;
}

/** Stops dockerd and starts it again with the same command line; resolves once it answers. */
async function restartEngine(): Promise<void> {
  // The engine of /var/run/docker.sock: a dockerd given no -H (others, such as bench/cluster's nodes, have their own).
  const engines = spawnSync('pidof', ['dockerd'], { encoding: 'utf8' })
    .stdout.trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((pid) => ({ pid, argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) }))
    .filter((e) => !e.argv.some((a) => a === '-H' || a.startsWith('--host')));
  if (engines.length !== 1) throw new Error(`all-down restarts the engine of /var/run/docker.sock, a dockerd without -H: found ${engines.length} (pidof dockerd)`);
  const { pid, argv } = engines[0]!;
  process.kill(Number(pid), 'SIGTERM');
  for (let i = 0; i < 600 && existsSync(`/proc/${pid}`); i++) await sleep(100);
  const log = '/tmp/n3xus-faults-dockerd.log';
  writeFileSync(log, '', { flag: 'a' });
  const { openSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] }).unref();
  for (let i = 0; i < 600; i++) {
    if (spawnSync('docker', ['version'], { stdio: 'ignore' }).status === 0) return;
    await sleep(100);
  }
  throw new Error(`dockerd did not answer within 60 s of its restart (its log: ${log})`);
}

async function allDown(): Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>> {
  const watching = watcher();
  await sleep(kind === 'docker' ? 3_000 : 0); // the spawned watcher's first sweep
  const at = performance.now();
  try {
    if (kind === 'docker') await restartEngine();
    else {
      for (const i of await instances()) if (i.running && i.pid !== undefined) process.kill(-i.pid, 'SIGKILL');
    }
    const ready = await allReady(240_000);
    const recoverMs = ready.ms === undefined ? undefined : performance.now() - at;
    await sleep(1_000);
    const lines = watching.lines();
    const restarts = lines.filter((l) => l.kind === 'restart');
    const wrong = outOfOrder(lines);
    const { duplicates } = duplicatesAndStrays(await instances());
    const passed = ready.ms !== undefined && wrong.length === 0 && duplicates.length === 0;
    return {
      passed,
      ...(recoverMs === undefined ? {} : { recoverMs }),
      detail:
        `${kind === 'docker' ? 'dockerd restarted' : 'every process killed (SIGKILL to each group)'}; the watcher restarted ${restarts.length}` +
        (restarts.length === 0 ? '' : ` (first ${restarts.slice(0, 3).map((l) => l.service).join(', ')}; ${wrong.length === 0 ? 'dependencies first' : `out of order: ${wrong.slice(0, 3).join('; ')}`})`) +
        `; ${ready.ms === undefined ? `not ready: ${ready.left.join(', ')}` : 'all ready'}; duplicates ${duplicates.length}`,
    };
  } finally {
    await watching.stop();
  }
}

async function crashLoop(): Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>> {
  const victim = 'api-docs';
  const keyFile = kind === 'docker' ? fleet.secrets[`${victim}-caller-key`]!.file : path.join(projectDir(path.resolve(stateDir), project), 'secrets', victim, 'caller-key');
  const key = readFileSync(keyFile);
  const watching = watcher();
  await sleep(kind === 'docker' ? 3_000 : 0);
  let restoredAt: number | undefined;
  try {
    writeFileSync(keyFile, 'not-a-key\n');
    await crash(victim);
    const started = performance.now();
    let loop: HealLine | undefined;
    while (performance.now() - started < 120_000 && loop === undefined) {
      await sleep(1_000);
      loop = watching.lines().find((l) => l.kind === 'crash-loop' && l.service === victim);
    }
    const loopAfterMs = loop === undefined ? undefined : performance.now() - started;
    // Backing off: another 20 s, then the rest of the fleet must be up, and the victim not restarted at every sweep.
    await sleep(20_000);
    const others = (await notAnswering('/health')).filter((s) => s !== victim);
    const heals = watching.lines().filter((l) => l.kind === 'restart' && l.service === victim).length;
    const backingOff = watching.lines().some((l) => l.kind === 'backing-off' && l.service === victim);
    writeFileSync(keyFile, key);
    restoredAt = performance.now();
    let back: number | undefined;
    while (performance.now() - restoredAt < 180_000) {
      if ((await get(victim, '/ready')) === 200) {
        back = performance.now() - restoredAt;
        break;
      }
      await sleep(500);
    }
    const passed = loopAfterMs !== undefined && backingOff && others.length === 0 && back !== undefined;
    return {
      passed,
      ...(back === undefined ? {} : { recoverMs: back }),
      detail:
        `${victim} exits at start (invalid caller key): ${loopAfterMs === undefined ? 'no crash loop reported' : `crash loop reported after ${seconds(loopAfterMs)}`}, ${heals} restarts by the watcher in ${seconds(performance.now() - started - (performance.now() - restoredAt))}, ${backingOff ? 'backing off' : 'not backing off'}; others down: ${others.length === 0 ? 'none' : others.join(', ')}; ` +
        `${back === undefined ? 'not back after the key was restored' : `back ${seconds(back)} after the key was restored`}`,
    };
  } finally {
    if (restoredAt === undefined) writeFileSync(keyFile, key);
    await watching.stop();
  }
}

const SCENARIOS: Record<Scenario, () => Promise<Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>>> = {
  kill: killMidLaunch,
  interrupt: interruptLaunch,
  postgres: postgresStopped,
  'all-down': allDown,
  'crash-loop': crashLoop,
};

// ---------------------------------------------------------------- run

const initial = await allReady(60_000);
if (initial.ms === undefined) throw new Error(`the fleet is not all ready before the first fault (not ready: ${initial.left.join(', ')}): launch it first`);
await removeRecords(await leftoverRecords());
console.log(`fault injection on the ${kind} fleet of project ${project} (${services.length} services): ${only.join(', ')}`);
const rows: Row[] = [];
for (const scenario of only) {
  const ids = await writeRecords(20);
  const rowsBefore = await countRows();
  const startedAt = performance.now();
  let result: Omit<Row, 'scenario' | 'rowsBefore' | 'rowsAfter' | 'records'>;
  try {
    result = await SCENARIOS[scenario]();
  } catch (error) {
    result = { passed: false, detail: `the scenario failed to run: ${error instanceof Error ? error.message : String(error)}` };
  }
  // The engine restarted: a new client, as any command would make.
  if (scenario === 'all-down') driver = (await selectDriver({ driver: kind, stateDir, project, fleet, requireState: true })).driver;
  const settled = await allReady(120_000);
  const rowsAfter = await countRows();
  const found = await readRecords(ids);
  await removeRecords(ids);
  const row: Row = { scenario, ...result, passed: result.passed && found === ids.length && rowsAfter >= rowsBefore && settled.ms !== undefined, rowsBefore, rowsAfter, records: `${found}/${ids.length}` };
  rows.push(row);
  console.log(`${scenario}: ${row.passed ? 'passed' : 'FAILED'} in ${seconds(performance.now() - startedAt)}; ${row.detail}; rows ${rowsBefore} -> ${rowsAfter}, records read back ${row.records}`);
}

const header = ['SCENARIO', 'OUTCOME', 'RECOVERED IN', 'ROWS BEFORE', 'ROWS AFTER', 'RECORDS'];
const table = rows.map((r) => [r.scenario, r.passed ? 'passed' : 'FAILED', r.recoverMs === undefined ? '-' : seconds(r.recoverMs), String(r.rowsBefore), String(r.rowsAfter), r.records]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
console.log(`\n${kind} fleet, stages ${STAGES.join(' > ')}`);
for (const line of [header, ...table]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join('  '));
process.exitCode = rows.every((r) => r.passed) ? 0 : 1;
