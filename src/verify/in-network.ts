/**
 * verify from inside the fleet's network: the CLI outside lists the instances through its driver, then runs
 * `n3xus verify` in a one-shot container of the CLI's own image (n3xus/cli:3.0) attached to the fleet's network,
 * which reaches every service by its name and every replica at its own address, and prints the same JSON report;
 * the CLI outside reads it back, so the summary, the JUnit file and the exit code are the same as from outside.
 *
 * What the inside run needs (the fleet's names and ports, the instances) goes in as one JSON environment variable:
 * the container needs no access to the engine, and no file of the machine outside.
 */
import { randomBytes } from 'node:crypto';
import type { DockerEngine } from '../docker/engine.ts';
import type { Instance } from '../drivers/driver.ts';
import { CLI_IMAGE } from '../images/cli-image.ts';
import { STATE_LABELS } from '../launch/labels.ts';
import { CodedError } from '../util/coded-error.ts';
import { fromEntry, toEntry, type VerifyFleet } from './fleet-source.ts';
import { VERIFY_SCHEMA_VERSION, type VerifyReport } from './types.ts';

/** The environment variable that carries {@link NetworkInput} into the container. */
export const NETWORK_INPUT_ENV = 'N3XUS_VERIFY_INPUT';

/** Label on the one-shot container, so an interrupted run's container can be found and removed. */
export const VERIFY_ROLE = 'in-network-verify';

/** What the inside run is given. */
export interface NetworkInput {
  project: string;
  /** How the report names where it ran, e.g. `inside network nexus-net`. */
  where: string;
  driver: 'docker' | 'swarm';
  fleet: VerifyFleet;
  instances: Instance[];
}

/**
 * An instance with only what verify judges: the labels it is found by and compared by (config hash, replicas), its
 * state and its replicas. Not its image ID: inside, without the engine, no image can be resolved to compare it with.
 */
function slim(instance: Instance): Instance {
  const keep = [STATE_LABELS.project, STATE_LABELS.service, STATE_LABELS.configHash, STATE_LABELS.replicas];
  return {
    id: instance.id,
    name: instance.name,
    image: '',
    imageId: '',
    labels: Object.fromEntries(Object.entries(instance.labels).filter(([k]) => keep.includes(k as (typeof keep)[number]))),
    status: instance.status,
    running: instance.running,
    exitCode: instance.exitCode,
    health: instance.health,
    lastHealthOutput: instance.lastHealthOutput,
    ports: {},
    ...(instance.restartCount === undefined ? {} : { restartCount: instance.restartCount }),
    ...(instance.oomKilled === undefined ? {} : { oomKilled: instance.oomKilled }),
    ...(instance.error === undefined ? {} : { error: instance.error }),
    ...(instance.replicas === undefined ? {} : { replicas: instance.replicas }),
  };
}

/** The input as the environment variable's value. */
export function encodeInput(input: NetworkInput): string {
  return JSON.stringify({ ...input, fleet: { file: input.fleet.file, entry: toEntry(input.fleet) }, instances: input.instances.map(slim) });
}

/** Reads the variable back; an input that is not what {@link encodeInput} writes is an error naming the variable. */
export function decodeInput(text: string | undefined): NetworkInput {
  const bad = (why: string): Error =>
    Object.assign(new Error(`${NETWORK_INPUT_ENV} ${why}: --network-input is for the verify that n3xus runs inside the fleet's network itself.`), {
      code: 'INVALID_ARGUMENT',
      suggestions: ['Run verify from outside: n3xus verify --driver swarm (or --in-network)'],
    });
  if (text === undefined || text === '') throw bad('is not set');
  let raw: { project?: unknown; where?: unknown; driver?: unknown; fleet?: { file?: unknown; entry?: unknown }; instances?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    throw bad('is not JSON');
  }
  const fleet = fromEntry(raw.fleet?.entry);
  if (typeof raw.project !== 'string' || typeof raw.where !== 'string' || (raw.driver !== 'docker' && raw.driver !== 'swarm') || typeof raw.fleet?.file !== 'string' || fleet === undefined || !Array.isArray(raw.instances)) {
    throw bad('does not hold a project, a fleet and instances');
  }
  return { project: raw.project, where: raw.where, driver: raw.driver, fleet: { file: raw.fleet.file, ...fleet }, instances: raw.instances as Instance[] };
}

/** The inside run failed as a command does: its error, as `--json` printed it. */
export class InsideVerifyError extends CodedError {
  override readonly name = 'InsideVerifyError';
}

/** How long the inside run may take, container start included. */
const INSIDE_TIMEOUT_MS = 300_000;

/**
 * Runs verify inside `networks` (the fleet's networks that are not internal: see reachNetworks) with `args`
 * (verify's flags, without `--json`) and returns its report.
 * @throws InsideVerifyError with the inside run's own code and message when it failed as a command; an
 * IMAGE_MISSING error when the CLI image is not built. The container is removed whatever happens.
 */
export async function verifyFromInside(engine: DockerEngine, networks: readonly string[], input: NetworkInput, args: readonly string[]): Promise<VerifyReport> {
  const network = networks[0];
  if (network === undefined) throw new InsideVerifyError("verify inside the fleet's network needs a network that is not internal, and the fleet has none.", 'VERIFY_UNAVAILABLE', []);
  if (!(await engine.image.exists(CLI_IMAGE))) {
    throw new InsideVerifyError(`verify runs inside the fleet's network from the CLI's own image, and ${CLI_IMAGE} is not on this engine.`, 'IMAGE_MISSING', ['Build it: n3xus images build (it builds the CLI image after the service images).']);
  }
  const id = await engine.container.create({
    name: `${input.project}_verify-${randomBytes(4).toString('hex')}`,
    image: CLI_IMAGE,
    cmd: ['verify', '--network-input', '--json', ...args],
    env: { [NETWORK_INPUT_ENV]: encodeInput(input) },
    labels: { [STATE_LABELS.project]: input.project, 'n3xus.role': VERIFY_ROLE },
    network,
    ...(networks.length > 1 ? { extraNetworks: networks.slice(1) } : {}),
    readOnlyRootfs: true,
    tmpfs: { '/tmp': '' },
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges:true'],
    memoryBytes: 256 * 1024 * 1024,
  });
  try {
    await engine.container.start(id);
    const { exitCode } = await engine.container.wait(id, { timeoutMs: INSIDE_TIMEOUT_MS });
    const { stdout, stderr } = await engine.container.logs(id);
    let parsed: VerifyReport | { error?: { name?: string; code?: string; message?: string; suggestions?: string[] } };
    try {
      parsed = JSON.parse(stdout) as typeof parsed;
    } catch {
      throw new InsideVerifyError(`verify inside ${network} exited ${exitCode} without a report: ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ')}`, 'VERIFY_UNAVAILABLE', ['Run it by hand to see why: docker run --rm --network ' + network + ' ' + CLI_IMAGE + ' verify --help']);
    }
    if ('error' in parsed && parsed.error !== undefined) {
      throw new InsideVerifyError(parsed.error.message ?? `verify inside ${network} failed`, parsed.error.code ?? 'VERIFY_UNAVAILABLE', parsed.error.suggestions ?? []);
    }
    // The image is a build of its own: an older one writes a report this CLI reads wrongly.
    if ((parsed as VerifyReport).schemaVersion !== VERIFY_SCHEMA_VERSION) {
      throw new InsideVerifyError(
        `${CLI_IMAGE} is from another build of n3xus: it wrote a report of schema ${String((parsed as VerifyReport).schemaVersion)}, and this CLI reads schema ${VERIFY_SCHEMA_VERSION}.`,
        'IMAGE_MISSING',
        ['Rebuild it from this checkout: n3xus images build'],
      );
    }
    return parsed as VerifyReport;
  } finally {
    await engine.container.remove(id).catch(() => undefined);
  }
}
