/**
 * Container state for the `container` checks: ONE list call by the project label for the whole fleet; inspect
 * (for restart count, OOM and health log) only for the few containers the list shows in trouble; one lookup per
 * distinct image, to compare each container with what launch would create (src/verify/drift.ts). A second list,
 * by compose's project label, only when the first misses services: a fleet started by plain docker-compose. The
 * Docker module (and dockerode) is imported only when container checks are wanted.
 */
import type { DriverKind, Instance } from '../drivers/driver.ts';
import { COMPOSE_LABELS, STATE_LABELS } from '../launch/labels.ts';
import { compareInstance, madeByCompose, serviceOf, type DriftFinding, type Expected, type ImageLookup } from './drift.ts';
import { VerifyUnavailableError } from './errors.ts';
import type { DockerUse } from './types.ts';

/** `auto`: container checks when the engine answers and has containers of the project; `on`: required; `off`. */
export type DockerMode = 'auto' | 'on' | 'off';

/** What the engine says about the project's containers, by `n3xus.service` label (compose's, for compose's containers). */
export interface ContainerState {
  docker: DockerUse;
  byService: Map<string, Instance>;
  /** How each expected service's container compares with what launch would create (see src/verify/drift.ts). */
  drift: Map<string, DriftFinding>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Why container checks must not run in `auto` mode, or undefined when they may: the local engine's containers say
 * nothing about a fleet on another host, unless DOCKER_HOST points at that host's engine.
 */
export function autoDockerVeto(host: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (LOOPBACK.has(host) || host.startsWith('127.') || env.DOCKER_HOST) return undefined;
  return `${host} is not this machine and DOCKER_HOST is not set (use --docker with DOCKER_HOST pointing at its engine)`;
}

/**
 * Containers the list shows in trouble (not running, restarting, unhealthy) are inspected for the details of
 * why. "starting" is not trouble: right after a launch all 98 say it until their first check, one interval later.
 */
export function needsInspect(container: Instance): boolean {
  return !container.running || container.status === 'restarting' || container.health === 'unhealthy';
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Where the instances are listed: the driver that runs the fleet (see src/drivers). */
export interface InstanceSource {
  kind: DriverKind;
  /** Where they are listed, for messages. */
  where: string;
  list(project: string): Promise<Instance[]>;
  /** The details (restart count, OOM, health log) of one instance the list shows in trouble; optional. */
  inspect?(id: string): Promise<Instance>;
  /**
   * The ID each image reference resolves to now (see FleetDriver.resolveImages); without it, images are not
   * compared. The process driver has none here: its image IDs hash its bundles and need the whole fleet.
   */
  resolveImages?(images: readonly string[]): Promise<Map<string, string | undefined>>;
  /** The containers docker compose made for the project (Docker only). */
  listCompose?(project: string): Promise<Instance[]>;
}

/** The Docker engine (DOCKER_HOST, else the local socket) through the Docker driver, loaded only when asked for. */
async function dockerSource(): Promise<InstanceSource> {
  const [{ DockerEngine }, { DockerDriver }] = await Promise.all([import('../docker/engine.ts'), import('../drivers/docker/docker-driver.ts')]);
  const driver = new DockerDriver(new DockerEngine());
  return {
    kind: 'docker',
    where: 'the Docker engine',
    list: (p) => driver.observe(p),
    inspect: (id) => driver.inspect(id),
    resolveImages: (images) => driver.resolveImages(images),
    listCompose: (p) => driver.observeCompose(p),
  };
}

/**
 * Lists the project's instances through `source` (default: the Docker engine). In `auto` mode an engine that does
 * not answer, or that has no instance of the project, or a `host` that is not this machine (see
 * {@link autoDockerVeto}), turns container checks off with the reason; in `on` mode an engine that does not answer
 * is a {@link VerifyUnavailableError}. The process driver's state is read, never skipped: a state it cannot read
 * ends verify with its own message. `expected`, the services checked, are compared with what launch would create
 * (see src/verify/drift.ts); a service the project label does not find is looked for among the containers
 * docker compose made for `composeProject` (see composeProjectOf in src/fleet/project-name.ts).
 */
export async function observeContainers(
  mode: DockerMode,
  project: string,
  timeoutMs: number,
  host = '127.0.0.1',
  given?: InstanceSource,
  expected: readonly Expected[] = [],
  composeProject = project,
): Promise<ContainerState> {
  const byService = new Map<string, Instance>();
  const drift = new Map<string, DriftFinding>();
  if (mode === 'off') return { docker: { used: false, reason: 'container checks turned off (--no-docker)', project }, byService, drift };
  const veto = mode === 'auto' && given?.kind !== 'process' ? autoDockerVeto(host, process.env) : undefined;
  if (veto !== undefined) return { docker: { used: false, reason: veto, project }, byService, drift };
  const driver = given === undefined || given.kind === 'docker' ? {} : { driver: given.kind };
  let source: InstanceSource;
  let listed: Instance[];
  try {
    source = given ?? (await dockerSource());
    listed = source.kind === 'process' ? await source.list(project) : await withTimeout(source.list(project), timeoutMs, 'Docker engine');
    // Only when the project label leaves services unfound: a healthy launched fleet costs no second call.
    const found = new Set(listed.map(serviceOf).filter((name) => name !== undefined));
    const listCompose = source.listCompose;
    if (listCompose !== undefined && (found.size === 0 || expected.some((e) => !found.has(e.name)))) {
      const seen = new Set(listed.map((c) => c.id));
      const compose = (await withTimeout(listCompose(composeProject), timeoutMs, 'Docker engine')).filter((c) => !seen.has(c.id) && madeByCompose(c));
      listed = [...compose, ...listed];
    }
  } catch (error) {
    if (given?.kind === 'process') throw error;
    const reason = error instanceof Error ? error.message : String(error);
    if (mode === 'on') {
      throw new VerifyUnavailableError(`Container checks were asked for (--docker) but the Docker engine did not answer: ${reason}`, [
        'Start the engine or set DOCKER_HOST, or verify over HTTP only with --no-docker',
      ]);
    }
    return { docker: { used: false, reason: `Docker engine not reachable: ${reason}`, project, ...driver }, byService, drift };
  }
  const ours = listed.filter((c) => serviceOf(c) !== undefined);
  if (ours.length === 0 && mode === 'auto') {
    const compose = source.listCompose === undefined ? '' : ` or ${COMPOSE_LABELS.project}=${composeProject}`;
    const reason = source.kind === 'process' ? `no process of project ${project} in ${source.where}` : `no ${source.kind === 'swarm' ? 'Swarm service' : 'container'} labelled ${STATE_LABELS.project}=${project}${compose}`;
    return { docker: { used: false, reason, project, containers: 0, ...driver }, byService, drift };
  }
  // Inspect only what the list shows in trouble: a healthy fleet costs one list call (and the image lookups below), a
  // broken one a few more.
  const inspect = source.inspect;
  const inspected = await Promise.all(
    ours.map(async (container) => {
      if (inspect === undefined || !needsInspect(container)) return container;
      try {
        return await withTimeout(inspect(container.id), timeoutMs, 'Docker engine');
      } catch {
        return container; // the list entry still says what is wrong; the details are a bonus
      }
    }),
  );
  // The running one tells the truth about a service that has a stopped duplicate; compose's come first, so that
  // a container of ours wins over one of compose's for the same service.
  for (const c of inspected) if (c.running || !byService.has(serviceOf(c)!)) byService.set(serviceOf(c)!, c);
  const compared = expected.filter((e) => byService.has(e.name));
  const images = await lookUpImages(source, compared.filter((e) => byService.get(e.name)!.imageId !== '').map((e) => e.image), timeoutMs);
  for (const e of compared) drift.set(e.name, compareInstance(e, byService.get(e.name)!, images));
  const compose = ours.filter(madeByCompose).length;
  const named = compose > 0 && composeProject !== project ? { composeProject } : {};
  return { docker: { used: true, project, containers: ours.length, ...(compose > 0 ? { compose } : {}), ...named, ...driver }, byService, drift };
}

/** One lookup per distinct image, all at once, through the driver; a failure is a note on each comparison, not an error. */
async function lookUpImages(source: InstanceSource, images: readonly string[], timeoutMs: number): Promise<ImageLookup> {
  const resolve = source.resolveImages;
  if (resolve === undefined || images.length === 0) return undefined;
  try {
    return { ids: await withTimeout(resolve([...new Set(images)]), timeoutMs, 'Docker engine') };
  } catch (error) {
    return { error: `the engine did not resolve the fleet's images (${error instanceof Error ? error.message : String(error)})` };
  }
}
