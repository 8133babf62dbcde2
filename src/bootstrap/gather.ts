/**
 * The I/O half of `n3xus bootstrap`: asks the engine, the kernel's socket tables, the file system and the
 * environment for the facts that checks.ts judges. Nothing here decides anything.
 */
import { constants as fsConstants } from 'node:fs';
import dgram from 'node:dgram';
import { access, readdir, readFile, readlink, stat, statfs } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { DockerEngine, type EngineHostInfo } from '../docker/engine.ts';
import { loadCatalog, type Catalog } from '../fleet/catalog.ts';
import type { Env, Fleet } from '../fleet/model.ts';
import { imageTag } from '../fleet/service-files.ts';
import { loadFleetImages } from '../images/archive.ts';
import { BASE_IMAGE_TAGS } from '../images/bases.ts';
import { DEFAULT_PROJECT, STATE_LABELS } from '../launch/labels.ts';
import type {
  DiskFacts,
  DiskLocation,
  EngineFacts,
  FleetFacts,
  HandshakeFacts,
  ImageFact,
  ImageFacts,
  NetworkFacts,
  PortFact,
  PortFacts,
  PortHolder,
  ResourceFacts,
} from './checks.ts';
import { blocksLoopbackPort, parseProcNet, type SocketEntry } from './proc-net.ts';
import { displayPath } from '../util/display-path.ts';
import { findEmbeddedPostgres, findPostgres, findRedis } from '../drivers/process/local-servers.ts';
import { installPlan } from './packages.ts';
import { serversToInstall, type ServerFacts } from './checks.ts';

/** The bases every n3xus fleet is built on, checked whatever the compose file says. */
export const REQUIRED_BASE_IMAGES: readonly string[] = [BASE_IMAGE_TAGS.node, BASE_IMAGE_TAGS.postgres, BASE_IMAGE_TAGS.redis];

/** Label docker compose puts on its containers, so a port held by a compose fleet can be named. */
const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** The engine's answer to `/version`, and to `/info` when it answers that too. */
export async function gatherEngine(engine: DockerEngine): Promise<{ facts: EngineFacts; host?: EngineHostInfo }> {
  const endpoint = engine.endpoint.display;
  let version;
  try {
    version = await engine.ping({ timeoutMs: 5_000 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The check's fix says how to start an engine; the error's own advice would say it twice.
    return { facts: { endpoint, reachable: false, reason: message.replace(/\. Start it \(dockerd\) or set DOCKER_HOST$/, '') } };
  }
  const facts: EngineFacts = { endpoint, reachable: true, ...version };
  // The resource checks fall back to this machine's numbers when /info fails; that is no reason to fail here.
  const host = await engine.info().catch(() => undefined);
  return host === undefined ? { facts } : { facts, host };
}

/** True when the engine runs on this machine, so its disk and free memory can be measured from here. */
export function engineIsLocal(engine: DockerEngine): boolean {
  const endpoint = engine.endpoint;
  return endpoint.kind === 'socket' || ['127.0.0.1', 'localhost', '::1'].includes(endpoint.host);
}

/**
 * The fleet from the compose file, its variables resolved as launch resolves them (the env file, by default
 * airgap.env beside the compose file, under the environment), or the error saying why it is not one.
 */
export async function gatherFleet(file: string | undefined, envFile: string | undefined, env: Env): Promise<FleetFacts> {
  try {
    const loaded = await loadFleetImages({ env, ...(file === undefined ? {} : { file }), ...(envFile === undefined ? {} : { envFile }) });
    return { fleet: loaded.fleet, ...(loaded.envFile === undefined ? {} : { envFile: displayPath(loaded.envFile) }) };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    return { file: file ?? 'the default compose file', error: err as Error & { suggestions?: readonly string[] } };
  }
}

/** The project launch would use: `--project`, else the compose file's name, else {@link DEFAULT_PROJECT}. */
export function resolveProject(flag: string | undefined, fleet: Fleet | undefined): string {
  return flag || fleet?.project || DEFAULT_PROJECT;
}

/** CPU and memory: the engine's, else (no engine) this machine's; available memory only for a local engine. */
export function gatherResources(containers: number, host: EngineHostInfo | undefined, local: boolean): ResourceFacts {
  const fromEngine = host !== undefined && host.cpus > 0 && host.memTotalBytes > 0;
  return {
    containers,
    cpus: fromEngine ? host.cpus : os.availableParallelism(),
    memTotalBytes: fromEngine ? host.memTotalBytes : os.totalmem(),
    // libuv reads MemAvailable on Linux: what can be had without swapping, page cache included.
    ...(local || !fromEngine ? { memAvailableBytes: os.freemem() } : {}),
    source: fromEngine ? 'engine' : 'host',
  };
}

/** The directory itself, or its nearest existing parent: where it would be created, on the same file system. */
async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

async function measure(role: DiskLocation['role'], dir: string): Promise<DiskLocation> {
  try {
    const existing = await nearestExisting(dir);
    const [fs, st] = await Promise.all([statfs(existing), stat(existing)]);
    return { role, path: dir, freeBytes: fs.bavail * fs.bsize, device: st.dev };
  } catch (error) {
    return { role, path: dir, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}

/**
 * Free space where Docker keeps its data (the engine's DockerRootDir, else /var/lib/docker) and in the project
 * directory. A remote engine's data root is on another machine and is not measured.
 */
export async function gatherDisk(dockerRootDir: string | undefined, projectDir: string, local: boolean): Promise<DiskFacts> {
  const root = dockerRootDir ?? '/var/lib/docker';
  const docker: DiskLocation = local ? await measure('docker', root) : { role: 'docker', path: root, reason: 'the engine runs on another machine' };
  return { locations: [docker, await measure('project', projectDir)] };
}

/** The kernel's socket tables, or undefined where there are none to read (not Linux). */
async function readSocketTables(): Promise<SocketEntry[] | undefined> {
  const tables = [
    ['tcp', 4, 'tcp'],
    ['tcp6', 6, 'tcp'],
    ['udp', 4, 'udp'],
    ['udp6', 6, 'udp'],
  ] as const;
  const entries: SocketEntry[] = [];
  for (const [name, family, protocol] of tables) {
    let text: string;
    try {
      text = await readFile(`/proc/net/${name}`, 'utf8');
    } catch {
      // Without the IPv4 TCP table there is no /proc/net at all; a kernel without IPv6 lacks only the *6 tables.
      if (name === 'tcp') return undefined;
      continue;
    }
    entries.push(...parseProcNet(text, family, protocol));
  }
  return entries;
}

/** The process holding each socket inode, found through `/proc/<pid>/fd`; processes this user cannot read are skipped. */
async function socketOwners(inodes: ReadonlySet<string>): Promise<Map<string, { pid: number; command: string }>> {
  const owners = new Map<string, { pid: number; command: string }>();
  if (inodes.size === 0) return owners;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode === undefined || !inodes.has(inode) || owners.has(inode)) continue;
      const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
      owners.set(inode, { pid: Number(pid), command });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/** Where there are no socket tables: try to bind the port on 127.0.0.1 and let go of it at once. */
async function bindProbe(port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Running containers by the host ports they publish (`3001/tcp`), with their projects. */
async function publishedByContainers(engine: DockerEngine): Promise<Map<string, PortHolder>> {
  const byPort = new Map<string, PortHolder>();
  // No label filter: a port may be held by any container on the engine, ours or not.
  for (const container of await engine.container.list({ labels: {} })) {
    if (!container.running) continue;
    const n3xusProject = container.labels[STATE_LABELS.project];
    const composeProject = container.labels[COMPOSE_PROJECT_LABEL];
    const holder: PortHolder = {
      kind: 'container',
      name: container.name,
      ...(n3xusProject === undefined ? {} : { n3xusProject }),
      ...(composeProject === undefined ? {} : { composeProject }),
    };
    for (const [key, hostPort] of Object.entries(container.ports)) byPort.set(`${hostPort}/${key.split('/')[1] ?? 'tcp'}`, holder);
  }
  return byPort;
}

/**
 * What holds each port the fleet publishes: a container publishing it (asked of the engine, when it answers: with
 * the userland proxy off, only the engine knows), else a socket in the kernel's tables and the process owning it.
 * Nothing is bound, so the check cannot get in the way of a fleet starting at the same time; only where there are
 * no socket tables is each port briefly bound to test it.
 */
export async function gatherPorts(fleet: Fleet, project: string, engine: DockerEngine | undefined): Promise<PortFacts> {
  const wanted = fleet.services.flatMap((service) => service.ports.map((p) => ({ port: p.hostPort, protocol: p.protocol, service: service.name })));
  const sockets = await readSocketTables();
  // Containers are listed after the sockets are read: the engine starts a container's docker-proxy before it calls
  // the container running, so a proxy seen in the tables usually has a running container by the time of the list.
  const containers = engine === undefined ? new Map<string, PortHolder>() : await publishedByContainers(engine);
  const blocking = new Map<string, SocketEntry>();
  if (sockets !== undefined) {
    for (const want of wanted) {
      if (want.protocol === 'sctp') continue;
      const entry = sockets.find((s) => blocksLoopbackPort(s, want.port, want.protocol as 'tcp' | 'udp'));
      if (entry) blocking.set(`${want.port}/${want.protocol}`, entry);
    }
  }
  const owners = await socketOwners(new Set([...blocking.values()].map((s) => s.inode).filter((i) => i !== '0')));
  const ports: PortFact[] = [];
  for (const want of wanted) {
    const key = `${want.port}/${want.protocol}`;
    let holder: PortHolder | undefined = containers.get(key);
    if (holder === undefined && want.protocol !== 'sctp') {
      if (sockets === undefined) {
        if (!(await bindProbe(want.port, want.protocol))) holder = { kind: 'unknown' };
      } else {
        const entry = blocking.get(key);
        const owner = entry === undefined ? undefined : owners.get(entry.inode);
        if (entry !== undefined) {
          if (owner === undefined) holder = { kind: 'unknown' };
          else if (owner.command === 'docker-proxy') holder = { kind: 'docker-proxy', pid: owner.pid };
          else holder = { kind: 'process', ...owner };
        }
      }
    }
    ports.push({ ...want, ...(holder === undefined ? {} : { holder }) });
  }
  return { project, ports };
}

const HANDSHAKE_VARIABLE = 'N3XUS_HANDSHAKE';

/** The environment's handshake, and every N3XUS_HANDSHAKE the fleet's services carry (already interpolated). */
export function gatherHandshake(fleet: Fleet, env: Env, law: string): HandshakeFacts {
  const carriers: HandshakeFacts['carriers'] = [];
  for (const service of fleet.services) {
    const inEnvironment = service.environment[HANDSHAKE_VARIABLE];
    if (inEnvironment !== undefined) carriers.push({ service: service.name, where: 'environment', value: inEnvironment });
    const inBuild = service.build?.args[HANDSHAKE_VARIABLE];
    if (inBuild !== undefined) carriers.push({ service: service.name, where: 'build arg', value: inBuild });
  }
  return { envValue: env[HANDSHAKE_VARIABLE], law, carriers };
}

/** An executable's presence on PATH, or in the sbin directories a non-root PATH often leaves out. */
async function hasExecutable(name: string, env: Env): Promise<boolean> {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    try {
      await access(path.join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // Not here; try the next directory.
    }
  }
  return false;
}

function catalogOrUndefined(): Catalog | undefined {
  try {
    return loadCatalog();
  } catch {
    // A compose file can be launched without this repository's catalog; then no service image is "ours".
    return undefined;
  }
}

/**
 * Every image the fleet runs, and the bases (`requiredBases`) it is built on: whether each is present, whether the
 * compose file builds it, and whether it is one of our catalog's images; and the host tools building bases takes.
 */
export async function gatherImages(engine: DockerEngine, fleet: Fleet, requiredBases: readonly string[], env: Env): Promise<ImageFacts> {
  const catalog = catalogOrUndefined();
  const byTag = new Map<string, Omit<ImageFact, 'present'>>();
  for (const tag of requiredBases) byTag.set(tag, { tag, services: [], build: false, ours: false });
  for (const service of fleet.services) {
    const known = byTag.get(service.image) ?? { tag: service.image, services: [], build: false, ours: false };
    const ours = catalog !== undefined && catalog.services.some((s) => s.name === service.name) && imageTag(catalog, service.name) === service.image;
    byTag.set(service.image, { ...known, services: [...known.services, service.name], build: known.build || service.build !== undefined, ours: known.ours || ours });
  }
  // A few inspections at a time: a hundred at once would only queue up in the engine.
  const limit = pLimit(8);
  const images = await Promise.all([...byTag.values()].map((image) => limit(async (): Promise<ImageFact> => ({ ...image, present: await engine.image.exists(image.tag) }))));
  const [debootstrap, tar, debianBasePresent] = await Promise.all([hasExecutable('debootstrap', env), hasExecutable('tar', env), engine.image.exists(BASE_IMAGE_TAGS.debian)]);
  return { images, tools: { debootstrap, tar, root: process.getuid?.() === 0, debianBasePresent } };
}

/**
 * The engine names of the networks the fleet's services attach to: a network's `name`, else compose's
 * `<project>_<key>`; `<project>_default` when a service names none.
 */
export function neededNetworks(fleet: Fleet, project: string): NetworkFacts['needed'] {
  const used = new Set(fleet.services.flatMap((s) => (s.networks.length === 0 ? ['default'] : s.networks)));
  return [...used].map((key) => {
    const declared = fleet.networks[key];
    return { key, name: declared?.name ?? `${project}_${key}`, external: declared?.external ?? false, internal: declared?.internal ?? false };
  });
}

/** The networks the fleet needs and those the engine has. */
export async function gatherNetworks(engine: DockerEngine, fleet: Fleet, project: string): Promise<NetworkFacts> {
  const present = await engine.network.list({ labels: {} });
  return { project, needed: neededNetworks(fleet, project), present: present.map((n) => ({ name: n.name, labels: n.labels, driver: n.driver, scope: n.scope, internal: n.internal })) };
}

/** Whether `name` is an executable file in a directory of `PATH`. */
async function onPath(name: string, env: Env): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      await access(path.join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The servers the process driver would run (see checkServers), and how to install the missing ones on this host. */
export async function gatherServers(env: Env): Promise<ServerFacts> {
  const processEnv = env as NodeJS.ProcessEnv;
  const postgres = findPostgres(processEnv);
  const redis = findRedis(processEnv);
  const facts: Omit<ServerFacts, 'plan'> = {
    ...(postgres === undefined ? {} : { postgres }),
    embeddedPostgres: findEmbeddedPostgres() !== undefined,
    ...(redis === undefined ? {} : { redis }),
    ...(env.N3XUS_POSTGRES === 'embedded' ? { postgresMode: 'embedded' as const } : {}),
    ...(env.N3XUS_REDIS === 'none' ? { redisMode: 'none' as const } : {}),
  };
  const missing = serversToInstall(facts);
  if (missing.length === 0) return facts;
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => undefined);
  const uid = process.getuid?.();
  const plan = installPlan(missing, {
    platform: process.platform,
    ...(osRelease === undefined ? {} : { osRelease }),
    ...(uid === undefined ? {} : { uid }),
    sudo: await onPath('sudo', env),
    tty: process.stdin.isTTY === true,
  });
  return { ...facts, plan };
}
