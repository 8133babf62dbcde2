/**
 * The watcher of `n3xus heal` (issue 14): every `intervalMs`, one sweep of the fleet from outside (the driver's list
 * of instances, and each service's liveness probe on its published port, as launch probes it), the pure decisions
 * of decide.ts, and the restarts they ask for, through the driver, dependencies first. Until `signal` aborts.
 */
import pLimit from 'p-limit';
import { instancesByService, type FleetDriver } from '../drivers/driver.ts';
import type { Fleet } from '../fleet/model.ts';
import { STAGES } from '../fleet/stages.ts';
import { desiredInstances } from '../launch/desired.ts';
import { probeService } from '../launch/health.ts';
import { sleep } from '../util/sleep.ts';
import { peerNames } from '../verify/targets.ts';
import { decide, DEFAULT_POLICY, type HealEvent, type Memory, type Observation, type Policy, type WatchedService } from './decide.ts';

/** A line of the watcher's output: a decision's event, a restart that failed, or a sweep's summary. */
export type WatchEvent = (HealEvent | { kind: 'restart-failed'; service: string; error: string } | { kind: 'no-instance'; service: string }) & { at: string };

export interface WatchOptions {
  fleet: Fleet;
  project: string;
  driver: FleetDriver;
  intervalMs: number;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  /** After each sweep: how many services answered, and how long the sweep took. */
  onSweep?: (sweep: { healthy: number; total: number; ms: number }) => void;
  policy?: Policy;
  /** Deadline of one probe; default 2000 ms. */
  probeTimeoutMs?: number;
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
  const emit = (event: HealEvent | { kind: 'restart-failed'; service: string; error: string } | { kind: 'no-instance'; service: string }) => options.onEvent({ ...event, at: new Date().toISOString() });
  while (!signal.aborted) {
    const started = performance.now();
    const byService = instancesByService(await driver.observe(project));
    const observed = new Map<string, Observation>();
    await Promise.all(
      desired.map((want) =>
        limit(async () => {
          const instance = byService.get(want.service.name);
          if (instance === undefined) return; // not seen: decide takes it as gone
          // Liveness only (GET /health, the servers' protocol): a service whose database is down is not restarted.
          const probe = await probeService(want, instance, options.probeTimeoutMs ?? 2_000, true);
          observed.set(want.service.name, { running: instance.running, healthy: probe.healthy, ...(instance.running ? {} : { exitCode: instance.exitCode }) });
        }),
      ),
    );
    if (signal.aborted) break;
    const decision = decide(services, observed, memory, Date.now(), options.policy ?? DEFAULT_POLICY);
    memory = decision.memory;
    for (const event of decision.events) emit(event);
    // One at a time, dependencies first (decide's order): a dependent is only restarted once they are.
    for (const name of decision.restart) {
      const instance = byService.get(name);
      if (instance === undefined) {
        emit({ kind: 'no-instance', service: name });
        continue;
      }
      try {
        if (instance.running) await driver.stop(instance.id, { timeoutS: 5 });
        await driver.start(instance.id);
      } catch (error) {
        emit({ kind: 'restart-failed', service: name, error: error instanceof Error ? error.message : String(error) });
      }
    }
    options.onSweep?.({ healthy: [...observed.values()].filter((o) => o.running && o.healthy).length, total: desired.length, ms: performance.now() - started });
    await sleep(options.intervalMs, signal);
  }
}
