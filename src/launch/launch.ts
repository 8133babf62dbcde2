/**
 * The launch executor: observe the project's instances by label, reconcile them with the plan, check the input,
 * then start stage by stage and wait for each service to be healthy. The decisions are made in reconcile.ts,
 * plan.ts and health.ts; this module carries them out and reports.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { Fleet, FleetService } from '../fleet/model.ts';
import type { Stage } from '../fleet/stages.ts';
import { selectionLabel, selectionText, type LaunchPlan, type PhaseSelection } from '../plan/plan.ts';
import { desiredInstances, desiredResources, NO_ADOPTED_NAMES, type DesiredInstance } from './desired.ts';
import { adoptedNames, adoptSteps, composeContainers } from './adopt.ts';
import { AdoptUnsupportedError, NothingToAdoptError } from './errors.ts';
import { degradedKinds, instancesByService, type FleetDriver, type Instance, type InstanceEvent } from '../drivers/driver.ts';
import { instanceFailure, probeService, type FailureKind } from './health.ts';
import { busyPorts, missingImages, PortBusyError, wrongHandshakes } from './prechecks.ts';
import { isNoOp, reconcile, type Reconciliation, type Step, type StepAction } from './reconcile.ts';
import { restartsDuringLaunch, type ServiceRestarts } from './restarts.ts';
import { sleep } from '../util/sleep.ts';

export interface LaunchOptions {
  fleet: Fleet;
  plan: LaunchPlan;
  driver: FleetDriver;
  project: string;
  /** Instances created or started at once inside a batch; default 8. Health waits do not take a slot. */
  concurrency?: number;
  /** How long one service may take from its start to healthy; default 120000 ms. */
  healthTimeoutMs?: number;
  /** Go on with the services that do not depend on a failed one; default false (stop after the failing batch). */
  keepGoing?: boolean;
  /** Report what would be done and change nothing. */
  dryRun?: boolean;
  /** Aborting stops scheduling: calls in flight finish, nothing new starts, and the result says `interrupted`. */
  signal?: AbortSignal;
  onEvent?: (event: LaunchEvent) => void;
  /** Log lines kept in a failure report; default 20. */
  logTailLines?: number;
  /** Pause between two probes of one service; default 300 ms. */
  probeIntervalMs?: number;
  /** Copies of a service, for drivers that run more than one (Swarm); default one each. */
  replicas?: ReadonlyMap<string, number>;
  /** Test seam for the host-port check. */
  isPortFree?: (port: number) => Promise<boolean>;
  /** The values of the fleet's secrets (compose secret name → value), read from their files; see desiredInstances. */
  secretValues?: ReadonlyMap<string, string>;
  /**
   * Runs once the infra stage is healthy and before any other service is started (the services' PostgreSQL roles
   * are created there); an error stops the launch with nothing further started.
   */
  beforeServices?: () => Promise<void>;
  /**
   * The project docker compose gives the fleet file (see composeProjectOf in src/fleet/project-name.ts). The
   * networks and volumes compose made for it are used in place of n3xus's own where those do not exist (see
   * adoptedNames in adopt.ts), and with `adopt` its containers are taken over.
   */
  composeProject?: string;
  /**
   * Take over the containers docker compose made for `composeProject`: each planned service compose runs is
   * replaced, in its stage's turn, by n3xus's own (see adoptSteps). None to take over is a NothingToAdoptError.
   */
  adopt?: boolean;
}

/** Why a service did not come up, and what it holds up. */
export interface LaunchFailure {
  service: string;
  stage: Stage;
  kind: FailureKind;
  /** One sentence: what happened. */
  message: string;
  exitCode?: number;
  oomKilled?: boolean;
  /** The last lines it printed. */
  logs: string[];
  /** The engine's last health check outputs, when it has a healthcheck. */
  healthLog?: string[];
  /** Planned services that depend on it (depends_on or calls, transitively). */
  blocks: string[];
}

/** `degraded`: the driver runs the fleet without it (see Instance.degraded); the services that need it go on. */
export type ServiceOutcome = 'healthy' | 'degraded' | 'failed' | 'blocked' | 'not-reached';

export interface ServiceReport {
  service: string;
  stage: Stage;
  /** Its seed phase (the catalog's `n3xus.phase`), where it has one. */
  phase?: number;
  action: StepAction;
  cause: string;
  outcome: ServiceOutcome;
  /** From the start of its stage to healthy, in milliseconds. */
  healthyAfterMs?: number;
}

export interface LaunchResult {
  project: string;
  driver: FleetDriver['kind'];
  /** Nothing needed doing: every service was up to date and healthy. */
  noOp: boolean;
  dryRun: boolean;
  interrupted: boolean;
  durationMs: number;
  stages: { stage: Stage; services: number; durationMs?: number }[];
  services: ServiceReport[];
  failures: LaunchFailure[];
  /**
   * The services whose instance exited while launch ran, other than by launch's own hand, and was restarted by its
   * restart policy (see restartsDuringLaunch): up at the end, perhaps, but not steady. Empty for a driver that cannot
   * tell (see FleetDriver.watchInstances) and for a dry run.
   */
  restarts: ServiceRestarts[];
  /** Services the fleet runs without, and why (see Instance.degraded). */
  degraded: { service: string; reason: string }[];
  /** What the driver says the user should know (see FleetDriver.notices). */
  notices: string[];
  orphans: { service: string; name: string }[];
  /** The reconciliation as text (see renderSteps). */
  changes: Reconciliation;
}

export type LaunchEvent =
  | { type: 'reconciled'; reconciliation: Reconciliation }
  | { type: 'stage-start'; stage: Stage; services: string[] }
  | { type: 'service-step'; service: string; stage: Stage; action: StepAction; cause: string }
  | { type: 'service-healthy'; service: string; stage: Stage; action: StepAction; afterMs: number }
  | { type: 'service-failed'; failure: LaunchFailure }
  | { type: 'service-degraded'; service: string; stage: Stage; reason: string }
  | { type: 'service-blocked'; service: string; stage: Stage; by: string[] }
  | { type: 'stage-done'; stage: Stage; durationMs: number; failed: number };

/**
 * Lists the project's instances for every waiter at once: one engine call per refresh, however many services are
 * waiting, instead of one inspect each. A waiter that has just started its instance asks for a list issued after
 * that ({@link InstanceWatch.mark}): a list already in flight was taken before the start and may still show the
 * instance exited from an earlier run.
 */
class InstanceWatch {
  readonly #driver: FleetDriver;
  readonly #project: string;
  /** The latest list, its sequence number (lists are numbered as they are issued) and when it was issued. */
  #byService = new Map<string, Instance>();
  #seq = 0;
  #at = 0;
  #issued = 0;
  #inflight: Promise<void> | undefined;

  constructor(driver: FleetDriver, project: string) {
    this.#driver = driver;
    this.#project = project;
  }

  /** A mark to pass to {@link get}: the lists issued so far are older than it. */
  mark(): number {
    return this.#issued;
  }

  /** The instance of `service`, from a list issued after `after` was marked and no longer than `maxAgeMs` ago. */
  async get(service: string, after: number, maxAgeMs: number): Promise<Instance | undefined> {
    for (;;) {
      if (this.#seq > after && Date.now() - this.#at <= maxAgeMs) return this.#byService.get(service);
      // One list at a time: a list in flight serves when it was issued after the mark; otherwise wait for it, then
      // issue a new one.
      if (this.#inflight !== undefined) {
        await this.#inflight;
        if (this.#seq > after) return this.#byService.get(service);
        continue;
      }
      const seq = ++this.#issued;
      const at = Date.now();
      this.#inflight = this.#driver
        .observe(this.#project)
        .then((list) => {
          this.#byService = instancesByService(list);
          this.#seq = seq;
          this.#at = at;
        })
        .finally(() => {
          this.#inflight = undefined;
        });
    }
  }
}

/** Services that need `name`, directly or not, through depends_on or calls. */
function dependentsOf(name: string, services: readonly FleetService[]): string[] {
  const found = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const s of services) {
      if (found.has(s.name) || s.name === name) continue;
      if (s.dependsOn.some((d) => d.name === current) || s.calls.includes(current)) {
        found.add(s.name);
        queue.push(s.name);
      }
    }
  }
  return [...found];
}

/** Earlier stages that `--phase` relies on and that are not healthy now. */
export class PrerequisiteError extends Error {
  override readonly name = 'PrerequisiteError';
  readonly code = 'PREREQUISITE_NOT_HEALTHY';
  readonly services: readonly { service: string; stage: Stage; detail: string }[];
  readonly suggestions: readonly string[];

  constructor(selection: PhaseSelection, services: readonly { service: string; stage: Stage; detail: string }[]) {
    const shown = services.slice(0, 5).map((s) => `${s.service} (${s.stage}: ${s.detail})`).join(', ');
    const label = selectionLabel(selection);
    const several = selection.kind === 'phases' && selection.from !== selection.to;
    super(
      `${label[0]!.toUpperCase()}${label.slice(1)} ${several ? 'rely' : 'relies'} on what starts before ${several ? 'them' : 'it'}, and ${services.length} of those services ${services.length === 1 ? 'is' : 'are'} not healthy: ${shown}${services.length > 5 ? ` and ${services.length - 5} more` : ''}. Nothing was started.`,
    );
    this.services = services;
    this.suggestions = [`Bring them up with it: n3xus launch --phase ${selectionText(selection)} --with-deps (or launch the whole fleet: n3xus launch).`];
  }
}

/**
 * Checks that every service before `selection` (`earlier`: see precedes in src/plan/plan.ts) runs and is healthy,
 * as `--phase` without `--with-deps` requires. Resolves when they are; rejects with a {@link PrerequisiteError}
 * naming those that are not.
 */
export async function checkPrerequisites(fleet: Fleet, selection: PhaseSelection, driver: FleetDriver, project: string, earlier: readonly FleetService[]): Promise<void> {
  if (earlier.length === 0) return;
  const observed = await driver.observe(project);
  const byService = instancesByService(observed);
  const desired = desiredInstances(fleet, project, earlier, new Map());
  const problems = (
    await Promise.all(
      desired.map(async (want) => {
        const instance = byService.get(want.service.name);
        if (instance === undefined) return { service: want.service.name, stage: want.service.stage, detail: 'not launched' };
        const probe = await probeService(want, instance, 2_000);
        return probe.healthy ? undefined : { service: want.service.name, stage: want.service.stage, detail: probe.detail };
      }),
    )
  ).filter((p) => p !== undefined);
  if (problems.length > 0) throw new PrerequisiteError(selection, problems);
}

/**
 * Launches (or converges) the planned part of the fleet. Throws before changing anything when the input is wrong
 * (a handshake that is not the law's, a missing image, a busy host port); otherwise returns a result whose
 * `failures` say what did not come up and why, and whose `restarts` name the services that restarted meanwhile.
 */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const { driver, project } = options;
  if (options.dryRun || driver.watchInstances === undefined) return { ...(await converge(options, new Set())), restarts: [] };
  // Watched from before the first start to the end: a service the engine restarted behind launch's back can be up
  // when launch looks at it, and would pass for healthy.
  const events: InstanceEvent[] = [];
  const stoppedByLaunch = new Set<string>();
  let broken: Error | undefined;
  const watching = new AbortController();
  await driver.watchInstances(project, { onEvent: (event) => events.push(event), onError: (error) => (broken ??= error), signal: watching.signal });
  try {
    const result = await converge(options, stoppedByLaunch);
    const restarts = restartsDuringLaunch(events, stoppedByLaunch, new Set(result.failures.map((f) => f.service)));
    const notices = broken === undefined ? result.notices : [...result.notices, `The engine's event stream broke during the launch (${broken.message}): a restart after that is not reported.`];
    return { ...result, notices, restarts };
  } finally {
    watching.abort();
  }
}

/**
 * The launch itself (see {@link launch}); each instance it stops or removes is added to `stoppedByLaunch` before
 * the call, so that its exit is not taken for a restart.
 */
async function converge(options: LaunchOptions, stoppedByLaunch: Set<string>): Promise<Omit<LaunchResult, 'restarts'>> {
  const startedAt = performance.now();
  const { fleet, plan, driver, project, signal } = options;
  const concurrency = options.concurrency ?? 8;
  const healthTimeoutMs = options.healthTimeoutMs ?? 120_000;
  const probeIntervalMs = options.probeIntervalMs ?? 300;
  const logTailLines = options.logTailLines ?? 20;
  const emit = (event: LaunchEvent): void => options.onEvent?.(event);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`Expected \`concurrency\` to be an integer from 1 up; got ${concurrency}`);
  // Every service waiting on its health sleeps on the signal at once (100 in a fleet): that is not a leak.
  if (signal !== undefined) setMaxListeners(Math.max(getMaxListeners(signal), fleet.services.length + 16), signal);

  const byName = new Map(fleet.services.map((s) => [s.name, s]));
  const planned = plan.stages.flatMap((s) => s.batches.flat()).map((name) => byName.get(name)!);

  const handshake = wrongHandshakes(planned);
  if (handshake) throw handshake;

  if (options.adopt && driver.composeState === undefined) throw new AdoptUnsupportedError(driver.kind);
  const composeProject = options.composeProject;
  const [observed, imageIds, compose] = await Promise.all([
    driver.observe(project),
    driver.resolveImages(planned.map((s) => s.image)),
    composeProject === undefined ? undefined : driver.composeState?.(composeProject),
  ]);
  // The containers compose runs for the planned services: what --adopt takes over.
  const composeMade = compose === undefined ? new Map<string, Instance>() : composeContainers(fleet, compose);
  const adopting = new Map([...composeMade].filter(([service]) => options.adopt && planned.some((s) => s.name === service)));
  if (options.adopt && adopting.size === 0) {
    const what = planned.length === fleet.services.length ? 'any service' : `any of the ${planned.length} services planned (${planned.map((p) => p.name).slice(0, 5).join(', ')}${planned.length > 5 ? ', …' : ''})`;
    throw new NothingToAdoptError(fleet.file, composeProject ?? project, what, [...composeMade.keys()]);
  }
  const missing = missingImages(planned, imageIds);
  if (missing) throw missing;
  const adopted = compose === undefined || composeProject === undefined ? NO_ADOPTED_NAMES : adoptedNames(fleet, project, composeProject, compose);
  const desired = desiredInstances(fleet, project, planned, new Map([...imageIds].filter((e): e is [string, string] => e[1] !== undefined)), options.replicas, options.secretValues, adopted);
  const wantByName = new Map(desired.map((d) => [d.service.name, d]));
  const reconciliation = adopting.size === 0 ? reconcile(desired, observed) : adoptSteps(reconcile(desired, observed), adopting, composeProject!);
  emit({ type: 'reconciled', reconciliation });
  const stepByName = new Map(reconciliation.steps.map((s) => [s.service, s]));

  const base = {
    project,
    driver: driver.kind,
    notices: driver.notices?.() ?? [],
    dryRun: options.dryRun ?? false,
    changes: reconciliation,
    orphans: reconciliation.orphans.map((o) => ({ service: o.service, name: o.name })),
  };
  const report = (step: Step, outcome: ServiceOutcome, healthyAfterMs?: number): ServiceReport => {
    const { stage, phase } = byName.get(step.service)!;
    return {
      service: step.service,
      stage,
      ...(phase === undefined ? {} : { phase }),
      action: step.action,
      cause: step.cause,
      outcome,
      ...(healthyAfterMs === undefined ? {} : { healthyAfterMs }),
    };
  };

  if (options.dryRun) {
    return {
      ...base,
      degraded: [],
      noOp: isNoOp(reconciliation),
      interrupted: false,
      durationMs: performance.now() - startedAt,
      stages: plan.stages.map((s) => ({ stage: s.stage, services: s.batches.flat().length })),
      services: reconciliation.steps.map((s) => report(s, 'not-reached')),
      failures: [],
    };
  }

  const observedByService = instancesByService(observed);
  const watch = new InstanceWatch(driver, project);
  // What the fleet does without (a degraded Redis): services are healthy when only that is missing from /ready.
  const without = degradedKinds(observed, (service) => wantByName.get(service)?.probe);
  const degradedSeen = new Map<string, string>();
  for (const [service, instance] of observedByService) if (instance.degraded !== undefined && wantByName.has(service)) degradedSeen.set(service, instance.degraded);
  const degradedReport = (): LaunchResult['degraded'] => [...degradedSeen].map(([service, reason]) => ({ service, reason }));

  // A fleet that is up to date and answering is left alone: one list, one liveness probe each, no change. Its
  // containers are the ones that were healthy when launched, PostgreSQL and Redis are asked by their protocol, and
  // each service answers /health; `n3xus verify` is the deeper check.
  if (isNoOp(reconciliation)) {
    const probes = await Promise.all(desired.map((want) => probeService(want, observedByService.get(want.service.name)!, 2_000, true, without)));
    if (probes.every((p, i) => p.healthy || observedByService.get(desired[i]!.service.name)?.degraded !== undefined)) {
      return {
        ...base,
        degraded: degradedReport(),
        noOp: true,
        interrupted: false,
        durationMs: performance.now() - startedAt,
        stages: plan.stages.map((s) => ({ stage: s.stage, services: s.batches.flat().length })),
        services: reconciliation.steps.map((s) => report(s, observedByService.get(s.service)?.degraded === undefined ? 'healthy' : 'degraded')),
        failures: [],
      };
    }
  }

  // Ports are checked for what will be (re)started; a port held by the service's own running container is not
  // busy for this purpose: it is freed when that container is removed.
  const toStart = reconciliation.steps.filter((s) => s.action !== 'keep' && !(s.action === 'recreate' && (observedByService.get(s.service) ?? adopting.get(s.service))?.running));
  const busy = driver.checkPorts !== undefined ? await driver.checkPorts(project) : await busyPorts(toStart.map((s) => byName.get(s.service)!), options.isPortFree);
  if (busy instanceof PortBusyError && driver.portHolders !== undefined) {
    // Name the containers that hold them (a fleet started by plain docker-compose, most often) and how to proceed.
    const holders = await driver.portHolders(busy.ports.map((p) => p.port));
    if (holders.size > 0) throw new PortBusyError(busy.ports.map((p) => ({ ...p, ...(holders.has(p.port) ? { container: holders.get(p.port)! } : {}) })));
  }
  if (busy) throw busy;

  await driver.prepare(desiredResources(fleet, project, planned, options.secretValues, adopted));
  const ours = (id: string): string => {
    stoppedByLaunch.add(id);
    return id;
  };
  for (const d of reconciliation.duplicates) await driver.remove(ours(d.containerId));

  const limit = pLimit(concurrency);
  const failures: LaunchFailure[] = [];
  const reports = new Map<string, ServiceReport>();
  const done = new Map<string, Promise<boolean>>();
  const stageReports: LaunchResult['stages'] = [];
  let stopped = false;

  const fail = async (want: DesiredInstance, kind: FailureKind, message: string, id: string | undefined, exitCode?: number): Promise<false> => {
    let details: Instance | undefined;
    let logs: string[] = [];
    if (id !== undefined) {
      details = await driver.inspect(id).catch(() => undefined);
      logs = await driver.logs(id, logTailLines).catch(() => []);
    }
    const failure: LaunchFailure = {
      service: want.service.name,
      stage: want.service.stage,
      kind,
      message,
      logs,
      blocks: dependentsOf(want.service.name, planned),
      ...(exitCode !== undefined ? { exitCode } : details && !details.running ? { exitCode: details.exitCode } : {}),
      ...(details?.oomKilled ? { oomKilled: true } : {}),
      ...(details?.healthLog && details.healthLog.length > 0 ? { healthLog: details.healthLog.slice(-3) } : {}),
    };
    // Restarting a container that breaks the runtime law cannot help: stop it, so its restart policy gives up.
    if (kind === 'law-violation' && id !== undefined) await driver.stop(ours(id), { timeoutS: 1 }).catch(() => undefined);
    failures.push(failure);
    reports.set(want.service.name, report(stepByName.get(want.service.name)!, 'failed'));
    emit({ type: 'service-failed', failure });
    return false;
  };

  const execute = async (want: DesiredInstance, step: Step): Promise<string> => {
    if (step.action === 'keep') return step.containerId!;
    if (step.action === 'start') {
      await driver.start(step.containerId!);
      return step.containerId!;
    }
    // An engine that can change an instance in place (a Swarm service update) does; the others recreate it.
    if (step.action === 'recreate' && driver.update !== undefined) return driver.update(step.containerId!, want);
    // A container compose made is stopped as compose stops it (PostgreSQL shuts down cleanly), then replaced.
    if (step.action === 'recreate' && adopting.get(want.service.name)?.id === step.containerId) await driver.stop(ours(step.containerId!), { timeoutS: 10 });
    if (step.action === 'recreate') await driver.remove(ours(step.containerId!));
    const id = await driver.create(want);
    try {
      await driver.start(id);
    } catch (error) {
      // A container that cannot start is removed, so nothing half-created stays behind.
      await driver.remove(ours(id)).catch(() => undefined);
      throw error;
    }
    return id;
  };

  const runService = async (want: DesiredInstance, stageStartedAt: number): Promise<boolean> => {
    const name = want.service.name;
    const step = stepByName.get(name)!;
    // What it depends on in this launch must be up first (other stages are, by the plan's order).
    const needed = want.service.dependsOn.filter((d) => done.has(d.name) && d.name !== name).map((d) => d.name);
    const upstream = await Promise.all(needed.map((d) => done.get(d)!));
    const failedDeps = needed.filter((_, i) => !upstream[i]);
    if (failedDeps.length > 0 || signal?.aborted || stopped) {
      const outcome: ServiceOutcome = failedDeps.length > 0 ? 'blocked' : 'not-reached';
      reports.set(name, report(step, outcome));
      if (failedDeps.length > 0) emit({ type: 'service-blocked', service: name, stage: want.service.stage, by: failedDeps });
      return false;
    }
    emit({ type: 'service-step', service: name, stage: want.service.stage, action: step.action, cause: step.cause });
    try {
      await limit(() => execute(want, step));
    } catch (error) {
      const kind: FailureKind = step.action === 'start' ? 'start-failed' : 'create-failed';
      return fail(want, kind, `could not ${step.action === 'keep' ? 'start' : step.action} its container: ${(error as Error).message}`, undefined);
    }
    const startedMark = watch.mark();
    const deadline = Date.now() + healthTimeoutMs;
    for (;;) {
      const instance = await watch.get(name, startedMark, 1_000);
      if (instance === undefined) return fail(want, 'exited', 'its container disappeared (removed by someone else?)', undefined);
      if (instance.degraded !== undefined) {
        degradedSeen.set(name, instance.degraded);
        without.add(want.probe);
        reports.set(name, report(step, 'degraded'));
        emit({ type: 'service-degraded', service: name, stage: want.service.stage, reason: instance.degraded });
        return true;
      }
      const failure = instanceFailure(instance);
      if (failure && failure.kind !== 'unhealthy') return fail(want, failure.kind, failure.reason, instance.id, failure.exitCode);
      const probe = await probeService(want, instance, 2_000, false, without);
      // The engine's "unhealthy" alone is not final: on a saturated machine its exec can time out while the
      // service answers. It is final when the probe agrees.
      if (failure && !probe.healthy) return fail(want, failure.kind, `${failure.reason}; ${probe.detail}`, instance.id);
      if (probe.healthy) {
        const afterMs = Math.round(performance.now() - stageStartedAt);
        reports.set(name, report(step, 'healthy', afterMs));
        emit({ type: 'service-healthy', service: name, stage: want.service.stage, action: step.action, afterMs });
        return true;
      }
      if (Date.now() > deadline) return fail(want, 'timeout', `not healthy after ${healthTimeoutMs} ms (last: ${probe.detail})`, instance.id);
      if (signal?.aborted) {
        reports.set(name, report(step, 'not-reached'));
        return false;
      }
      await sleep(probeIntervalMs, signal);
    }
  };

  let servicesPrepared = false;
  for (const stage of plan.stages) {
    const names = stage.batches.flat();
    if (stage.stage !== 'infra' && !servicesPrepared && !stopped && !signal?.aborted) {
      servicesPrepared = true;
      await options.beforeServices?.();
    }
    if (stopped || signal?.aborted) {
      for (const name of names) reports.set(name, report(stepByName.get(name)!, 'not-reached'));
      stageReports.push({ stage: stage.stage, services: names.length });
      continue;
    }
    const stageStartedAt = performance.now();
    emit({ type: 'stage-start', stage: stage.stage, services: names });
    const failedBefore = failures.length;
    for (const batch of stage.batches) {
      if (stopped || signal?.aborted) {
        for (const name of batch) reports.set(name, report(stepByName.get(name)!, 'not-reached'));
        continue;
      }
      const promises = batch.map((name) => {
        const promise = runService(wantByName.get(name)!, stageStartedAt);
        done.set(name, promise);
        return promise;
      });
      await Promise.all(promises);
      if (failures.length > failedBefore && !options.keepGoing) stopped = true;
    }
    const durationMs = Math.round(performance.now() - stageStartedAt);
    stageReports.push({ stage: stage.stage, services: names.length, durationMs });
    emit({ type: 'stage-done', stage: stage.stage, durationMs, failed: failures.length - failedBefore });
  }

  // Healthy once is not enough: a service that died after its probe passed (killed, crashed, OOM) and is not running
  // now would otherwise be reported healthy. One list at the end finds it; it is a failure like any other.
  if (!signal?.aborted) {
    const atEnd = instancesByService(await driver.observe(project));
    for (const [name, r] of reports) {
      if (r.outcome !== 'healthy') continue;
      const instance = atEnd.get(name);
      if (instance?.running) continue;
      const want = wantByName.get(name)!;
      const exit = instance === undefined || instance.exitCode < 0 ? '' : ` (exit ${instance.exitCode})`;
      await fail(want, 'exited', `it was healthy, then stopped before the launch ended${exit}: ${instance === undefined ? 'its instance is gone' : `now ${instance.status}`}`, instance?.id, instance === undefined || instance.exitCode < 0 ? undefined : instance.exitCode);
    }
  }

  return {
    ...base,
    degraded: degradedReport(),
    noOp: false,
    interrupted: signal?.aborted ?? false,
    durationMs: performance.now() - startedAt,
    stages: stageReports,
    services: reconciliation.steps.map((s) => reports.get(s.service) ?? report(s, 'not-reached')),
    failures,
  };
}
