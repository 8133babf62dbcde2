/**
 * The watcher's decisions (issue 14), pure: from one sweep of observations and what it remembers, which services to
 * restart now, which wait for a dependency, which are in a crash loop and backed off, and what to report. No I/O:
 * the watcher that probes and restarts (a driver's) feeds it and carries out what it returns.
 *
 * The rules:
 * - a service is restarted when it is gone (no running instance), or has failed `unhealthyAfter` sweeps in a row;
 * - a dependency comes first: a service whose dependency (an earlier stage's service it calls, or infra) is itself
 *   down waits for it, and is restarted only once the dependency answers again and it still does not;
 * - a service restarted `loopRestarts` times within `loopWindowMs` is in a crash loop: it is reported once, and
 *   each further restart waits `baseBackoffMs` after the last, doubling each time up to `maxBackoffMs`; a service
 *   healthy for `loopWindowMs` is forgiven its history.
 */
import { STAGES, type Stage } from '../fleet/stages.ts';

/** One service as the watcher knows it: its stage and what it depends on (by name). */
export interface WatchedService {
  name: string;
  stage: Stage;
  dependsOn: readonly string[];
}

/** What one sweep saw of a service. */
export interface Observation {
  /** An instance runs (a container, a task, a process). */
  running: boolean;
  /** It answered its health probe. */
  healthy: boolean;
  /** The exit code of its last instance, when it exited. */
  exitCode?: number;
}

/** What the watcher remembers of a service between sweeps. */
export interface Memory {
  /** Sweeps in a row that found it unhealthy or gone. */
  failing: number;
  /** When it was restarted, oldest first: within the loop window, or all of them while in a crash loop. */
  restarts: number[];
  /** It is in a crash loop, reported once (until it stays healthy for the loop window). */
  inLoop?: boolean;
  /** When it was first seen healthy since its last failure. */
  healthySince?: number;
}

export interface Policy {
  unhealthyAfter: number;
  loopRestarts: number;
  loopWindowMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_POLICY: Policy = { unhealthyAfter: 2, loopRestarts: 3, loopWindowMs: 60_000, baseBackoffMs: 10_000, maxBackoffMs: 300_000 };

/** What happened, one line each in the watcher's output. */
export type HealEvent =
  | { kind: 'restart'; service: string; reason: string }
  | { kind: 'waiting'; service: string; on: string }
  | { kind: 'crash-loop'; service: string; restarts: number; backoffMs: number; exitCode?: number }
  | { kind: 'backing-off'; service: string; untilMs: number }
  | { kind: 'recovered'; service: string };

export interface Decision {
  /** The services to restart now, dependencies first (stage order, then name). */
  restart: string[];
  events: HealEvent[];
  memory: Map<string, Memory>;
}

const stageIndex = (stage: Stage) => STAGES.indexOf(stage);

/** Services in restart order: by stage, then by name. */
function inOrder(services: readonly WatchedService[]): WatchedService[] {
  return [...services].sort((a, b) => stageIndex(a.stage) - stageIndex(b.stage) || a.name.localeCompare(b.name));
}

/** Decides one sweep. `observed` lacks a service that the sweep could not see at all: it is taken as gone. */
export function decide(services: readonly WatchedService[], observed: ReadonlyMap<string, Observation>, remembered: ReadonlyMap<string, Memory>, now: number, policy: Policy = DEFAULT_POLICY): Decision {
  const memory = new Map<string, Memory>();
  const events: HealEvent[] = [];
  const restart: string[] = [];
  const seenOf = (name: string): Observation => observed.get(name) ?? { running: false, healthy: false };
  const down = new Set(services.filter((s) => !seenOf(s.name).running || !seenOf(s.name).healthy).map((s) => s.name));
  for (const service of inOrder(services)) {
    const seen = seenOf(service.name);
    const before = remembered.get(service.name) ?? { failing: 0, restarts: [] };
    const inLoop = before.inLoop === true;
    const restarts = inLoop ? before.restarts : before.restarts.filter((at) => now - at < policy.loopWindowMs);
    if (!down.has(service.name)) {
      const healthySince = before.healthySince ?? now;
      // Back: it failed at the last sweep, or it was restarted since it was last seen healthy.
      if (before.failing > 0 || (before.healthySince === undefined && before.restarts.length > 0)) events.push({ kind: 'recovered', service: service.name });
      // Healthy for a whole loop window: its past restarts no longer count.
      const forgiven = now - healthySince >= policy.loopWindowMs;
      memory.set(service.name, forgiven ? { failing: 0, restarts: [], healthySince } : { failing: 0, restarts, healthySince, ...(inLoop ? { inLoop } : {}) });
      continue;
    }
    const failing = before.failing + 1;
    const next: Memory = { failing, restarts, ...(inLoop ? { inLoop } : {}) };
    memory.set(service.name, next);
    // Not yet: one failed probe of a running service can be a slow answer.
    if (seen.running && failing < policy.unhealthyAfter) continue;
    // A dependency first: this service is left alone while one it depends on is down.
    const waitingOn = service.dependsOn.find((name) => down.has(name));
    if (waitingOn !== undefined) {
      events.push({ kind: 'waiting', service: service.name, on: waitingOn });
      continue;
    }
    if (restarts.length >= policy.loopRestarts) {
      const backoffMs = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** (restarts.length - policy.loopRestarts));
      if (!inLoop) {
        events.push({ kind: 'crash-loop', service: service.name, restarts: restarts.length, backoffMs, ...(seen.exitCode === undefined ? {} : { exitCode: seen.exitCode }) });
        next.inLoop = true;
      }
      const due = restarts[restarts.length - 1]! + backoffMs;
      if (now < due) {
        events.push({ kind: 'backing-off', service: service.name, untilMs: due - now });
        continue;
      }
    }
    restart.push(service.name);
    memory.set(service.name, { ...next, failing: 0, restarts: [...restarts, now] });
    events.push({ kind: 'restart', service: service.name, reason: seen.running ? `unhealthy for ${failing} sweeps` : !observed.has(service.name) ? 'gone' : seen.exitCode === undefined ? 'stopped, exit code unknown' : `exited with code ${seen.exitCode}` });
  }
  return { restart, events, memory };
}
