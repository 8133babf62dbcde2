/**
 * The fleet as processes on this machine, for when there is no Docker engine: each service runs its bundle from
 * dist/fleet with this Node, PostgreSQL and Redis run as local servers, each in a process group of its own with
 * its output in `<state dir>/<project>/logs/<service>.log`. The state (PIDs, ports, labels) is a file, so a later
 * invocation finds the fleet again; the orchestration is launch.ts's, unchanged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fleet, FleetService } from '../../fleet/model.ts';
import { NODE_FLAGS } from '../../fleet/service-files.ts';
import { isSameProcess, processStartTicks, startDetached, stopGroup } from '../../process/detached.ts';
import { logLimit, rotateLog } from '../../process/log-rotation.ts';
import { CodedError } from '../../util/coded-error.ts';
import { projectRoot } from '../../util/project-root.ts';
import { probeKind, type DesiredInstance, type DesiredResources } from '../../launch/desired.ts';
import { streamProcessLogs, tailFile } from '../../logs/process-logs.ts';
import type { DriverLogOptions, FleetDriver, Instance } from '../driver.ts';
import { STATE_LABELS } from '../../launch/labels.ts';
import { localEnvironment, localSecretPaths, localSecretValue, publishedAddresses } from './local-env.ts';
import {
  binaryId,
  embeddedPostgresArgv,
  findEmbeddedPostgres,
  findPostgres,
  findRedis,
  initPostgres,
  LocalServerMissingError,
  postgresArgv,
  redisArgv,
  rootDataDir,
  serverDataRoot,
  type EmbeddedPostgres,
  type PostgresInstall,
} from './local-servers.ts';
import { projectDir, readState, recordInstance, withStateLock, writeState, type Liveness, type ProcessRecord, type ProjectState } from './process-state.ts';

/** A service the process driver cannot run: its bundle is not built, or it is an infra image it does not know. */
export class ProcessDriverError extends CodedError {
  override readonly name = 'ProcessDriverError';
}

/** No instance with this ID in the state (removed meanwhile, or another state directory). */
export class InstanceNotFoundError extends Error {
  override readonly name = 'InstanceNotFoundError';
  readonly code = 'NOT_LAUNCHED';

  constructor(id: string, stateDir: string) {
    super(`No process instance ${id} in the state under ${stateDir}.`);
  }
}

/** How one service runs as a process. */
type Runnable =
  | { kind: 'bundle'; imageId: string; start: string; dir: string }
  | { kind: 'postgres'; imageId: string; install: PostgresInstall }
  | { kind: 'embedded-postgres'; imageId: string; embedded: EmbeddedPostgres }
  | { kind: 'redis'; imageId: string; binary: string }
  | { kind: 'absent'; imageId: string; reason: string }
  | { kind: 'forward'; imageId: string; url: URL };

export interface ProcessDriverOptions {
  /** Where state, logs and data live, one directory per project; default `.n3xus` (see DEFAULT_STATE_DIR). */
  stateDir: string;
  /** The fleet, needed to create instances (their environment names the other services' ports). */
  fleet?: Fleet;
  /** The environment to find PostgreSQL and Redis in, and whose PATH the services get; default this process's. */
  env?: NodeJS.ProcessEnv;
}

/** The forwarder the driver runs for a server given by URL: this module's sibling, .ts from source, .js built. */
const FORWARDER = fileURLToPath(new URL(`../../process/tcp-forward${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** What launch says when the fleet's PostgreSQL is the embedded one. */
export const EMBEDDED_POSTGRES_NOTICE =
  'PostgreSQL is the embedded PGlite (no postgres installed): one WebAssembly session shared by all services, slower than a real server; install PostgreSQL (apt-get install postgresql) or give one with N3XUS_POSTGRES_URL for more.';

/** A server URL from the environment, checked. */
function serverUrl(value: string, variable: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProcessDriverError(`${variable}=${JSON.stringify(value)} is not a URL.`, 'INVALID_ARGUMENT', [`Give it as ${variable === 'N3XUS_REDIS_URL' ? 'redis://host:6379' : 'postgres://user:password@host:5432/database'}.`]);
  }
  if (url.hostname === '') throw new ProcessDriverError(`${variable}=${JSON.stringify(value)} names no host.`, 'INVALID_ARGUMENT', [`Give it as ${variable === 'N3XUS_REDIS_URL' ? 'redis://host:6379' : 'postgres://user:password@host:5432/database'}.`]);
  return url;
}

/** The line the driver writes to a log file before each start. */
export const START_MARK = '-- n3xus: start';

/** Lines read back to find the last start of an instance. */
const LOG_TAIL_SCAN = 2_000;

export class ProcessDriver implements FleetDriver {
  readonly kind = 'process' as const;
  /** A process writes its log file itself: the driver has no time of its own for each line. */
  readonly logTimestamps = false;
  readonly stateDir: string;
  readonly #fleet: Fleet | undefined;
  readonly #env: NodeJS.ProcessEnv;
  readonly #runnables = new Map<string, Runnable>();
  /** SHA-256 of each bundle file read so far: the kit (2 MB) and start.mjs are shared by every service. */
  readonly #digests = new Map<string, Buffer>();
  readonly #notices = new Set<string>();
  /** State changes are made one at a time: read, change, write. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ProcessDriverOptions) {
    this.stateDir = path.resolve(options.stateDir);
    this.#fleet = options.fleet;
    this.#env = options.env ?? process.env;
  }

  /** Whether this state directory holds any instance of `project`. */
  hasInstances(project: string): boolean {
    return readState(this.stateDir, project).records.length > 0;
  }

  /** The log file of a service's processes. */
  logFile(project: string, service: string): string {
    return path.join(projectDir(this.stateDir, project), 'logs', `${service}.log`);
  }

  #exitFile(project: string, id: string): string {
    return path.join(projectDir(this.stateDir, project), 'run', `${id}.exit`);
  }

  #tag(id: string): string {
    return `n3xus:${id}`;
  }

  #projectOf(id: string): string {
    const project = id.split('.')[0];
    if (project === undefined || project === '') throw new InstanceNotFoundError(id, this.stateDir);
    return project;
  }

  #mutate<T>(project: string, change: (state: ProjectState) => T | Promise<T>): Promise<T> {
    const next = this.#queue.then(() =>
      withStateLock(this.stateDir, project, async () => {
        const state = readState(this.stateDir, project);
        const result = await change(state);
        writeState(this.stateDir, state);
        return result;
      }),
    );
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #record(id: string): ProcessRecord {
    const record = readState(this.stateDir, this.#projectOf(id)).records.find((r) => r.id === id);
    if (record === undefined) throw new InstanceNotFoundError(id, this.stateDir);
    return record;
  }

  #liveness(project: string, record: ProcessRecord): Liveness {
    if (record.pid === undefined) return { running: false };
    if (isSameProcess(record.pid, record.startTicks ?? 0, this.#tag(record.id))) return { running: true };
    let exitCode: number | undefined;
    try {
      const text = readFileSync(this.#exitFile(project, record.id), 'utf8').trim();
      if (/^-?\d+$/.test(text)) exitCode = Number(text);
    } catch {
      exitCode = undefined;
    }
    const stale = exitCode === undefined && processStartTicks(record.pid) !== undefined;
    return { running: false, ...(exitCode === undefined ? {} : { exitCode }), ...(stale ? { stale } : {}) };
  }

  async observe(project: string): Promise<Instance[]> {
    const state = readState(this.stateDir, project);
    return state.records.map((r) => recordInstance(r, this.#liveness(project, r)));
  }

  #service(image: string): FleetService {
    const service = this.#fleet?.services.find((s) => s.image === image);
    if (service === undefined) throw new ProcessDriverError(`No service of the fleet runs ${image}.`, 'INVALID_ARGUMENT', []);
    return service;
  }

  #digest(file: string): Buffer {
    let digest = this.#digests.get(file);
    if (digest === undefined) {
      digest = createHash('sha256').update(readFileSync(file)).digest();
      this.#digests.set(file, digest);
    }
    return digest;
  }

  /** How `service` runs here, or an error naming what is missing. */
  #runnable(service: FleetService): Runnable {
    const cached = this.#runnables.get(service.name);
    if (cached) return cached;
    let runnable: Runnable;
    if (service.stage === 'infra') {
      const kind = probeKind(service);
      const given = kind === 'postgres' ? this.#env.N3XUS_POSTGRES_URL : kind === 'redis' ? this.#env.N3XUS_REDIS_URL : undefined;
      if (given !== undefined && given !== '') {
        runnable = { kind: 'forward', url: serverUrl(given, kind === 'postgres' ? 'N3XUS_POSTGRES_URL' : 'N3XUS_REDIS_URL'), imageId: `url:${createHash('sha256').update(given).digest('hex')}` };
      } else if (kind === 'postgres') {
        const install = this.#env.N3XUS_POSTGRES === 'embedded' ? undefined : findPostgres(this.#env);
        const embedded = install === undefined ? findEmbeddedPostgres() : undefined;
        if (install !== undefined) runnable = { kind: 'postgres', install, imageId: binaryId(path.join(install.binDir, 'postgres')) };
        else if (embedded !== undefined) {
          runnable = { kind: 'embedded-postgres', embedded, imageId: binaryId(embedded.manifest) };
          this.#notices.add(EMBEDDED_POSTGRES_NOTICE);
        }
        else throw new LocalServerMissingError('postgres', service.name);
      } else if (kind === 'redis') {
        const binary = this.#env.N3XUS_REDIS === 'none' ? undefined : findRedis(this.#env);
        runnable =
          binary === undefined
            ? {
                kind: 'absent',
                imageId: 'absent:redis-server',
                reason: `redis-server is not installed, so the fleet runs without Redis: its services work, degraded (no shared cache or rate limits), and verify reports ${service.name} as unavailable`,
              }
            : { kind: 'redis', binary, imageId: binaryId(binary) };
      } else {
        throw new ProcessDriverError(
          `Service "${service.name}" (image ${service.image}) is an infra service the process driver cannot run: it runs PostgreSQL (pg_isready healthcheck) and Redis (redis-cli healthcheck) only.`,
          'INVALID_ARGUMENT',
          ['Launch this fleet on Docker: n3xus launch --driver docker'],
        );
      }
    } else {
      const dir = service.build?.context ?? path.join(projectRoot(), 'dist', 'fleet');
      const name = service.environment.N3XUS_SERVICE ?? service.name;
      const main = path.join(dir, 'services', name, 'main.mjs');
      const start = path.join(dir, 'runtime', 'bin', 'start.mjs');
      const kit = path.join(dir, 'runtime', 'node_modules', '@n3xus', 'kit', 'index.mjs');
      const missing = [main, start, kit].find((f) => !existsSync(f));
      if (missing !== undefined) {
        throw new ProcessDriverError(`The bundle of service "${service.name}" is not built: ${missing} is missing. Nothing was started.`, 'IMAGE_MISSING', [
          'Build the bundles: npm run build (it writes dist/fleet).',
        ]);
      }
      // The "image" of a bundled service: its own bundle, the start script and the kit. Each file is hashed once per
      // command, not once per service (98 reads of the kit took 1.3 s of a no-op launch).
      const hash = createHash('sha256');
      for (const f of [main, start, kit]) hash.update(this.#digest(f));
      runnable = { kind: 'bundle', imageId: `sha256:${hash.digest('hex')}`, start, dir };
    }
    this.#runnables.set(service.name, runnable);
    return runnable;
  }

  /** The servers the user gave by URL (N3XUS_POSTGRES_URL, N3XUS_REDIS_URL), by the fleet service they replace. */
  #givenUrls(): Map<string, string> {
    const urls = new Map<string, string>();
    for (const s of this.#fleet?.services ?? []) {
      if (s.stage !== 'infra') continue;
      const kind = probeKind(s);
      const given = kind === 'postgres' ? this.#env.N3XUS_POSTGRES_URL : kind === 'redis' ? this.#env.N3XUS_REDIS_URL : undefined;
      if (given !== undefined && given !== '') urls.set(s.name, given);
    }
    return urls;
  }

  managesServer(service: FleetService): boolean {
    return this.#runnable(service).kind === 'postgres';
  }

  notices(): string[] {
    return [...this.#notices];
  }

  async resolveImages(images: readonly string[]): Promise<Map<string, string | undefined>> {
    const result = new Map<string, string | undefined>();
    for (const image of new Set(images)) result.set(image, this.#runnable(this.#service(image)).imageId);
    return result;
  }

  async prepare(_resources: DesiredResources): Promise<void> {
    // Processes share the loopback interface: no network to create. Volumes are directories made on first use.
  }

  async create(want: DesiredInstance): Promise<string> {
    if (this.#fleet === undefined) throw new TypeError('The process driver needs the fleet to create instances');
    const project = want.project;
    const service = want.service;
    const runnable = this.#runnable(service);
    const dir = projectDir(this.stateDir, project);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    mkdirSync(path.join(dir, 'run'), { recursive: true });
    const port = service.ports.find((p) => p.protocol === 'tcp')?.hostPort ?? 0;
    const secrets = this.#writeSecrets(dir, want);
    const secretValues = new Map(want.secrets.map((s) => [s.target, s.value]));
    const base = { PATH: this.#env.PATH ?? '/usr/bin:/bin', ...(this.#env.TZ === undefined ? {} : { TZ: this.#env.TZ }), LANG: 'C.UTF-8' };
    let argv: string[];
    let env: Record<string, string>;
    if (runnable.kind === 'postgres') {
      const dataDir = path.join(serverDataRoot(dir), service.name);
      await initPostgres(runnable.install, dataDir, service, secretValues);
      argv = postgresArgv(runnable.install, dataDir, service, port);
      env = base;
    } else if (runnable.kind === 'embedded-postgres') {
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      argv = embeddedPostgresArgv(runnable.embedded, path.join(dir, 'data', `${service.name}-embedded`), port);
      env = base;
    } else if (runnable.kind === 'redis') {
      argv = redisArgv(runnable.binary, service, port, secrets);
      env = base;
    } else if (runnable.kind === 'forward') {
      argv = [process.execPath, FORWARDER, String(port), runnable.url.hostname, runnable.url.port || (runnable.url.protocol.startsWith('redis') ? '6379' : '5432')];
      env = base;
    } else if (runnable.kind === 'absent') {
      argv = [];
      env = {};
    } else {
      // A compose command that runs node (the image's CMD does) runs this Node; any other needs the image.
      const command = service.command;
      if (command !== undefined && command[0] !== 'node') {
        throw new ProcessDriverError(`Service "${service.name}" has a command (${command.join(' ')}) that does not run node; the process driver runs only node commands and the service bundles.`, 'INVALID_ARGUMENT', [
          'Drop the command from the fleet file, or launch on Docker: n3xus launch --driver docker',
        ]);
      }
      argv = command === undefined ? [process.execPath, ...NODE_FLAGS, runnable.start] : [process.execPath, ...command.slice(1)];
      env = { ...base, ...localSecretPaths(localEnvironment(service, publishedAddresses(this.#fleet), this.#givenUrls()), secrets) };
    }
    const id = `${project}.${service.name}.${randomBytes(6).toString('hex')}`;
    const limit = logLimit(service.logging?.options);
    const record: ProcessRecord = {
      id,
      name: want.name,
      service: service.name,
      image: service.image,
      imageId: runnable.imageId,
      labels: { ...want.labels, [STATE_LABELS.imageId]: runnable.imageId, [STATE_LABELS.driver]: 'process' },
      argv,
      env,
      cwd: runnable.kind === 'bundle' ? runnable.dir : dir,
      ports: Object.fromEntries(service.ports.map((p) => [`${p.containerPort}/${p.protocol}`, p.hostPort])),
      stopSignal: runnable.kind === 'postgres' ? 'SIGINT' : 'SIGTERM',
      ...(runnable.kind === 'absent' ? { absent: runnable.reason } : {}),
      ...(limit === undefined ? {} : { logLimit: limit }),
      createdAt: new Date().toISOString(),
      restartCount: 0,
    };
    await this.#mutate(project, (state) => {
      state.records.push(record);
    });
    return id;
  }

  /**
   * Writes the instance's secrets where its process reads them, as compose mounts them under /run/secrets: one
   * owner-only file each in `<project dir>/secrets/<service>/`, URLs rewritten as its environment is. Returns
   * target → file.
   */
  #writeSecrets(dir: string, want: DesiredInstance): Map<string, string> {
    const files = new Map<string, string>();
    const secrets = want.secrets.filter((s) => s.key === undefined);
    if (secrets.length === 0 || this.#fleet === undefined) return files;
    const own = path.join(dir, 'secrets', want.service.name);
    mkdirSync(own, { recursive: true, mode: 0o700 });
    const addresses = publishedAddresses(this.#fleet);
    const given = this.#givenUrls();
    for (const secret of secrets) {
      const file = path.join(own, secret.target);
      writeFileSync(file, localSecretValue(secret.value, addresses, given), { mode: 0o600 });
      chmodSync(file, 0o600);
      files.set(secret.target, file);
    }
    return files;
  }

  async start(id: string): Promise<void> {
    const project = this.#projectOf(id);
    await this.#mutate(project, async (state) => {
      const record = state.records.find((r) => r.id === id);
      if (record === undefined) throw new InstanceNotFoundError(id, this.stateDir);
      if (this.#liveness(project, record).running) return;
      if (record.absent !== undefined) {
        // Nothing to run: the fleet does without it, and the instance says why (see recordInstance).
        record.startedAt = new Date().toISOString();
        return;
      }
      const exitFile = this.#exitFile(project, id);
      rmSync(exitFile, { force: true });
      if (record.logLimit !== undefined) rotateLog(this.logFile(project, record.service), record.logLimit);
      appendFileSync(this.logFile(project, record.service), `${START_MARK} ${id} at ${new Date().toISOString()}\n`);
      const started = await startDetached({ argv: record.argv, env: record.env, cwd: record.cwd, logFile: this.logFile(project, record.service), exitFile, tag: this.#tag(id) });
      if (record.pid !== undefined) record.restartCount += 1;
      record.pid = started.pid;
      record.startTicks = started.startTicks;
      record.startedAt = new Date().toISOString();
      delete record.killedExitCode;
    });
  }

  async stop(id: string, options: { timeoutS?: number } = {}): Promise<void> {
    const project = this.#projectOf(id);
    let record: ProcessRecord;
    try {
      record = this.#record(id);
    } catch {
      return;
    }
    // Only the process this driver started is signalled: a PID that now names another process is left alone.
    if (record.pid === undefined || !this.#liveness(project, record).running) return;
    const { killed } = await stopGroup(record.pid, record.stopSignal, (options.timeoutS ?? 10) * 1000);
    if (killed && !existsSync(this.#exitFile(project, id))) {
      await this.#mutate(project, (state) => {
        const r = state.records.find((x) => x.id === id);
        if (r) r.killedExitCode = 137;
      });
    }
  }

  async remove(id: string): Promise<void> {
    const project = this.#projectOf(id);
    await this.stop(id, { timeoutS: 10 });
    await this.#mutate(project, (state) => {
      state.records = state.records.filter((r) => r.id !== id);
    });
    rmSync(this.#exitFile(project, id), { force: true });
  }

  async inspect(id: string): Promise<Instance> {
    const record = this.#record(id);
    return recordInstance(record, this.#liveness(this.#projectOf(id), record));
  }

  async logs(id: string, tailLines: number): Promise<string[]> {
    const record = this.#record(id);
    // What this instance printed since its last start: the file also holds earlier runs.
    const lines = tailFile(this.logFile(this.#projectOf(id), record.service), LOG_TAIL_SCAN);
    const mark = lines.findLastIndex((l) => l.startsWith(`${START_MARK} ${id} `));
    return lines.slice(mark + 1).slice(-tailLines);
  }

  async streamLogs(id: string, options: DriverLogOptions): Promise<{ interrupted: boolean }> {
    const record = this.#record(id);
    // One file holds both streams, as the process wrote them: it is handed on as stdout.
    const { interrupted } = await streamProcessLogs(this.logFile(this.#projectOf(id), record.service), {
      follow: options.follow,
      ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      isRunning: async () => (await this.inspect(id).catch(() => undefined))?.running ?? false,
      onOutput: (payload) => options.onOutput('stdout', payload),
    });
    return { interrupted };
  }

  async removeResources(project: string, options: { volumes: boolean }): Promise<{ networks: string[]; volumes: string[] }> {
    const dir = projectDir(this.stateDir, project);
    // The data under the state directory, and where root's PostgreSQL kept it when UID 65534 could not reach that.
    const data = [path.join(dir, 'data'), rootDataDir(dir)].filter((d) => existsSync(d));
    if (!options.volumes) return { networks: [], volumes: [] };
    for (const d of data) rmSync(d, { recursive: true, force: true });
    return { networks: [], volumes: data };
  }
}
