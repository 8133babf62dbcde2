/**
 * The watcher of `n3xus heal` (issue 14): every `intervalMs`, one sweep of the fleet from outside (the driver's list
 * of instances, and each service's liveness probe on its published port, as launch probes it), the pure decisions
 * of decide.ts, and the restarts they ask for, through the driver, dependencies first. An instance that is gone
 * altogether is created again by launch's own executor, cut to those services. A sweep whose list fails (the engine
 * restarting) decides nothing: it is reported once, and the watcher goes on. Until `signal` aborts.
 */
import pLimit from 'p-limit';
import { instancesByService, type FleetDriver } from '../drivers/driver.ts';
import type { Fleet } from '../fleet/model.ts';
import { STAGES } from '../fleet/stages.ts';
import { desiredInstances } from '../launch/desired.ts';
import { probeService } from '../launch/health.ts';
import { launch } from '../launch/launch.ts';
import { planLaunch, restrictPlan } from '../plan/plan.ts';
import { sleep } from '../util/sleep.ts';
import { peerNames } from '../verify/targets.ts';
import { decide, DEFAULT_POLICY, type HealEvent, type Memory, type Observation, type Policy, type WatchedService } from './decide.ts';

/** What the watcher adds to decide.ts's events: what its restarts and recreations did, and the engine's outages. */
export type WatcherEvent =
  | HealEvent
  | { kind: 'restart-failed'; service: string; error: string }
  | { kind: 'recreated'; service: string }
  | { kind: 'recreate-failed'; service: string; error: string }
  /** The list of instances failed: nothing is decided until it answers again (`service` is empty). */
  | { kind: 'unreachable'; service: ''; error: string }
  | { kind: 'reachable'; service: ''; afterMs: number }
  /** Another command is changing the fleet (a launch): nothing is decided until it is done. */
  | { kind: 'paused'; service: ''; by: string }
  | { kind: 'resumed'; service: ''; afterMs: number }
  /** No instance of the project is left (taken down): nothing is created again until one is. */
  | { kind: 'fleet-gone'; service: '' };

/** A line of the watcher's output, with its time. */
export type WatchEvent = WatcherEvent & { at: string };

export interface WatchOptions {
  fleet: Fleet;
  project: string;
  driver: FleetDriver;
  intervalMs: number;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  /** After each sweep: whether each service ran and answered, and how long the sweep took. */
  onSweep?: (sweep: { up: ReadonlyMap<string, boolean>; ms: number }) => void;
  policy?: Policy;
  /** Deadline of one probe; default 2000 ms. */
  probeTimeoutMs?: number;
  /** The values of the fleet's secrets, which an instance created again needs (see LaunchOptions.secretValues). */
  secretValues?: ReadonlyMap<string, string>;
  /** How long an instance created again may take to be healthy; default 60000 ms. */
  healthTimeoutMs?: number;
  /** Asked before each sweep: what holds the fleet (a launch in progress), when something does; see watchers.ts. */
  heldBy?: () => string | undefined;
  /**
   * Holds the fleet while the watcher creates or restarts instances, so that a launch begun meanwhile waits instead
   * of creating the same ones; returns the release. See watchers.ts (takeLease).
   */
  hold?: (operation: string) => () => void;
}

/**
 * What each service depends on, for the order of restarts: every service but infra depends on the infra services
 * (PostgreSQL, Redis), and a service on the peers it calls that are in an earlier stage.
 */
export function dependencies(fleet: Fleet): WatchedService[] {
  const stageOf = new Map(fleet.services.map((s) => [s.name, STAGES.indexOf(s.stage)]));
  const infra = fleet.services.filter((s) => s.stage === 'infra').map((s) => s.name);
  return fleet.services.map((s) => ({
    name: s.name,
    stage: s.stage,
    dependsOn: s.stage === 'infra' ? [] : [...infra, ...peerNames(s).filter((peer) => (stageOf.get(peer) ?? Infinity) < STAGES.indexOf(s.stage))],
  }));
}

/** Watches until `signal` aborts; resolves then. */
export async function watch(options: WatchOptions): Promise<void> {
  const { fleet, project, driver, signal } = options;
  const services = dependencies(fleet);
  const desired = desiredInstances(fleet, project, fleet.services, new Map());
  const limit = pLimit(16);
  let memory = new Map<string, Memory>();
  /** Since when the list of instances fails, while it does. */
  let unreachableSince: number | undefined;
  const emit = (event: WatcherEvent) => options.onEvent({ ...event, at: new Date().toISOString() });
  /** Since when a lease held the fleet, while one does. */
  let pausedSince: number | undefined;
  /** The services seen with an instance since the watcher started: only those are watched (a launch of one phase). */
  const known = new Set<string>();
  let fleetGone = false;
  while (!signal.aborted) {
    const started = performance.now();
    const holder = options.heldBy?.();
    if (holder !== undefined) {
      if (pausedSince === undefined) emit({ kind: 'paused', service: '', by: holder });
      pausedSince ??= performance.now();
      await sleep(options.intervalMs, signal);
      continue;
    }
    if (pausedSince !== undefined) {
      emit({ kind: 'resumed', service: '', afterMs: Math.round(performance.now() - pausedSince) });
      // What it counted before the change no longer says anything about the instances launch left.
      memory = new Map();
      pausedSince = undefined;
    }
    let instances;
    try {
      instances = await driver.observe(project);
    } catch (error) {
      if (unreachableSince === undefined) emit({ kind: 'unreachable', service: '', error: error instanceof Error ? error.message : String(error) });
      unreachableSince ??= performance.now();
      await sleep(options.intervalMs, signal);
      continue;
    }
    if (unreachableSince !== undefined) emit({ kind: 'reachable', service: '', afterMs: Math.round(performance.now() - unreachableSince) });
    unreachableSince = undefined;
    if (instances.length === 0) {
      if (!fleetGone) emit({ kind: 'fleet-gone', service: '' });
      fleetGone = true;
      await sleep(options.intervalMs, signal);
      continue;
    }
    fleetGone = false;
    const byService = instancesByService(instances);
    for (const name of byService.keys()) known.add(name);
    const watched = desired.filter((d) => known.has(d.service.name));
    const observed = new Map<string, Observation>();
    await Promise.all(
      watched.map((want) =>
        limit(async () => {
          const instance = byService.get(want.service.name);
          if (instance === undefined) return; // not seen: decide takes it as gone
          // Liveness only (GET /health, the servers' protocol): a service whose database is down is not restarted.
          const probe = await probeService(want, instance, options.probeTimeoutMs ?? 2_000, true);
          // -1: the driver does not know how it ended (its whole process group was killed).
          observed.set(want.service.name, { running: instance.running, healthy: probe.healthy, ...(instance.running || instance.exitCode < 0 ? {} : { exitCode: instance.exitCode }) });
        }),
      ),
    );
    if (signal.aborted) break;
    const decision = decide(
      services.filter((s) => known.has(s.name)).map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => known.has(d)) })),
      observed,
      memory,
      Date.now(),
      options.policy ?? DEFAULT_POLICY,
    );
    memory = decision.memory;
    for (const event of decision.events) emit(event);
    if (decision.restart.length > 0) {
      // Held first, then asked again: a launch that began during the sweep (it holds the fleet too, or is waiting
      // for this hold) is not to be undone; the next sweep reports the pause.
      const release = options.hold?.(`n3xus heal, restarting ${decision.restart.length} service${decision.restart.length === 1 ? '' : 's'}`) ?? (() => undefined);
      try {
        if (options.heldBy?.() !== undefined) continue;
        // Gone altogether: launch creates them again, cut to those services, in stage order.
        const gone = decision.restart.filter((name) => !byService.has(name));
        if (gone.length > 0) await recreate(options, gone, emit);
        // One at a time, dependencies first (decide's order): a dependent is only restarted once they are.
        for (const name of decision.restart) {
          const instance = byService.get(name);
          if (instance === undefined) continue;
          try {
            if (instance.running) await driver.stop(instance.id, { timeoutS: 5 });
            await driver.start(instance.id);
          } catch (error) {
            emit({ kind: 'restart-failed', service: name, error: error instanceof Error ? error.message : String(error) });
          }
        }
      } finally {
        release();
      }
    }
    options.onSweep?.({ up: new Map(watched.map((d) => [d.service.name, observed.get(d.service.name)?.running === true && observed.get(d.service.name)?.healthy === true])), ms: performance.now() - started });
    await sleep(options.intervalMs, signal);
  }
}

/** Creates the instances of `services` again with launch's executor, which checks, orders and waits as it does. */
async function recreate(options: WatchOptions, services: string[], emit: (event: WatcherEvent) => void): Promise<void> {
  const { fleet, project, driver, signal } = options;
  try {
    const result = await launch({
      fleet,
      plan: restrictPlan(planLaunch(fleet), new Set(services)),
      driver,
      project,
      keepGoing: true,
      healthTimeoutMs: options.healthTimeoutMs ?? 60_000,
      signal,
      ...(options.secretValues === undefined ? {} : { secretValues: options.secretValues }),
    });
    const failed = new Map(result.failures.map((f) => [f.service, f.message]));
    for (const service of services) emit(failed.has(service) ? { kind: 'recreate-failed', service, error: failed.get(service)! } : { kind: 'recreated', service });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const service of services) emit({ kind: 'recreate-failed', service, error: message });
  }
}
