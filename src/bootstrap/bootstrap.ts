/**
 * `n3xus bootstrap`: the environment as a checklist. Each check gathers its facts (gather.ts), is judged by a pure
 * function (checks.ts) and is shown as one line of a listr2 list; with `fix`, the repairable ones are repaired
 * (repairs.ts) and checked again.
 */
import chalk from 'chalk';
import { Listr, type ListrTask } from 'listr2';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { DockerEngine, type EngineHostInfo } from '../docker/engine.ts';
import type { Env } from '../fleet/model.ts';
import { projectRoot } from '../util/project-root.ts';
import {
  CHECK_TITLES,
  afterRepair,
  checkBaseImages,
  checkComposeFile,
  checkCpu,
  checkCrashed,
  checkDisk,
  checkEngine,
  checkHandshake,
  checkSecrets,
  checkMemory,
  checkNetworks,
  checkPorts,
  checkServers,
  checkServiceImages,
  checkSwarm,
  isReady,
  notChecked,
  notNeeded,
  repairFailed,
  type CheckId,
  type CheckResult,
  type EngineFacts,
  type Evaluation,
  type FleetFacts,
  type ImageFacts,
  type Repair,
  type ResourceFacts,
} from './checks.ts';
import {
  REQUIRED_BASE_IMAGES,
  engineIsLocal,
  gatherDisk,
  gatherEngine,
  gatherFleet,
  gatherHandshake,
  gatherImages,
  gatherNetworks,
  gatherPorts,
  gatherResources,
  gatherServers,
  resolveProject,
} from './gather.ts';
import { performRepair } from './repairs.ts';
import type { InstallConsent } from './install-servers.ts';
import { secretsState } from '../secrets/secrets-file.ts';

/** How the checklist is shown: a live tree, plain lines, or nothing (for `--json`). */
export type BootstrapRenderer = 'default' | 'simple' | 'silent';

/** A live tree in a terminal; plain lines when stdout is not a terminal or under CI=true; nothing for `--json`. */
export function chooseRenderer(options: { json: boolean; isTTY: boolean; ci: boolean }): BootstrapRenderer {
  if (options.json) return 'silent';
  return options.isTTY && !options.ci ? 'default' : 'simple';
}

export interface BootstrapOptions {
  /** The compose file; default compose/docker-compose.full.yml. */
  file?: string;
  /** KEY=VALUE file for the compose file's variables; default airgap.env beside the compose file, when present. */
  envFile?: string;
  /** `--project`; default the compose file's `name`, else `n3xus`. */
  project?: string;
  /** Repair what can be repaired (create networks, build missing images), then check again; default false. */
  fix?: boolean;
  /** The environment: interpolation of the compose file and N3XUS_HANDSHAKE; default `process.env`. */
  env?: Env;
  engine?: DockerEngine;
  /** Default `simple`. */
  renderer?: BootstrapRenderer;
  /** Base images checked whatever the compose file says; default n3xus/node:24, n3xus/postgres:15, n3xus/redis:7. */
  requiredBaseImages?: readonly string[];
  /** Labels added to what `fix` creates, beside `n3xus.project`. */
  labels?: Readonly<Record<string, string>>;
  /** Where dist/ is written, for the disk check; default this package's directory. */
  projectDir?: string;
  /** The fleet is for Swarm: the engine must be a swarm manager (`fix` makes a one-node swarm), its networks overlays. */
  swarm?: boolean;
  /**
   * What runs the fleet; default `docker`. For `process`, the Docker checks are not needed and PostgreSQL and Redis
   * must be installed (`fix` installs them); for the others, the reverse.
   */
  driver?: 'docker' | 'process' | 'swarm';
  /** With `fix`: install missing system packages without asking. */
  yes?: boolean;
  /** With `fix` and without `yes`: asks the user (in a terminal) and resolves with the answer; without it, nothing is installed. */
  ask?: (question: string) => Promise<boolean>;
}

/** The checklist's outcome; also what `--json` prints. */
export interface BootstrapResult {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  checks: CheckResult[];
}

/** The checks in the order they run and are shown; the engine and the compose file come first, as others need them. */
export const CHECK_ORDER: readonly CheckId[] = Object.keys(CHECK_TITLES) as CheckId[];

/** The order repairs run in: base images before the service images built on them. */
const REPAIR_ORDER: readonly CheckId[] = ['swarm', 'networks', 'secrets', 'servers', 'base-images', 'service-images'];

/** The checks of the Docker engine and what launch makes on it: not needed by a fleet of local processes. */
const DOCKER_CHECKS: ReadonlySet<CheckId> = new Set(['engine', 'swarm', 'networks', 'base-images', 'service-images']);

/** The n3xus fleet's size, assumed for the resource checks when the compose file cannot be read. */
const DEFAULT_CONTAINERS = 100;

/** Facts shared by several checks, gathered once per run (images again after a repair). */
class Session {
  readonly #options: BootstrapOptions;
  readonly #engine: DockerEngine;
  readonly #env: Env;
  #engineFacts: EngineFacts | undefined;
  #host: EngineHostInfo | undefined;
  #fleetFacts: FleetFacts | undefined;
  #resources: ResourceFacts | undefined;
  #images: Promise<ImageFacts> | undefined;

  constructor(options: BootstrapOptions) {
    this.#options = options;
    this.#engine = options.engine ?? new DockerEngine({ env: options.env ?? process.env });
    this.#env = options.env ?? process.env;
  }

  get engine(): DockerEngine {
    return this.#engine;
  }

  get project(): string {
    return resolveProject(this.#options.project, this.#fleet);
  }

  get fleet() {
    return this.#fleet;
  }

  get #fleet() {
    return this.#fleetFacts !== undefined && 'fleet' in this.#fleetFacts ? this.#fleetFacts.fleet : undefined;
  }

  get #reachable(): boolean {
    return this.#engineFacts?.reachable === true;
  }

  /** Forgets the gathered image facts, so a check after a build sees the new images. */
  forgetImages(): void {
    this.#images = undefined;
  }

  async evaluate(id: CheckId): Promise<Evaluation> {
    try {
      return await this.#evaluate(id);
    } catch (error) {
      return checkCrashed(id, error);
    }
  }

  async #evaluate(id: CheckId): Promise<Evaluation> {
    const processes = this.#options.driver === 'process';
    if (processes && DOCKER_CHECKS.has(id)) return notNeeded(id, 'the fleet runs as local processes (--driver process)');
    if (id === 'servers') return processes ? checkServers(await gatherServers(this.#env)) : notNeeded(id, 'they run in containers');
    switch (id) {
      case 'engine': {
        const { facts, host } = await gatherEngine(this.#engine);
        this.#engineFacts = facts;
        this.#host = host;
        return checkEngine(facts);
      }
      case 'compose-file':
        this.#fleetFacts = await gatherFleet(this.#options.file, this.#options.envFile, this.#env);
        return checkComposeFile(this.#fleetFacts);
      case 'cpu':
        return checkCpu(this.#resourceFacts());
      case 'memory':
        return checkMemory(this.#resourceFacts());
      case 'disk':
        return checkDisk(await gatherDisk(this.#host?.dockerRootDir, this.#options.projectDir ?? projectRoot(), engineIsLocal(this.#engine)));
    }
    if (id === 'swarm') {
      if (!this.#reachable) return notChecked(id, 'the Docker engine is not reachable');
      return checkSwarm({ ...(await this.#engine.swarm.state()), wanted: this.#options.swarm ?? false });
    }
    const fleet = this.#fleet;
    if (fleet === undefined) return notChecked(id, 'the compose file is not valid');
    if (id === 'ports') return checkPorts(await gatherPorts(fleet, this.project, this.#reachable ? this.#engine : undefined));
    if (id === 'handshake') return checkHandshake(gatherHandshake(fleet, this.#env, N3XUS_LAW));
    if (id === 'secrets') return checkSecrets(secretsState(fleet));
    if (!this.#reachable) return notChecked(id, 'the Docker engine is not reachable');
    if (id === 'networks') return checkNetworks({ ...(await gatherNetworks(this.#engine, fleet, this.project)), swarm: this.#options.swarm ?? false });
    this.#images ??= gatherImages(this.#engine, fleet, this.#options.requiredBaseImages ?? REQUIRED_BASE_IMAGES, this.#env);
    const images = await this.#images;
    return id === 'base-images' ? checkBaseImages(images) : checkServiceImages(images);
  }

  #resourceFacts(): ResourceFacts {
    this.#resources ??= gatherResources(this.#fleet?.services.length ?? DEFAULT_CONTAINERS, this.#host, engineIsLocal(this.#engine));
    return this.#resources;
  }
}

interface TaskView {
  title: string | undefined;
  output: string | undefined;
}

/**
 * Shows a verdict on its listr2 line: the title and the first line of the detail; further lines and the fix below
 * it. A failure is thrown, so listr2 marks the line failed and shows the message.
 */
function show(task: TaskView, check: CheckResult): void {
  const [first = '', ...rest] = check.detail.split('\n');
  const marker = check.status === 'warn' ? `${chalk.yellow('warning:')} ` : check.status === 'fixed' ? `${chalk.green('fixed:')} ` : '';
  task.title = `${check.title}: ${marker}${first}`;
  const below = [...rest, ...(check.fix !== undefined && check.status !== 'ok' && check.status !== 'fixed' ? [`fix: ${check.fix}`] : [])];
  if (check.status === 'fail') throw new Error(below.length > 0 ? below.join('\n') : first);
  if (below.length > 0) task.output = below.join('\n');
}

function repairTitle(repair: Repair): string {
  if (repair.kind === 'swarm-init') return `Making this engine a one-node swarm (advertised on ${repair.advertiseAddr})`;
  if (repair.kind === 'create-networks') return `Creating ${repair.overlay ? 'overlay ' : ''}${repair.networks.length === 1 ? 'network' : 'networks'} ${repair.networks.map((n) => n.name).join(', ')}`;
  if (repair.kind === 'write-secrets') return repair.create ? 'Creating the secrets file and the secret files' : 'Writing the secret files';
  if (repair.kind === 'build-base-images') return `Building base images (${repair.tags.join(', ')} missing)`;
  if (repair.kind === 'install-servers') return repair.plan.kind === 'run' ? `Installing ${repair.plan.packages.join(' and ')} (${repair.plan.command})` : 'Installing PostgreSQL and Redis';
  return `Building ${repair.services.length} service ${repair.services.length === 1 ? 'image' : 'images'}`;
}

async function runList(tasks: ListrTask[], renderer: BootstrapRenderer): Promise<void> {
  const list = new Listr(tasks, {
    concurrent: false,
    // Every check runs whatever the others found: the point is the whole list.
    exitOnError: false,
    renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { collapseErrors: false },
  });
  await list.run();
}

/** Whether the user agrees to install system packages, asked once before the repairs run (a prompt cannot share a live list). */
async function installConsent(repair: Repair | undefined, wanted: boolean, options: BootstrapOptions): Promise<InstallConsent> {
  if (!wanted || repair?.kind !== 'install-servers' || repair.plan.kind !== 'run') return { allowed: false, why: 'declined' };
  if (options.yes) return { allowed: true };
  if (options.ask === undefined) return { allowed: false, why: 'no-terminal' };
  const yes = await options.ask(`Install ${repair.plan.packages.join(' and ')} with ${repair.plan.command}? No system service is started. [y/N] `);
  return yes ? { allowed: true } : { allowed: false, why: 'declined' };
}

/**
 * Runs the checklist (and with `fix`, the repairs and the re-checks) and returns every check's verdict. Never
 * rejects for a failed check: `ok` says whether any failed.
 *
 * @example
 * const { ok, checks } = await runBootstrap({ file: 'compose/docker-compose.full.yml', fix: true, renderer: 'simple' });
 */
export async function runBootstrap(options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const session = new Session(options);
  const renderer = options.renderer ?? 'simple';
  const results = new Map<CheckId, CheckResult>();
  const repairs = new Map<CheckId, Repair>();
  await runList(
    CHECK_ORDER.map(
      (id): ListrTask => ({
        title: CHECK_TITLES[id],
        rendererOptions: { persistentOutput: true },
        task: async (_ctx, task) => {
          const evaluation = await session.evaluate(id);
          results.set(id, evaluation.result);
          if (evaluation.repair !== undefined && evaluation.result.status !== 'ok') repairs.set(id, evaluation.repair);
          show(task, evaluation.result);
        },
      }),
    ),
    renderer,
  );

  const toRepair = options.fix ? REPAIR_ORDER.filter((id) => repairs.has(id)) : [];
  const install = await installConsent(repairs.get('servers'), toRepair.includes('servers'), options);
  if (toRepair.length > 0) {
    let baseBuildFailed = false;
    await runList(
      toRepair.map((id): ListrTask => {
        const repair = repairs.get(id)!;
        return {
          title: repairTitle(repair),
          rendererOptions: { persistentOutput: true, outputBar: 1 },
          task: async (_ctx, task) => {
            const before = results.get(id)!;
            let after: CheckResult;
            if (id === 'service-images' && baseBuildFailed) {
              after = { ...before, detail: `${before.detail}\nnot built: the base images could not be built` };
            } else {
              try {
                const done = await performRepair(repair, {
                  engine: session.engine,
                  project: session.project,
                  labels: options.labels ?? {},
                  ...(session.fleet === undefined ? {} : { fleet: session.fleet }),
                  install,
                  onLine: (line) => {
                    task.output = line;
                  },
                });
                session.forgetImages();
                after = afterRepair((await session.evaluate(id)).result, done);
              } catch (error) {
                if (id === 'base-images') baseBuildFailed = true;
                after = repairFailed(before, error);
              }
            }
            results.set(id, after);
            show(task, after);
          },
        };
      }),
      renderer,
    );
  }

  const checks = CHECK_ORDER.map((id) => results.get(id)!);
  return { ok: isReady(checks), checks };
}
