/**
 * The checks of `n3xus bootstrap`, pure: each function turns facts gathered elsewhere (see gather.ts) into a
 * {@link CheckResult}, and for what `--fix` can repair, a {@link Repair} saying what to do. Nothing here touches
 * Docker, the network or the file system, so every verdict is unit-tested with hand-written facts.
 */
import type { Fleet } from '../fleet/model.ts';
import { BASE_IMAGE_TAGS } from '../images/bases.ts';
import type { InstallPlan, ServerKind } from './packages.ts';

/** `fixed`: the check failed or warned, `--fix` repaired it, and the re-check passed. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'fixed';

export type CheckId = 'engine' | 'compose-file' | 'cpu' | 'memory' | 'disk' | 'ports' | 'handshake' | 'secrets' | 'servers' | 'base-images' | 'service-images' | 'swarm' | 'networks';

/** One line of the checklist; also one entry of `--json`'s `checks`. */
export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** What was found; may span lines. */
  detail: string;
  /** How to fix a failure or act on a warning. */
  fix?: string;
}

/** What `--fix` can do about a check. */
export type Repair =
  | { kind: 'create-networks'; networks: Array<{ name: string; internal: boolean }>; overlay: boolean }
  | { kind: 'swarm-init'; advertiseAddr: string }
  | { kind: 'build-base-images'; tags: string[] }
  | { kind: 'build-service-images'; services: string[] }
  | { kind: 'write-secrets'; create: boolean }
  | { kind: 'install-servers'; plan: InstallPlan };

/** A check's verdict, and the repair `--fix` would make. */
export interface Evaluation {
  result: CheckResult;
  repair?: Repair;
}

/** Titles of the checks, in the order the checklist shows them. */
export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  engine: 'Docker engine',
  'compose-file': 'Compose file',
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Disk',
  ports: 'Ports on 127.0.0.1',
  handshake: 'Handshake',
  secrets: 'Secrets',
  servers: 'PostgreSQL and Redis',
  'base-images': 'Base images',
  'service-images': 'Service images',
  swarm: 'Docker Swarm',
  networks: 'Networks',
};

const FIX_COMMAND = 'n3xus bootstrap --fix';

function result(id: CheckId, status: CheckStatus, detail: string, fix?: string): CheckResult {
  return { id, title: CHECK_TITLES[id], status, detail, ...(fix === undefined ? {} : { fix }) };
}

/** A check that could not run because another one failed; a warning, so the failure it depends on is the one shown. */
export function notChecked(id: CheckId, reason: string): Evaluation {
  return { result: result(id, 'warn', `not checked: ${reason}`) };
}

/** A check that does not apply to the driver the fleet runs on: passed, saying why it was not needed. */
export function notNeeded(id: CheckId, reason: string): Evaluation {
  return { result: result(id, 'ok', `not needed: ${reason}`) };
}

/** A check whose fact gathering failed unexpectedly: the error's message, without a stack. */
export function checkCrashed(id: CheckId, error: unknown): Evaluation {
  const message = error instanceof Error ? error.message : String(error);
  return { result: result(id, 'fail', `could not check: ${message}`, 'Run again with NODE_DEBUG=n3xus:docker to see the engine calls.') };
}

/** `1.5 GiB`, `512 MiB`: byte counts as a person reads them. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${gib.toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** At most `max` lines, then a line saying how many more there were. */
function capLines(lines: readonly string[], max = 10): string[] {
  return lines.length <= max ? [...lines] : [...lines.slice(0, max), `…and ${lines.length - max} more`];
}

function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** Names, the first `max` of them, then how many more. */
function listNames(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

// ---------------------------------------------------------------------------------------------------------------
// Engine

/** Whether the engine answered `GET /version`, and what it said. */
export type EngineFacts =
  | { endpoint: string; reachable: true; apiVersion: string; version: string; os: string; arch: string }
  | { endpoint: string; reachable: false; reason: string };

/** The oldest engine API n3xus is run against here (Docker 20.10); older engines may lack what launch uses. */
export const MIN_API_VERSION = '1.41';

function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/** The engine must answer; an API older than {@link MIN_API_VERSION} is a warning. */
export function checkEngine(facts: EngineFacts): Evaluation {
  if (!facts.reachable) {
    return {
      result: result(
        'engine',
        'fail',
        facts.reason,
        `Start the engine (nohup dockerd >/tmp/dockerd.log 2>&1 &), or point DOCKER_HOST at a running one (e.g. DOCKER_HOST=unix:///run/user/1000/docker.sock)`,
      ),
    };
  }
  const detail = `API ${facts.apiVersion} (Docker ${facts.version}, ${facts.os}/${facts.arch}) at ${facts.endpoint}`;
  if (compareApiVersions(facts.apiVersion, MIN_API_VERSION) < 0) {
    return { result: result('engine', 'warn', `${detail}: older than API ${MIN_API_VERSION}, which n3xus is tested with`, 'Upgrade the Docker engine (Debian: apt-get install docker.io).') };
  }
  return { result: result('engine', 'ok', detail) };
}

// ---------------------------------------------------------------------------------------------------------------
// Compose file

/**
 * The fleet as loaded (and the env file its variables came from, if any), or why it could not be (a FleetFileError
 * carries problems and suggestions).
 */
export type FleetFacts = { fleet: Fleet; envFile?: string } | { file: string; error: Error & { suggestions?: readonly string[] } };

/** The compose file must load into a fleet; interpolation warnings (unset variables) are warnings. */
export function checkComposeFile(facts: FleetFacts): Evaluation {
  if ('error' in facts) {
    const fix = facts.error.suggestions?.length ? facts.error.suggestions.join(' ') : 'Fix the file, or pass the fleet\'s compose file with -f/--file.';
    return { result: result('compose-file', 'fail', facts.error.message, fix) };
  }
  const { fleet } = facts;
  const variables = facts.envFile === undefined ? '' : ` (variables from ${facts.envFile})`;
  const summary = `${fleet.file}${variables}: ${plural(fleet.services.length, 'service')}, ${plural(Object.keys(fleet.networks).length, 'network')}, ${plural(Object.keys(fleet.volumes).length, 'volume')}`;
  if (fleet.warnings.length > 0) {
    return { result: result('compose-file', 'warn', [summary, ...capLines(fleet.warnings)].join('\n'), 'Set the variables, or give them defaults in the file (${VAR:-default}).') };
  }
  return { result: result('compose-file', 'ok', summary) };
}

// ---------------------------------------------------------------------------------------------------------------
// CPU, memory, disk

/**
 * CPUs per container the seed asks for (~10 cores for the 100 containers). Not a limit: launch works with fewer,
 * only slower.
 */
export const CPUS_PER_CONTAINER = 0.1;
/** Memory per container the seed asks for (~10 GB for the 100 containers), in bytes. */
export const MEMORY_PER_CONTAINER_BYTES = (10 * 1024 ** 3) / 100;
/**
 * Memory one idle container of the fleet takes, in bytes, as measured here (bench/fleet-footprint.ts): an idle
 * service's own memory (PSS) ~32 MiB, its containerd-shim ~13 MiB, docker-proxy ~3.4 MiB.
 */
export const IDLE_MEMORY_PER_CONTAINER_BYTES = 48 * 1024 ** 2;
/**
 * CPU-seconds a container of the fleet costs to reach healthy, as measured here (bench/launch.ts, CI): launching
 * the 100 takes ~250 CPU-s (the services' own start ~100, dockerd ~85, shims and runc ~50, PostgreSQL ~15) and
 * keeps 2 cores busy for 125-145 s, stage waits included. A bare container costs ~0.65 (docker-here.md); a kit
 * service's start (its bundle, PostgreSQL pool and migrations, Redis) most of the rest.
 */
export const CPU_SECONDS_PER_CONTAINER = 2.7;

/** Seconds until every container of the fleet is healthy, roughly: CPU-bound, so containers × 2.7 CPU-s / cores. */
export function expectedLaunchSeconds(containers: number, cpus: number): number {
  return Math.max(1, Math.round((containers * CPU_SECONDS_PER_CONTAINER) / Math.max(cpus, 1)));
}

/** CPU and memory of the machine that runs the containers; from the engine, else (unreachable) from this host. */
export interface ResourceFacts {
  /** Containers the fleet runs. */
  containers: number;
  cpus: number;
  memTotalBytes: number;
  /** Memory available now; known only when the engine runs on this machine. */
  memAvailableBytes?: number;
  /** `engine`: as `docker info` reports; `host`: this machine's, because the engine did not answer. */
  source: 'engine' | 'host';
}

function sourceNote(facts: ResourceFacts): string {
  return facts.source === 'host' ? ' (this machine; the engine did not answer)' : '';
}

/** Fewer CPUs than the seed asks for is a warning that says how long launch will take; never a failure. */
export function checkCpu(facts: ResourceFacts): Evaluation {
  const recommended = Math.ceil(facts.containers * CPUS_PER_CONTAINER);
  const expected = `expect ~${expectedLaunchSeconds(facts.containers, facts.cpus)} s until all are healthy`;
  const head = `${plural(facts.cpus, 'CPU')} for ${plural(facts.containers, 'container')}${sourceNote(facts)}`;
  if (facts.cpus < recommended) {
    return { result: result('cpu', 'warn', `${head}, fewer than the ~${recommended} the seed asks for: launch will take longer, ${expected}`) };
  }
  return { result: result('cpu', 'ok', `${head}: ${expected}`) };
}

/**
 * Less memory than the seed asks for is a warning; so is less available memory than the idle fleet takes, which
 * says what to expect (swapping, OOM kills). Never a failure.
 */
export function checkMemory(facts: ResourceFacts): Evaluation {
  const recommended = facts.containers * MEMORY_PER_CONTAINER_BYTES;
  const idle = facts.containers * IDLE_MEMORY_PER_CONTAINER_BYTES;
  const available = facts.memAvailableBytes === undefined ? '' : `, ${formatBytes(facts.memAvailableBytes)} available`;
  const head = `${formatBytes(facts.memTotalBytes)} total${available}${sourceNote(facts)}; the idle fleet takes ~${formatBytes(idle)} (~${Math.round(IDLE_MEMORY_PER_CONTAINER_BYTES / 1024 ** 2)} MiB a container)`;
  const fix = 'Free memory, or give the engine more (Docker Desktop: Settings → Resources).';
  if (facts.memAvailableBytes !== undefined && facts.memAvailableBytes < idle) {
    return { result: result('memory', 'warn', `${head}: not enough available now, expect swapping, and services killed for memory (exit 137)`, fix) };
  }
  if (facts.memTotalBytes < recommended) {
    return { result: result('memory', 'warn', `${head}, and the seed asks for ~${formatBytes(recommended)}: expect memory pressure under load, and services killed for memory (exit 137) when they grow to their limits`, fix) };
  }
  return { result: result('memory', 'ok', head) };
}

/**
 * Free space wanted where Docker keeps its data: the fleet's images take ~0.5 GB here (layers shared), plus
 * containers' layers, logs, PostgreSQL's data and room for a rebuild beside the old images.
 */
export const DOCKER_DISK_BYTES = 3 * 1024 ** 3;
/** Free space wanted in the project directory: dist/fleet, the base images' staging and download cache. */
export const PROJECT_DISK_BYTES = 1024 ** 3;

/** One place whose free space matters. */
export interface DiskLocation {
  role: 'docker' | 'project';
  path: string;
  /** Bytes an unprivileged writer can use; undefined when it could not be measured. */
  freeBytes?: number;
  /** File system device (stat's `dev`), so two locations on one file system are counted together. */
  device?: number;
  /** Why it could not be measured. */
  reason?: string;
}

export interface DiskFacts {
  locations: DiskLocation[];
}

const ROLE_NAMES: Readonly<Record<DiskLocation['role'], string>> = { docker: "Docker's data root", project: 'project directory' };
const ROLE_NEEDS: Readonly<Record<DiskLocation['role'], number>> = { docker: DOCKER_DISK_BYTES, project: PROJECT_DISK_BYTES };

/** Free space below what is wanted (both needs added up when on one file system) is a warning; never a failure. */
export function checkDisk(facts: DiskFacts): Evaluation {
  const lines: string[] = [];
  let short = false;
  let unknown = false;
  const seen = new Set<number>();
  for (const location of facts.locations) {
    const name = `${ROLE_NAMES[location.role]} ${location.path}`;
    if (location.freeBytes === undefined) {
      unknown = true;
      lines.push(`${name}: could not measure (${location.reason ?? 'unknown reason'})`);
      continue;
    }
    if (location.device !== undefined && seen.has(location.device)) {
      lines.push(`${name}: on the same file system`);
      continue;
    }
    const together = facts.locations.filter((other) => other === location || (location.device !== undefined && other.device === location.device));
    if (location.device !== undefined) seen.add(location.device);
    const need = together.reduce((sum, other) => sum + ROLE_NEEDS[other.role], 0);
    const enough = location.freeBytes >= need;
    if (!enough) short = true;
    lines.push(`${name}: ${formatBytes(location.freeBytes)} free${enough ? '' : `, less than the ~${formatBytes(need)} wanted: image builds, logs or PostgreSQL may fail with "no space left on device"`}`);
  }
  // One line: the checklist shows it whole.
  const detail = lines.join('; ');
  if (short) return { result: result('disk', 'warn', detail, 'Free space: docker system prune removes stopped containers, unused images and build cache.') };
  if (unknown) return { result: result('disk', 'warn', detail) };
  return { result: result('disk', 'ok', detail) };
}

// ---------------------------------------------------------------------------------------------------------------
// Ports

/**
 * What holds a port: a container (with the n3xus or compose project it belongs to), the engine's docker-proxy for a
 * container it could not name, another process, or nobody known.
 */
export type PortHolder =
  | { kind: 'container'; name: string; n3xusProject?: string; composeProject?: string }
  | { kind: 'docker-proxy'; pid: number }
  | { kind: 'process'; pid: number; command: string }
  | { kind: 'unknown' };

/** One port the fleet publishes on 127.0.0.1, and what holds it now (undefined: free). */
export interface PortFact {
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  service: string;
  holder?: PortHolder;
}

export interface PortFacts {
  /** The project launch would run the fleet as: its own containers may hold its ports. */
  project: string;
  ports: PortFact[];
}

function isOurs(holder: PortHolder | undefined, project: string): boolean {
  return holder?.kind === 'container' && holder.n3xusProject === project;
}

function describeHolder(holder: PortHolder): string {
  if (holder.kind === 'docker-proxy') return `published by a Docker container (docker-proxy, pid ${holder.pid})`;
  if (holder.kind === 'process') return `held by process ${holder.command} (pid ${holder.pid})`;
  if (holder.kind === 'unknown') return 'in use by something this user cannot see';
  if (holder.n3xusProject !== undefined) return `held by container ${holder.name} of n3xus project "${holder.n3xusProject}"`;
  if (holder.composeProject !== undefined) return `held by container ${holder.name} of compose project "${holder.composeProject}"`;
  return `held by container ${holder.name}`;
}

function holderFix(holder: PortHolder, port: number): string {
  // Killing docker-proxy would only break the container behind it; the container is what to stop.
  if (holder.kind === 'docker-proxy') return `stop the container publishing it (docker ps --filter publish=${port} names it)`;
  if (holder.kind === 'process') return `stop ${holder.command} (kill ${holder.pid})`;
  if (holder.kind === 'unknown') return `find what holds it (ss -ltnup 'sport = :${port}') and stop it`;
  if (holder.n3xusProject !== undefined) return `n3xus down --project ${holder.n3xusProject}`;
  if (holder.composeProject !== undefined) return `docker-compose -p ${holder.composeProject} down`;
  return `docker rm -f ${holder.name}`;
}

/**
 * Every published port must be free, or held by a container of this project (a running fleet: launch keeps it).
 * A busy port names the port, the service that needs it, what holds it, and how to free it.
 */
export function checkPorts(facts: PortFacts): Evaluation {
  const checkable = facts.ports.filter((p) => p.protocol !== 'sctp');
  const unchecked = facts.ports.length - checkable.length;
  const uncheckedNote = unchecked > 0 ? ` (${plural(unchecked, 'sctp port')} not checked)` : '';
  if (facts.ports.length === 0) return { result: result('ports', 'ok', 'the fleet publishes no ports') };
  const busy = checkable.filter((p) => p.holder !== undefined && !isOurs(p.holder, facts.project));
  const ours = checkable.filter((p) => isOurs(p.holder, facts.project));
  if (busy.length === 0) {
    const free = checkable.length - ours.length;
    const oursNote = ours.length > 0 ? `, ${plural(ours.length, 'port')} in use by our own fleet (project "${facts.project}")` : '';
    return { result: result('ports', 'ok', `${plural(free, 'port')} free${oursNote}${uncheckedNote}`) };
  }
  const lines = capLines(busy.map((p) => `port ${p.port}/${p.protocol} (service ${p.service}): ${describeHolder(p.holder!)}`));
  const fixes = [...new Set(busy.map((p) => holderFix(p.holder!, p.port)))];
  const fix = `Free the ${busy.length === 1 ? 'port' : 'ports'}: ${listNames(fixes, 3)}; or publish the ${busy.length === 1 ? 'service' : 'services'} on another port in the compose file.`;
  return { result: result('ports', 'fail', [`${plural(busy.length, 'port')} of ${checkable.length} busy${uncheckedNote}:`, ...lines].join('\n'), fix) };
}

// ---------------------------------------------------------------------------------------------------------------
// Handshake

/** The handshake this shell would launch with, and what the fleet's services carry (interpolated). */
export interface HandshakeFacts {
  /** `N3XUS_HANDSHAKE` of the environment; undefined or empty when unset. */
  envValue: string | undefined;
  /** The N3XUS LAW handshake the services and image builds check against. */
  law: string;
  /** Every service environment entry and build argument named N3XUS_HANDSHAKE. */
  carriers: Array<{ service: string; where: 'environment' | 'build arg'; value: string }>;
}

/**
 * The handshake must be the law's, and every service must carry the one this environment gives. An unset
 * N3XUS_HANDSHAKE is a warning (the default is used); values are never printed, only where they differ.
 */
export function checkHandshake(facts: HandshakeFacts): Evaluation {
  const set = facts.envValue !== undefined && facts.envValue !== '';
  const effective = set ? facts.envValue : facts.law;
  const source = set ? 'N3XUS_HANDSHAKE' : 'the default (the N3XUS LAW)';
  const problems: string[] = [];
  const fixes: string[] = [];
  if (set && facts.envValue !== facts.law) {
    problems.push('N3XUS_HANDSHAKE is set, but not to the N3XUS LAW handshake: image builds stop at the law check and every service exits with a law violation');
    fixes.push(`Unset N3XUS_HANDSHAKE (the default is the law) or set it to ${facts.law}`);
  }
  const differing = facts.carriers.filter((c) => c.value !== effective);
  if (differing.length > 0) {
    const names = [...new Set(differing.map((c) => `${c.service} (${c.where})`))];
    const count = new Set(differing.map((c) => c.service)).size;
    problems.push(`${plural(count, 'service')} of the compose file ${count === 1 ? 'carries' : 'carry'} a handshake other than ${source}: ${listNames(names)}`);
    fixes.push('Give every service N3XUS_HANDSHAKE: ${N3XUS_HANDSHAKE:-' + facts.law + '} in environment and build args, as compose/docker-compose.full.yml does');
  }
  if (problems.length > 0) {
    return { result: result('handshake', 'fail', problems.join('\n'), `${fixes.join('; ')}.`) };
  }
  const carried = facts.carriers.length === 0 ? 'no service carries N3XUS_HANDSHAKE' : `all ${plural(new Set(facts.carriers.map((c) => c.service)).size, 'service')} carry it`;
  if (!set) {
    return { result: result('handshake', 'warn', `N3XUS_HANDSHAKE is not set: the default ${facts.law} (the N3XUS LAW) is used; ${carried}`, `export N3XUS_HANDSHAKE=${facts.law} to make it explicit.`) };
  }
  return { result: result('handshake', 'ok', `N3XUS_HANDSHAKE is the N3XUS LAW handshake; ${carried}`) };
}

// ---------------------------------------------------------------------------------------------------------------
// Images

/** One image the fleet needs. */
export interface ImageFact {
  tag: string;
  /** The services that run it; empty for a base image needed only to build others. */
  services: string[];
  present: boolean;
  /** The compose file says how to build it (a service image); otherwise it must be present or one of our bases. */
  build: boolean;
  /** A service image `n3xus images build` makes (a service of our catalog, under its own tag). */
  ours: boolean;
}

/** What building the base images takes on this machine. */
export interface HostToolFacts {
  /** debootstrap makes the Debian root file system the other bases are built on. */
  debootstrap: boolean;
  /** tar packs every build context and the Debian root file system. */
  tar: boolean;
  /** debootstrap needs root. */
  root: boolean;
  /** n3xus/debian:bookworm is present, so PostgreSQL and Redis can be built without debootstrap. */
  debianBasePresent: boolean;
}

export interface ImageFacts {
  images: ImageFact[];
  tools: HostToolFacts;
}

const OUR_BASE_TAGS: ReadonlySet<string> = new Set(Object.values(BASE_IMAGE_TAGS));
/** The bases built on n3xus/debian:bookworm, so building them needs it or debootstrap. */
const DEBIAN_BASED_TAGS: ReadonlySet<string> = new Set([BASE_IMAGE_TAGS.debian, BASE_IMAGE_TAGS.postgres, BASE_IMAGE_TAGS.redis]);

function imageLabel(image: ImageFact): string {
  return image.services.length === 0 ? image.tag : `${image.tag} (${listNames(image.services, 3)})`;
}

/** What is missing on this host to build the given bases, as short phrases; empty when they can be built. */
function missingTools(tags: readonly string[], tools: HostToolFacts): string[] {
  const missing: string[] = [];
  if (tags.length > 0 && !tools.tar) missing.push('tar (apt-get install tar)');
  const needsDebootstrap = tags.some((t) => DEBIAN_BASED_TAGS.has(t)) && (!tools.debianBasePresent || tags.includes(BASE_IMAGE_TAGS.debian));
  if (needsDebootstrap && !tools.debootstrap) missing.push('debootstrap (apt-get install debootstrap)');
  if (needsDebootstrap && !tools.root) missing.push('root (debootstrap must run as root)');
  return missing;
}

function toolsNote(tools: HostToolFacts): string {
  const have = (ok: boolean, name: string): string => `${name} ${ok ? 'present' : 'missing'}`;
  return `to build bases: ${have(tools.debootstrap, 'debootstrap')}, ${have(tools.tar, 'tar')}${tools.root ? '' : ', not root'}`;
}

/**
 * The images that are run as they are (our bases, and services without a build section) must be present. A
 * missing base of ours can be built here without a registry (`--fix` does it) when the host tools are there; any
 * other missing image cannot, and the fix says how to bring it in.
 */
export function checkBaseImages(facts: ImageFacts): Evaluation {
  const relevant = facts.images.filter((i) => !i.build);
  const missing = relevant.filter((i) => !i.present);
  const note = toolsNote(facts.tools);
  if (missing.length === 0) {
    const shown = relevant.length === 0 ? 'no image is needed as is' : `${listNames(relevant.map((i) => i.tag))} present`;
    return { result: result('base-images', 'ok', `${shown} (${note})`) };
  }
  const oursMissing = missing.filter((i) => OUR_BASE_TAGS.has(i.tag));
  const foreignMissing = missing.filter((i) => !OUR_BASE_TAGS.has(i.tag));
  const lacking = missingTools(
    oursMissing.map((i) => i.tag),
    facts.tools,
  );
  const fixes: string[] = [];
  if (oursMissing.length > 0) {
    fixes.push(lacking.length === 0 ? `Build ${listNames(oursMissing.map((i) => i.tag))} here: n3xus images build --bases-only (or ${FIX_COMMAND})` : `Install what building the bases needs: ${lacking.join(', ')}; then n3xus images build --bases-only`);
  }
  if (foreignMissing.length > 0) {
    fixes.push(
      `${listNames(foreignMissing.map((i) => i.tag))} cannot be built here without a registry: use the local bases (set the variables of compose/airgap.env, e.g. N3XUS_POSTGRES_IMAGE=n3xus/postgres:15), or bring the images in with n3xus images load`,
    );
  }
  const detail = [`missing: ${listNames(missing.map(imageLabel))}`, ...(lacking.length > 0 ? [`cannot build them here, missing ${lacking.join(', ')}`] : [])].join('\n');
  const evaluation: Evaluation = { result: result('base-images', 'fail', `${detail} (${note})`, `${fixes.join('. ')}.`) };
  if (oursMissing.length > 0 && lacking.length === 0) evaluation.repair = { kind: 'build-base-images', tags: oursMissing.map((i) => i.tag) };
  return evaluation;
}

/**
 * Images the compose file builds: missing ones are a warning, since `n3xus launch --build` (and, for our catalog's,
 * `n3xus images build` or `--fix`) builds them from their build context without a registry.
 */
export function checkServiceImages(facts: ImageFacts): Evaluation {
  const relevant = facts.images.filter((i) => i.build);
  if (relevant.length === 0) return { result: result('service-images', 'ok', 'the fleet builds no images') };
  const missing = relevant.filter((i) => !i.present);
  if (missing.length === 0) return { result: result('service-images', 'ok', `all ${plural(relevant.length, 'image')} present`) };
  const ours = missing.filter((i) => i.ours);
  const fix = ours.length > 0 ? `Build them: n3xus images build (or ${FIX_COMMAND}); n3xus launch --build builds them too.` : 'Build them: n3xus launch --build.';
  const evaluation: Evaluation = {
    result: result('service-images', 'warn', `${missing.length} of ${plural(relevant.length, 'image')} not built yet: ${listNames(missing.map((i) => i.tag))}`, fix),
  };
  if (ours.length > 0) evaluation.repair = { kind: 'build-service-images', services: ours.flatMap((i) => i.services) };
  return evaluation;
}

// ---------------------------------------------------------------------------------------------------------------
// Networks

/** The networks the fleet's services attach to, and the networks the engine has. */
export interface NetworkFacts {
  project: string;
  /** `name` is the engine's name: the file's `name`, else compose's `<project>_<key>`. */
  needed: Array<{ key: string; name: string; external: boolean; internal: boolean }>;
  /**
   * `scope` is the engine's: `swarm` for a network Swarm services can join. Its `driver` can be empty just after it
   * was created, until the swarm's allocator has allocated it, so the kind is judged by `scope`.
   */
  present: Array<{ name: string; labels: Record<string, string>; driver?: string; scope?: string; internal?: boolean }>;
  /** The fleet is for Swarm (`--swarm`): its networks must be overlay networks. */
  swarm?: boolean;
}

/** Label n3xus puts on what it creates for a project (STATE_LABELS.project in src/launch/labels.ts). */
const PROJECT_LABEL = 'n3xus.project';

/**
 * Every network must exist. A missing one of the fleet's own is a failure `--fix` repairs (launch would create it
 * too); a missing external one is a failure only its owner can fix.
 */
export function checkNetworks(facts: NetworkFacts): Evaluation {
  if (facts.needed.length === 0) return { result: result('networks', 'ok', 'the fleet uses no networks') };
  const byName = new Map(facts.present.map((n) => [n.name, n]));
  const lines: string[] = [];
  const create: Array<{ name: string; internal: boolean }> = [];
  const external: string[] = [];
  const wrongKind: string[] = [];
  for (const network of facts.needed) {
    const present = byName.get(network.name);
    if (present && facts.swarm && present.scope !== undefined && present.scope !== 'swarm') {
      wrongKind.push(network.name);
      lines.push(`${network.name} present as a ${present.driver || 'local'} network (scope ${present.scope || 'local'}), which Swarm services cannot join`);
    } else if (present && present.internal !== undefined && !network.external && present.internal !== network.internal) {
      wrongKind.push(network.name);
      lines.push(`${network.name} present as ${present.internal ? 'an internal network' : 'a network that is not internal'}, and the fleet declares it ${network.internal ? 'internal' : 'not internal'}`);
    } else if (present) {
      const owner = present.labels[PROJECT_LABEL];
      lines.push(`${network.name} present${owner !== undefined && owner !== facts.project ? ` (created for project "${owner}")` : ''}`);
    } else if (network.external) {
      external.push(network.name);
      lines.push(`${network.name} missing (declared external: made outside the fleet)`);
    } else {
      create.push({ name: network.name, internal: network.internal });
      lines.push(`${network.name} missing`);
    }
  }
  if (create.length === 0 && external.length === 0 && wrongKind.length === 0) return { result: result('networks', 'ok', lines.join('; ')) };
  const fixes: string[] = [];
  if (wrongKind.length > 0) fixes.push(`Remove ${listNames(wrongKind)} (n3xus down --driver docker, or docker network rm ${wrongKind.join(' ')}), then run ${FIX_COMMAND}${facts.swarm ? ' --swarm' : ''} to create ${wrongKind.length === 1 ? 'it' : 'them'} as the fleet declares`);
  if (create.length > 0) fixes.push(`Run ${FIX_COMMAND} to create ${listNames(create.map((n) => n.name))} (n3xus launch does too)`);
  if (external.length > 0) fixes.push(`Create the external ${external.length === 1 ? 'network' : 'networks'}: ${external.map((n) => `docker network create ${n}`).join('; ')}`);
  const evaluation: Evaluation = { result: result('networks', 'fail', lines.join('; '), `${fixes.join('. ')}.`) };
  if (create.length > 0 && wrongKind.length === 0) evaluation.repair = { kind: 'create-networks', networks: create, overlay: facts.swarm ?? false };
  return evaluation;
}

// ---------------------------------------------------------------------------------------------------------------
// Swarm

/** This engine's place in a swarm; `wanted` when the user asks for one (`--swarm`). */
export interface SwarmFacts {
  state: string;
  manager: boolean;
  nodes: number;
  managers: number;
  nodeAddr: string;
  wanted: boolean;
}

/**
 * Whether `--driver swarm` can launch here: a manager of an active swarm. Not being in a swarm is a failure only
 * when the user asks for one (`--swarm`), which `--fix` repairs with a one-node swarm advertised on loopback.
 */
export function checkSwarm(facts: SwarmFacts): Evaluation {
  if (facts.state === 'active' && facts.manager) {
    return { result: result('swarm', 'ok', `a manager of a swarm of ${plural(facts.nodes, 'node')} (${plural(facts.managers, 'manager')}), at ${facts.nodeAddr}: --driver swarm can launch here`) };
  }
  if (facts.state === 'active') {
    return { result: result('swarm', facts.wanted ? 'fail' : 'warn', `a worker node of a swarm: only a manager can launch with --driver swarm`, 'Run n3xus on a manager node (docker node ls, on a manager, lists them), or point DOCKER_HOST at one.') };
  }
  if (facts.state === 'inactive' && !facts.wanted) return { result: result('swarm', 'ok', 'not in a swarm (needed only for --driver swarm; bootstrap --fix --swarm makes this engine a one-node swarm)') };
  if (facts.state === 'inactive') {
    return {
      result: result('swarm', 'fail', 'not in a swarm, and --swarm asks for one', `Run ${FIX_COMMAND} --swarm to make this engine a one-node swarm advertised on 127.0.0.1 (docker swarm init --advertise-addr 127.0.0.1), or join an existing swarm as a manager.`),
      repair: { kind: 'swarm-init', advertiseAddr: '127.0.0.1' },
    };
  }
  return { result: result('swarm', facts.wanted ? 'fail' : 'warn', `the swarm is ${facts.state}`, 'See docker info (Swarm:); a locked swarm needs docker swarm unlock.') };
}

// ---------------------------------------------------------------------------------------------------------------
// After a repair

/**
 * The verdict after `--fix` repaired a check: `fixed` when the re-check passes, else the re-check's own verdict.
 * `done` says what was done, e.g. `created nexus-net`.
 */
export function afterRepair(recheck: CheckResult, done: string): CheckResult {
  if (recheck.status === 'ok') return { ...recheck, status: 'fixed', detail: `${done}; ${recheck.detail}` };
  return { ...recheck, detail: `${done}, but: ${recheck.detail}` };
}

/** The verdict when a repair itself failed: the original check, failed, with why the repair did not work. */
export function repairFailed(before: CheckResult, error: unknown): CheckResult {
  const message = error instanceof Error ? error.message : String(error);
  return { ...before, status: 'fail', detail: `${before.detail}\n--fix failed: ${message}` };
}

/** Whether the environment is ready: no check failed (warnings are allowed). */
export function isReady(checks: readonly CheckResult[]): boolean {
  return checks.every((c) => c.status !== 'fail');
}

/** The state of the fleet's secrets on disk (see secretsState in src/secrets/secrets-file.ts). */
export interface SecretsFacts {
  /** The secrets file, when n3xus manages the fleet's secrets (the compose file declares postgres-password). */
  secretsFile?: string;
  exists: boolean;
  /** Its permission bits, when it exists. */
  mode?: number;
  /** Why it cannot be used (malformed), when it cannot. */
  error?: string;
  /** Secret files n3xus writes that are missing or hold another value. */
  stale: string[];
  /** Secret files of the compose file's own (not n3xus's) that do not exist. */
  missing: string[];
  /** Secret files in all. */
  files: number;
}

/** Checks the install's secrets file (owner-only) and the secret files the services mount. */
export function checkSecrets(facts: SecretsFacts): Evaluation {
  if (facts.missing.length > 0) {
    return { result: result('secrets', 'fail', `secret files the compose file names do not exist:\n${capLines(facts.missing).join('\n')}`, 'Create them, or remove those secrets from the compose file.') };
  }
  if (facts.secretsFile === undefined) return { result: result('secrets', 'ok', `${facts.files} secret ${facts.files === 1 ? 'file' : 'files'} of the compose file's own, present`) };
  if (!facts.exists) {
    return {
      result: result('secrets', 'fail', `no secrets file: ${facts.secretsFile} does not exist`, `${FIX_COMMAND} creates it (new random passwords for PostgreSQL, Redis and every service).`),
      repair: { kind: 'write-secrets', create: true },
    };
  }
  if (facts.mode !== undefined && (facts.mode & 0o077) !== 0) {
    const mode = facts.mode.toString(8).padStart(4, '0');
    return { result: result('secrets', 'fail', `${facts.secretsFile} has mode ${mode}: others can read it; it must be 0600`, `chmod 600 ${facts.secretsFile}; if anyone else may have read it, rotate: n3xus bootstrap --rotate-secrets`) };
  }
  if (facts.error !== undefined) return { result: result('secrets', 'fail', facts.error, 'Restore the file from a backup, or rotate the secrets: n3xus bootstrap --rotate-secrets.') };
  if (facts.stale.length > 0) {
    return {
      result: result('secrets', 'fail', `${facts.stale.length} secret ${facts.stale.length === 1 ? 'file is' : 'files are'} missing or out of date (${capLines(facts.stale, 3).join(', ')})`, `${FIX_COMMAND} writes them from ${facts.secretsFile}.`),
      repair: { kind: 'write-secrets', create: false },
    };
  }
  return { result: result('secrets', 'ok', `${facts.secretsFile} (owner-only), ${facts.files} secret files up to date`) };
}

// ---------------------------------------------------------------------------------------------------------------
// The process driver's servers

/**
 * The PostgreSQL and Redis the process driver would run: the installed ones it found, the embedded PostgreSQL,
 * what the environment chose (`N3XUS_POSTGRES=embedded`, `N3XUS_REDIS=none`), and how to install what is missing.
 */
export interface ServerFacts {
  postgres?: { binDir: string; version: string };
  /** Whether the embedded PostgreSQL (PGlite, an optional dependency) is installed. */
  embeddedPostgres: boolean;
  /** redis-server's path. */
  redis?: string;
  /** `embedded` when N3XUS_POSTGRES=embedded asks for PGlite whatever is installed. */
  postgresMode?: 'embedded';
  /** `none` when N3XUS_REDIS=none runs the fleet without Redis on purpose. */
  redisMode?: 'none';
  /** How to install the servers that are missing (see installPlan in packages.ts), when some are. */
  plan?: InstallPlan;
}

/** The servers a fleet on the process driver lacks and that installing would give it (not those turned off on purpose). */
export function serversToInstall(facts: Omit<ServerFacts, 'plan'>): ServerKind[] {
  return [
    ...(facts.postgres === undefined && facts.postgresMode !== 'embedded' ? (['postgres'] as const) : []),
    ...(facts.redis === undefined && facts.redisMode !== 'none' ? (['redis'] as const) : []),
  ];
}

/**
 * For the process driver, PostgreSQL and Redis must be installed: without redis-server the fleet runs degraded and
 * `verify` fails (a failure); without PostgreSQL the embedded PGlite stands in, slower (a warning), or nothing does
 * (a failure). What the environment turned off on purpose is a warning that says what it costs. `--fix` installs
 * the missing ones (see installPlan).
 */
export function checkServers(facts: ServerFacts): Evaluation {
  const lines: string[] = [];
  let status: CheckStatus = 'ok';
  const worst = (s: CheckStatus): void => {
    if (s === 'fail' || (s === 'warn' && status === 'ok')) status = s;
  };
  if (facts.postgresMode === 'embedded') {
    lines.push(facts.embeddedPostgres ? 'PostgreSQL: the embedded PGlite, as N3XUS_POSTGRES=embedded asks (one WebAssembly session shared by every service, slower than a server)' : 'N3XUS_POSTGRES=embedded, but the embedded PGlite is not installed (npm ci without --omit=optional)');
    worst(facts.embeddedPostgres ? 'warn' : 'fail');
  } else if (facts.postgres !== undefined) {
    lines.push(`PostgreSQL ${facts.postgres.version} (${facts.postgres.binDir})`);
  } else if (facts.embeddedPostgres) {
    lines.push('PostgreSQL is not installed: the embedded PGlite stands in (one WebAssembly session shared by every service, slower than a server)');
    worst('warn');
  } else {
    lines.push('PostgreSQL is not installed, nor the embedded PGlite: launch --driver process cannot start the fleet');
    worst('fail');
  }
  if (facts.redisMode === 'none') {
    lines.push('Redis: off, as N3XUS_REDIS=none asks: the services run degraded (no shared cache or rate limits) and verify fails');
    worst('warn');
  } else if (facts.redis !== undefined) {
    lines.push(`redis-server (${facts.redis})`);
  } else {
    lines.push('redis-server is not installed: the fleet would run without Redis (degraded), and verify fails');
    worst('fail');
  }
  const plan = facts.plan;
  if (plan === undefined) {
    const fix = status === 'ok' ? undefined : 'Unset N3XUS_POSTGRES / N3XUS_REDIS to run the installed servers.';
    return { result: result('servers', status, lines.join('\n'), fix) };
  }
  const fix =
    plan.kind === 'run'
      ? `${FIX_COMMAND} --yes installs ${plan.packages.join(' and ')} (${plan.command}); no system service is started: the process driver runs its own servers`
      : `${plan.reason}: ${plan.command}`;
  return { result: result('servers', status, lines.join('\n'), fix), repair: { kind: 'install-servers', plan } };
}
