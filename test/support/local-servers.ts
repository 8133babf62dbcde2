import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A database server started for the test run. */
export interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function findBinary(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** uid and gid of the `postgres` system user. */
function postgresUser(): { uid?: number; gid?: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  return { uid, gid };
}

/** Signals a child and waits for it to exit, killing it after 5 s. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** How a test PostgreSQL authenticates: trust (the default), or SCRAM-SHA-256 with this superuser password. */
export interface LocalPostgresOptions {
  scramPassword?: string;
}

/**
 * initdb into a temporary directory and a postgres listening on a free loopback port, trust auth unless
 * `scramPassword` asks for SCRAM-SHA-256. Runs as the `postgres` user when started by root (PostgreSQL refuses to
 * run as root).
 */
export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalServer> {
  const pgDirs = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];
  const initdb = findBinary('initdb', pgDirs);
  const postgres = findBinary('postgres', pgDirs);
  if (!initdb || !postgres) throw new Error('no PostgreSQL server installed (apt-get install postgresql, or set N3XUS_TEST_DATABASE_URL)');
  const dir = mkdtempSync(join(tmpdir(), 'n3xus-pg-'));
  // PostgreSQL refuses to run as root: run it as the postgres user, directly (no wrapper that would swallow signals).
  const owner = process.getuid?.() === 0 ? postgresUser() : {};
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const auth = ['-A', 'trust'];
  if (options.scramPassword !== undefined) {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${options.scramPassword}\n`, { mode: 0o600 });
    if (owner.uid !== undefined) chownSync(pwfile, owner.uid, owner.gid!);
    auth.splice(0, 2, '-A', 'scram-sha-256', `--pwfile=${pwfile}`);
  }
  const init = spawnSync(initdb, ['-D', join(dir, 'data'), '-U', 'postgres', ...auth, '--no-sync', '-E', 'UTF8'], { encoding: 'utf8', ...owner });
  if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr ?? String(init.error)).slice(-500)}`);
  const port = await freePort();
  const args = ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=300', '-c', 'shared_buffers=32MB'];
  const child: ChildProcess = spawn(postgres, args, { stdio: 'ignore', ...owner });
  const password = options.scramPassword === undefined ? '' : `:${encodeURIComponent(options.scramPassword)}`;
  const url = `postgres://postgres${password}@127.0.0.1:${port}/postgres`;
  const isReady = findBinary('pg_isready', pgDirs);
  await waitFor(() => (isReady ? spawnSync(isReady, ['-h', '127.0.0.1', '-p', String(port)]).status === 0 : existsSync(join(dir, 'data', 'postmaster.pid'))), 20_000, 'PostgreSQL');
  return {
    url,
    async stop() {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where a test Redis listens (default 127.0.0.1) and what it is started with besides (`--aclfile …`, later wins). */
export interface LocalRedisOptions {
  bind?: string;
  args?: string[];
}

/** redis-server on a free port, without persistence. */
export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalServer> {
  const bin = findBinary('redis-server', []);
  if (!bin) throw new Error('no redis-server installed (apt-get install redis-server, or set N3XUS_TEST_REDIS_URL)');
  const port = await freePort();
  const host = options.bind ?? '127.0.0.1';
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...(options.args ?? [])];
  const child = spawn(bin, args, { stdio: 'ignore' });
  const cli = findBinary('redis-cli', []);
  // Any reply says it serves: PONG, or NOAUTH from a server whose default user is off (connection errors go to stderr).
  await waitFor(() => (cli ? spawnSync(cli, ['-h', host, '-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== '' : true), 10_000, 'Redis');
  return {
    url: `redis://${host}:${port}`,
    async stop() {
      await stopChild(child, 'SIGTERM');
    },
  };
}
