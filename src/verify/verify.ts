/**
 * The one entry point of `n3xus verify`: reads the fleet, probes every target concurrently through one bounded
 * pool, lists the project's containers once, runs the inter-service flows (`full`) and the latency burst (`bench`),
 * and hands every answer to the pure judges and the scorer. The decisions live in judge.ts and score.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import pLimit from 'p-limit';
import { HANDSHAKE_HEADER, LAW_LINK_PATH, N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { DEFAULT_PROJECT } from '../launch/labels.ts';
import { createAsk, type Ask } from './ask.ts';
import type { CallerKey } from '../../services/_kit/src/caller.ts';
import { composeProjectOf } from '../fleet/project-name.ts';
import { observeContainers, type ContainerState, type DockerMode, type InstanceSource } from './containers.ts';
import { withDrift } from './drift.ts';
import { InvalidVerifyArgumentError, VerifyUnavailableError } from './errors.ts';
import { handshakeVariants, NEAR_MISS_PATH, sampleVariants, wireHeaders, WRONG_HANDSHAKE, type HandshakeVariant } from './near-miss.ts';
import { sampleSizeProblem } from './sample.ts';
import { loadVerifyFleet, type VerifyFleet, type VerifyFleetService } from './fleet-source.ts';
import { checkEventDelivery, checkRoute } from './inter-service.ts';
import { callsChecks } from './edges.ts';
import { checkFunctional } from './functional-probe.ts';
import {
  blockedByTarget,
  checkError,
  failureCode,
  isFailure,
  judgeContainer,
  judgeHealth,
  judgeLaw,
  judgeProtocol,
  judgeReadiness,
  judgeReplicas,
  LAW_PROBE_PATH,
  notRun,
} from './judge.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_HOST, DEFAULT_THRESHOLD, DEFAULT_TIMEOUT_MS, MAX_SEED } from './options.ts';
import { buildReport, nothingAnswered, serviceResult } from './score.ts';
import { slowestFirst, summarizeLatency } from './stats.ts';
import { internalUrl, peerNames, selectTargets, type Addressing } from './targets.ts';
import { probeProtocol } from './tcp-probe.ts';
import type { CheckCode, CheckResult, LatencySummary, ServiceResult, VerifyMode, VerifyReport, VerifyTarget } from './types.ts';

/** What to verify and how; every field but `mode` has a default. */
export interface VerifyOptions {
  /** The fleet's compose file; default compose/docker-compose.full.yml of this repository. */
  fleetFile?: string;
  mode: VerifyMode;
  /** Where the fleet's ports are published; default 127.0.0.1. */
  host?: string;
  /** Operational % needed to pass, 0-100; default 90. */
  threshold?: number;
  /** Deadline of each request, in milliseconds; default 2000. */
  timeoutMs?: number;
  /** Requests in flight at once; default 64. */
  concurrency?: number;
  /** Container checks: `auto` (default), `on` (required), `off`. */
  docker?: DockerMode;
  /**
   * Where the instances are listed when not on a Docker engine (the process driver's state); default Docker. A
   * function is called with the project once the probes are out, so that finding out (a ping to the engine) costs
   * no time before them.
   */
  instances?: InstanceSource | ((project: string) => Promise<InstanceSource | undefined>);
  /** The `n3xus.project` label value; default the fleet file's project name, else `n3xus`. */
  project?: string;
  /** Measure latency percentiles with a short burst per service. */
  bench?: boolean;
  /** Requests per service in the burst; default 20. */
  benchRequests?: number;
  /** How long an event may take from event-bus to audit-trail, in milliseconds; default 5000. */
  deliveryWaitMs?: number;
  /**
   * `false` leaves the near misses of the handshake and the Link target out of the law check: only its three
   * probes are sent. For bench/verify's before-and-after comparison; the CLI never turns them off.
   */
  nearMisses?: boolean;
  /**
   * `false` leaves out the functional check (it writes a record verify owns to each service, and removes it): for
   * read-only audits. The report says it did not run. Default on, in both modes.
   */
  functional?: boolean;
  /** KEY=VALUE file for the fleet file's variables; default `airgap.env` next to it, when present. */
  envFile?: string;
  /** Where parsed fleet files are cached; see loadVerifyFleet. */
  cacheDir?: string;
  /** Called as each target's own checks finish, for live progress. */
  onProgress?: (event: VerifyProgress) => void;
  /**
   * `network`: verify runs inside the fleet's network and reaches each service by its name and own port, and each
   * replica at its own address; `host` is then only how the report names where it ran. Default `published`.
   */
  addressing?: Addressing;
  /** The fleet, when the caller has it already (in-network verify gets it from the CLI outside); default: read `fleetFile`. */
  fleet?: VerifyFleet;
  /** The sample's seed (0 to 2^32-1); default a random one, printed in the report so that it can be repeated. */
  seed?: number;
  /**
   * The key verify signs its requests with (services/_kit/src/caller.ts); default n3xus's own, from the fleet's
   * secrets file when n3xus manages its secrets; `null`: unsigned.
   */
  caller?: CallerKey | null;
  /** Non-infrastructure services in the sample; default one per category. */
  sampleSize?: number;
  /** When the sample fails, verify every service (`full`) and report that, naming the sample that failed. */
  escalate?: boolean;
}

/** Progress of a verification, for a live display. */
export type VerifyProgress =
  | { type: 'start'; total: number; mode: VerifyMode; host: string }
  | { type: 'target'; name: string; passed: boolean; done: number; total: number }
  | { type: 'step'; step: 'inter-service' | 'containers' | 'bench' };

/**
 * Readiness requests in flight at once. Each one makes its service run a PostgreSQL and a Redis round trip; 98 at
 * the same instant would have PostgreSQL start dozens of backends together, and a service whose check then takes
 * longer than its own 1 s limit reports PostgreSQL down: verify would cause the failure it reports.
 */
const READINESS_CONCURRENCY = 16;
/**
 * Services whose functional check runs at once. Each writes and deletes a row, so 98 at the same instant would be
 * PostgreSQL work on the scale of the readiness storm READINESS_CONCURRENCY prevents.
 */
const FUNCTIONAL_CONCURRENCY = 8;
const LAWFUL = { [HANDSHAKE_HEADER]: N3XUS_LAW };
const WRONG = { [HANDSHAKE_HEADER]: WRONG_HANDSHAKE };

/** True when the target answered its first check at all (a wrong answer is still an answer). */
function answered(check: CheckResult): boolean {
  return !(check.status === 'fail' && (check.code === 'unreachable' || check.code === 'timeout'));
}

/**
 * A kit service's own checks: health, law (three probes, the refusal's Link target, and near misses of the
 * handshake) and readiness, all pipelined on the service's one kept-alive connection: 98 connections for the fleet
 * instead of thousands, and a few round trips per service instead of one per request. The services are probed
 * concurrently.
 */
/** `variants` undefined: only the law's three probes (see VerifyOptions.nearMisses). */
async function probeService(ask: Ask, askReady: Ask, target: VerifyTarget, variants: readonly HandshakeVariant[] | undefined, onHealth: (health: CheckResult) => void): Promise<CheckResult[]> {
  const base = target.url;
  const healthAnswer = ask(`${base}/health`);
  // The health verdict is known long before the law's near misses are all back: what waits on it (the functional
  // check, the declared calls, the flows) starts then, so that those requests overlap instead of queueing.
  void healthAnswer.then((answer) => onHealth(judgeHealth(answer, target.name)));
  const [health, without, wrong, right, ready, lawLink, ...nearAnswers] = await Promise.all([
    healthAnswer,
    ask(`${base}${LAW_PROBE_PATH}`),
    ask(`${base}${LAW_PROBE_PATH}`, { headers: WRONG }),
    ask(`${base}${LAW_PROBE_PATH}`, { headers: LAWFUL }),
    // With the handshake: the kit tells the driver's error, latencies and migrations only to the fleet's own.
    askReady(`${base}/ready`, { headers: LAWFUL }),
    // Asked with the rest, since the kit links there; a refusal that links elsewhere is followed below.
    ...(variants === undefined ? [] : [ask(`${base}${LAW_LINK_PATH}`), ...variants.map((variant) => ask(`${base}${NEAR_MISS_PATH}`, { headers: wireHeaders(variant) }))]),
  ]);
  const healthCheck = judgeHealth(health, target.name);
  if (!answered(healthCheck)) {
    // What did not answer /health did not answer the rest either: one root cause reads better than three.
    const because = `${target.name} did not answer GET /health`;
    return [healthCheck, notRun('law', because), notRun('readiness', because)];
  }
  if (variants === undefined) return [healthCheck, judgeLaw({ without, wrong, right }, N3XUS_LAW), judgeReadiness(ready)];
  const linked = blockedByTarget(without);
  const onService = linked !== undefined && linked.startsWith('/') && !linked.startsWith('//');
  const link = linked === undefined ? undefined : { path: linked, answer: linked === LAW_LINK_PATH || !onService ? lawLink! : await ask(`${base}${linked}`) };
  const nearMisses = variants.map((variant, i) => ({ variant, answer: nearAnswers[i]! }));
  return [healthCheck, judgeLaw({ without, wrong, right, nearMisses, ...(link ? { link } : {}) }, N3XUS_LAW), judgeReadiness(ready)];
}

/** A target's own checks; `onHealth` hears its first verdict (health, or the protocol check) as soon as it is known. */
async function probeTarget(ask: Ask, askReady: Ask, target: VerifyTarget, timeoutMs: number, variants: readonly HandshakeVariant[] | undefined, onHealth: (first: CheckResult) => void): Promise<CheckResult[]> {
  let checks: CheckResult[];
  try {
    if (target.kind === 'service') checks = await probeService(ask, askReady, target, variants, onHealth);
    else checks = [judgeProtocol(target.kind, await probeProtocol(target.kind, target.host, target.port, timeoutMs))];
  } catch (error) {
    checks = [checkError(target.kind === 'service' ? 'health' : 'protocol', error)];
  }
  onHealth(checks[0]!); // a no-op when it was heard already
  return checks;
}

/** The functional check once a service's health is known; not run when the service did not answer it. */
async function functionalAfter(run: (target: VerifyTarget) => Promise<CheckResult>, target: VerifyTarget, health: Promise<CheckResult>): Promise<CheckResult[]> {
  if (target.kind !== 'service') return [];
  if (!answered(await health)) return [notRun('functional', `${target.name} did not answer GET /health`)];
  return [await run(target).catch((error: unknown) => checkError('functional', error))];
}

/** Fails fast, before any probe, when the host name does not resolve. */
async function checkHostResolves(host: string): Promise<void> {
  if (isIP(host) !== 0) return;
  try {
    await lookup(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // The code says all there is to say; the resolver's own error would only repeat it.
    throw new VerifyUnavailableError(`Cannot verify: the host "${host}" does not resolve (${code}).`, ['Check --host, or give an IP address']);
  }
}

/** The inter-service checks of `full`, each attached to the service that carries it. */
function interServiceChecks(
  ask: Ask,
  targets: readonly VerifyTarget[],
  fleet: readonly VerifyFleetService[],
  own: ReadonlyMap<string, Promise<CheckResult[]>>,
  deliveryWaitMs: number,
  local: Promise<boolean>,
): Map<string, Promise<CheckResult>> {
  const checks = new Map<string, Promise<CheckResult>>();
  const byName = new Map(targets.map((t) => [t.name, t]));
  const fleetByName = new Map(fleet.map((s) => [s.name, s]));
  /** Waits for the named targets' health; the first that did not answer is why the flow cannot run. */
  const firstSilent = async (names: string[]): Promise<string | undefined> => {
    for (const name of names) {
      const health = (await own.get(name))?.[0];
      if (health !== undefined && !answered(health)) return name;
    }
    return undefined;
  };

  const gateway = byName.get('federation-gateway');
  const gatewayService = fleetByName.get('federation-gateway');
  if (gateway && gatewayService) {
    const peers = peerNames(gatewayService);
    const peer = peers.includes('identity-registry') ? 'identity-registry' : peers[0];
    checks.set(
      gateway.name,
      (async () => {
        if (peer === undefined) return notRun('route', `${gateway.name} has no peers in N3XUS_PEERS to route to`);
        const silent = await firstSilent([gateway.name, ...(byName.has(peer) ? [peer] : [])]);
        if (silent !== undefined) return notRun('route', `${silent} did not answer GET /health`);
        return checkRoute(ask, gateway, peer, LAWFUL);
      })().catch((error: unknown) => checkError('route', error)),
    );
  }

  const [bus, dispatcher, audit] = ['event-bus', 'webhook-dispatcher', 'audit-trail'].map((name) => byName.get(name));
  if (bus && dispatcher && audit) {
    checks.set(
      dispatcher.name,
      (async () => {
        const silent = await firstSilent([bus.name, dispatcher.name, audit.name]);
        if (silent !== undefined) return notRun('event-delivery', `${silent} did not answer GET /health`);
        // Processes have no service DNS names: they reach each other where the fleet publishes them, as verify does.
        // Elsewhere, the URL the dispatcher itself has for audit-trail (a peer: the only kind of fleet target it delivers to).
        const callersFirst = [...fleet.filter((s) => s.name === dispatcher.name), ...fleet.filter((s) => s.name !== dispatcher.name)];
        const auditUrl = (await local) ? audit.url : (internalUrl(callersFirst, 'audit-trail') ?? audit.url);
        return checkEventDelivery(ask, { bus, dispatcher, audit, auditUrlForDispatcher: auditUrl }, LAWFUL, deliveryWaitMs);
      })().catch((error: unknown) => checkError('event-delivery', error)),
    );
  }
  return checks;
}

/**
 * A short burst of `GET /health` per service: one request at a time per service (its one connection), every
 * service at once within the shared pool, so the fleet is measured under the load of the whole burst.
 */
async function burst(ask: Ask, target: VerifyTarget, requests: number): Promise<{ summary: LatencySummary; check: CheckResult }> {
  const durations: number[] = [];
  const failures: Array<{ code: CheckCode; what: string }> = [];
  for (let i = 0; i < requests; i++) {
    const answer = await ask(`${target.url}/health`);
    if (isFailure(answer)) failures.push({ code: failureCode(answer.kind), what: answer.message });
    else if (answer.status !== 200) failures.push({ code: 'bad-status', what: `HTTP ${answer.status}` });
    else durations.push(answer.durationMs);
  }
  const summary = summarizeLatency(target.name, durations, failures.length);
  const { name: _name, ...details } = summary;
  const message = `p50 ${summary.p50Ms} ms, p95 ${summary.p95Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms over ${summary.requests} requests`;
  const first = failures[0];
  const check: CheckResult = first
    ? { name: 'latency', status: 'fail', required: false, code: first.code, message: `${failures.length} of ${requests} requests failed (${first.what}); ${message}`, durationMs: 0, details }
    : { name: 'latency', status: 'pass', required: false, message, durationMs: 0, details };
  return { summary, check };
}

/** `GET /health` of every replica of each service that runs more than one, at the replica's own address. */
async function replicaChecks(ask: Ask, targets: readonly VerifyTarget[], state: ContainerState): Promise<Map<string, CheckResult>> {
  const checks = new Map<string, CheckResult>();
  await Promise.all(
    targets
      .filter((t) => t.kind === 'service' && (state.byService.get(t.name)?.replicas?.tasks.length ?? 0) > 1)
      .map(async (target) => {
        const tasks = state.byService.get(target.name)!.replicas!.tasks;
        const answers = await Promise.all(
          tasks.map(async (task) => ({ task: task.id, address: task.address ?? '(none)', answer: task.address === undefined ? { kind: 'refused' as const, message: 'the task has no address on the network', durationMs: 0 } : await ask(`http://${task.address}:${target.port}/health`) })),
        );
        checks.set(target.name, judgeReplicas(target.name, answers));
      }),
  );
  return checks;
}

/** Every target's checks, by target name, in the order they are reported. */
interface Collected {
  own: Map<string, CheckResult[]>;
  interService: Map<string, CheckResult>;
  /** `full`: each caller's declared calls (edges.ts). */
  calls: Map<string, CheckResult>;
  latency: Map<string, { summary: LatencySummary; check: CheckResult }>;
}

/** Runs the HTTP and TCP checks: each target's own, then (full) the inter-service flows and (bench) the burst. */
async function collect(
  ask: Ask,
  targets: readonly VerifyTarget[],
  fleet: readonly VerifyFleetService[],
  options: VerifyOptions,
  timeoutMs: number,
  instances: Promise<InstanceSource | undefined>,
  nearMissesFor: (service: string) => readonly HandshakeVariant[] | undefined,
): Promise<Collected> {
  const progress = options.onProgress ?? (() => {});
  const readinessLimit = pLimit(READINESS_CONCURRENCY);
  const askReady: Ask = (url, init) => readinessLimit(() => ask(url, init));
  // One run id per verification: the marker of what this run writes (see functional.ts).
  const runId = randomBytes(8).toString('hex');
  const functionalLimit = pLimit(FUNCTIONAL_CONCURRENCY);
  const functional = (target: VerifyTarget) => functionalLimit(() => checkFunctional(ask, target, runId, LAWFUL));
  // Each target's first verdict (health, or the protocol check), as soon as it is known: what needs a target to have
  // answered waits on this, not on all of its checks.
  const first = new Map<string, Promise<CheckResult[]>>();
  const ownChecks = (target: VerifyTarget): Promise<CheckResult[]> => {
    let heard!: (check: CheckResult) => void;
    const health = new Promise<CheckResult>((resolve) => (heard = resolve));
    first.set(target.name, health.then((check) => [check]));
    const own = probeTarget(ask, askReady, target, timeoutMs, nearMissesFor(target.name), heard);
    const functionalChecks = options.functional === false ? Promise.resolve([]) : functionalAfter(functional, target, health);
    return Promise.all([own, functionalChecks]).then(([checks, more]) => [...checks, ...more]);
  };
  let done = 0;
  const pending = new Map<string, Promise<CheckResult[]>>();
  for (const target of targets) {
    pending.set(
      target.name,
      ownChecks(target).then((checks) => {
        done += 1;
        progress({ type: 'target', name: target.name, passed: checks.every((c) => c.status === 'pass'), done, total: targets.length });
        return checks;
      }),
    );
  }
  const local = instances.then((source) => source?.kind === 'process');
  // Awaited only by a flow whose services answered; a failed lookup is reported through the container state.
  local.catch(() => {});
  const flows = options.mode === 'full' ? interServiceChecks(ask, targets, fleet, first, options.deliveryWaitMs ?? 5_000, local) : new Map<string, Promise<CheckResult>>();
  const calls = options.mode === 'full' ? callsChecks(ask, targets, fleet, first, LAWFUL) : new Map<string, Promise<CheckResult>>();
  if (flows.size + calls.size > 0) progress({ type: 'step', step: 'inter-service' });

  const collected: Collected = { own: new Map(), interService: new Map(), calls: new Map(), latency: new Map() };
  for (const [name, checks] of pending) collected.own.set(name, await checks);
  for (const [name, check] of flows) collected.interService.set(name, await check);
  for (const [name, check] of calls) collected.calls.set(name, await check);

  // The burst runs after the checks, so that it does not slow the answers the checks judge.
  if (options.bench) {
    progress({ type: 'step', step: 'bench' });
    const healthy = targets.filter((t) => t.kind === 'service' && collected.own.get(t.name)?.[0]?.status === 'pass');
    const results = await Promise.all(healthy.map((t) => burst(ask, t, options.benchRequests ?? 20)));
    healthy.forEach((t, i) => collected.latency.set(t.name, results[i]!));
  }
  return collected;
}

/**
 * Verifies a fleet and returns the report; whether it passed the gate is `report.passed`.
 * @throws FleetFileError for an unreadable fleet file; VerifyUnavailableError when nothing could be verified
 * (host does not resolve, nothing answered and no container found, or `docker: 'on'` without an engine).
 */
export async function verifyFleet(options: VerifyOptions): Promise<VerifyReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const host = options.host ?? DEFAULT_HOST;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const addressing = options.addressing ?? 'published';
  const fleet =
    options.fleet ??
    (await loadVerifyFleet(options.fleetFile, {
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
    }));
  const project = options.project ?? fleet.project ?? DEFAULT_PROJECT;
  const seed = options.seed ?? randomInt(0, MAX_SEED + 1);
  const sizeProblem = options.mode === 'sample' && options.sampleSize !== undefined ? sampleSizeProblem(options.sampleSize, fleet.services) : undefined;
  if (sizeProblem !== undefined) throw new InvalidVerifyArgumentError(`${sizeProblem}.`, ['Leave it out for one service per category, or use --full for every service.']);
  const targets = selectTargets(fleet.services, options.mode, host, addressing, { seed, ...(options.sampleSize === undefined ? {} : { size: options.sampleSize }) });
  if (addressing === 'published') await checkHostResolves(host);

  options.onProgress?.({ type: 'start', total: targets.length, mode: options.mode, host });
  const caller = options.caller === null ? undefined : (options.caller ?? (fleet.secretsFile === undefined ? undefined : (await import('../secrets/secrets-file.ts')).operatorCallerKey(fleet.secretsFile)));
  const pool = createAsk(options.concurrency ?? DEFAULT_CONCURRENCY, timeoutMs, caller);
  // Where the instances are listed is found out, and the engine (or the process driver's state) asked, once the
  // first answer is back: by then the probes are written and the services are at work on the other cores, while
  // the CLI loads Docker's client (~0.1 s of its CPU) and pings the engine.
  let answered!: () => void;
  const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
  const ask: Ask = (url, init) => pool.ask(url, init).finally(answered);
  const lookup = options.instances;
  const instances = firstAnswer.then(() => (typeof lookup === 'function' ? lookup(project) : lookup));
  // Every near miss in full mode; a few per service in a sample, drawn from the sample's seed.
  const variants = handshakeVariants(N3XUS_LAW);
  const nearMissesFor = (service: string) => (options.nearMisses === false ? undefined : options.mode === 'full' ? variants : sampleVariants(variants, seed, service));
  const collecting = collect(ask, targets, fleet.services, options, timeoutMs, instances, nearMissesFor);
  // Each target's container is compared with what launch would create from the fleet file (src/verify/drift.ts).
  const expected = fleet.services.filter((s) => targets.some((t) => t.name === s.name));
  const composeProject = composeProjectOf(fleet.file, options.project ?? fleet.project);
  const containers: Promise<ContainerState> = instances.then((source) => observeContainers(options.docker ?? 'auto', project, Math.max(timeoutMs, 5_000), host, source, expected, composeProject));
  containers.catch(() => {}); // awaited below; a rejection must not go unhandled while the probes run
  let collected: Collected;
  let state: ContainerState;
  let replicas: Map<string, CheckResult>;
  try {
    collected = await collecting;
    options.onProgress?.({ type: 'step', step: 'containers' });
    state = await containers;
    // Inside the network each replica has an address of its own, and each is asked; from outside, one is.
    replicas = addressing === 'network' ? await replicaChecks(ask, targets, state) : new Map<string, CheckResult>();
  } finally {
    pool.close();
  }

  const services: ServiceResult[] = targets.map((target) => {
    const checks = [...(collected.own.get(target.name) ?? [])];
    if (state.docker.used) checks.push(withDrift(judgeContainer(state.byService.get(target.name), target.name, project), state.drift.get(target.name)));
    const replicaCheck = replicas.get(target.name);
    if (replicaCheck) checks.push(replicaCheck);
    const interService = collected.interService.get(target.name);
    if (interService) checks.push(interService);
    const calls = collected.calls.get(target.name);
    if (calls) checks.push(calls);
    const burstResult = collected.latency.get(target.name);
    if (burstResult) checks.push(burstResult.check);
    return serviceResult(target, checks);
  });

  if (nothingAnswered(services, state.docker)) {
    const remote = host !== DEFAULT_HOST;
    throw new VerifyUnavailableError(
      `Cannot verify: nothing answered on ${host} (all ${services.length} targets refused the connection or timed out${state.docker.reason ? `; ${state.docker.reason}` : ''}).`,
      remote ? [`Check that ${host} is the fleet's host and that its ports are reachable from here`] : ['Launch the fleet first: n3xus launch', 'Or point at the fleet with --host and -f/--file'],
    );
  }
  const report = buildReport({
    mode: options.mode,
    host,
    fleetFile: fleet.file,
    startedAt,
    durationMs: performance.now() - t0,
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
    docker: state.docker,
    services,
    ...(options.bench ? { latency: slowestFirst([...collected.latency.values()].map((l) => l.summary)) } : {}),
    ...(options.mode === 'sample' ? { sample: { seed, size: targets.filter((t) => t.stage !== 'infra').length } } : {}),
    functional: options.functional === false ? { ran: false, reason: '--no-functional' } : { ran: true },
  });
  if (!options.escalate || options.mode !== 'sample' || report.passed) return report;
  // The sample failed: every service is checked before the verdict, and the report says which sample led here.
  const full = await verifyFleet({ ...options, mode: 'full', escalate: false, fleet });
  return { ...full, escalatedFrom: { seed, size: report.sample!.size, failed: report.services.filter((s) => !s.operational).map((s) => s.name) } };
}
