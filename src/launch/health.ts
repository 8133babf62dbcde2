/**
 * Is a service up yet, or has it failed? Judging is pure (from a listed instance and a probe answer); probing is
 * one HTTP request to the published port on 127.0.0.1. Docker's own healthcheck is not waited on for HTTP
 * services: its first check comes one whole interval after start (10 minutes for ours, to keep the idle fleet
 * cheap), while a probe answers as soon as the service does.
 */
import { HttpError, httpRequest } from '../http/client.ts';
import { HANDSHAKE_HEADER, LAW_EXIT_CODE, N3XUS_LAW } from '../../services/_kit/src/law.ts';
import type { DesiredInstance } from './desired.ts';
import type { Instance } from '../drivers/driver.ts';
import { probePostgres, probeRedis } from './tcp-probe.ts';

/** Why a service will not become healthy by waiting longer. */
export type FailureKind = 'exited' | 'law-violation' | 'unhealthy' | 'oom' | 'timeout' | 'create-failed' | 'start-failed';

/** What {@link instanceFailure} read from a listed instance. */
export interface InstanceFailure {
  kind: Exclude<FailureKind, 'timeout' | 'create-failed' | 'start-failed'>;
  exitCode?: number;
  reason: string;
}

/**
 * Reads a definite failure from an instance's state: stopped or dead (exit 45 is the runtime law), restarting
 * after a crash, OOM-killed, or unhealthy to the engine. Undefined while it may still come up.
 */
export function instanceFailure(instance: Instance): InstanceFailure | undefined {
  if (instance.oomKilled === true && !instance.running) return { kind: 'oom', exitCode: instance.exitCode, reason: `killed for using more than its memory limit (exit ${instance.exitCode})` };
  if (instance.status === 'exited' || instance.status === 'dead' || instance.status === 'restarting') {
    const how = instance.status === 'restarting' ? 'crashed and is being restarted' : instance.status === 'dead' ? 'is dead' : 'exited';
    if (instance.exitCode === LAW_EXIT_CODE) {
      return { kind: 'law-violation', exitCode: instance.exitCode, reason: `refused to start: its N3XUS_HANDSHAKE is missing or wrong (exit ${LAW_EXIT_CODE}, the runtime law)` };
    }
    return { kind: 'exited', exitCode: instance.exitCode, reason: `${how} (exit ${instance.exitCode})${instance.error === undefined ? '' : `: ${instance.error}`}` };
  }
  if (instance.health === 'unhealthy') return { kind: 'unhealthy', reason: 'its healthcheck failed (unhealthy)' };
  return undefined;
}

/** One look at a service: up, or not yet and why (for the timeout message). */
export interface ProbeResult {
  healthy: boolean;
  detail: string;
}

function briefBody(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

/**
 * `GET /ready` on 127.0.0.1:`hostPort`: 200 is up; 404 means the service has no readiness route, and `GET
 * /health` decides; anything else is "not yet", with the answer kept as the detail.
 */
export async function probeHttp(hostPort: number, timeoutMs: number, without: ReadonlySet<string> = new Set()): Promise<ProbeResult> {
  const base = `http://127.0.0.1:${hostPort}`;
  try {
    // With the handshake: without one, the kit's /ready says only up or down, and readyWithout needs to know
    // whether the migrations are complete (and a timeout message is better for the driver's error text).
    const ready = await httpRequest(`${base}/ready`, { timeoutMs, maxBodyBytes: 64 * 1024, headers: { [HANDSHAKE_HEADER]: N3XUS_LAW } });
    if (ready.status === 200) return { healthy: true, detail: 'ready' };
    const degraded = ready.status === 503 && without.size > 0 ? readyWithout(ready.body, without) : undefined;
    if (degraded !== undefined) return { healthy: true, detail: degraded };
    if (ready.status !== 404) return { healthy: false, detail: `GET /ready answered ${ready.status}: ${briefBody(ready.body)}` };
    const health = await httpRequest(`${base}/health`, { timeoutMs, maxBodyBytes: 64 * 1024 });
    return health.status === 200 ? { healthy: true, detail: 'healthy' } : { healthy: false, detail: `GET /health answered ${health.status}: ${briefBody(health.body)}` };
  } catch (error) {
    if (error instanceof HttpError) return { healthy: false, detail: error.kind === 'refused' ? `nothing listens on 127.0.0.1:${hostPort} yet` : error.message };
    throw error;
  }
}

/**
 * Reads a kit's `/ready` answer (503 `{checks: {postgres: {status}, redis: {status}}, migrations: {complete}}`):
 * when every dependency that is down is one the fleet does without (`without`, e.g. `redis`) and the migrations
 * are done, the service is as ready as it can be; says so, else undefined.
 */
export function readyWithout(body: string, without: ReadonlySet<string>): string | undefined {
  let parsed: { checks?: Record<string, { status?: string }>; migrations?: { complete?: boolean } };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  const down = Object.entries(parsed.checks ?? {}).filter(([, c]) => c.status !== 'up').map(([name]) => name);
  if (parsed.migrations?.complete !== true || down.length === 0 || !down.every((d) => without.has(d))) return undefined;
  return `ready without ${down.join(' and ')} (degraded)`;
}

/**
 * One look at `want`, given how it is listed now. `liveOnly` asks an HTTP service only `GET /health` (no database
 * round trip): enough to confirm that a fleet found up to date is still up, at a tenth of the cost. `without`
 * names the dependencies the fleet runs without (see {@link readyWithout}); a degraded instance is never healthy.
 */
export async function probeService(want: DesiredInstance, instance: Instance, timeoutMs: number, liveOnly = false, without: ReadonlySet<string> = new Set()): Promise<ProbeResult> {
  if (instance.degraded !== undefined) return { healthy: false, detail: `unavailable: ${instance.degraded}` };
  if (!instance.running) return { healthy: false, detail: `not running (${instance.status})` };
  if (want.probe === 'running') return { healthy: true, detail: 'running' };
  if (want.probe === 'docker') return { healthy: instance.health === 'healthy', detail: `engine healthcheck: ${instance.health ?? 'none yet'}` };
  if (want.probe === 'postgres') {
    const env = want.service.environment;
    return probePostgres(want.service.hostPort, env.POSTGRES_USER ?? 'postgres', env.POSTGRES_DB ?? env.POSTGRES_USER ?? 'postgres', timeoutMs);
  }
  if (want.probe === 'redis') return probeRedis(want.service.hostPort, timeoutMs);
  return liveOnly ? probeLive(want.service.hostPort, timeoutMs) : probeHttp(want.service.hostPort, timeoutMs, without);
}

/** `GET /health` on 127.0.0.1:`hostPort` answers 200. */
export async function probeLive(hostPort: number, timeoutMs: number): Promise<ProbeResult> {
  try {
    const health = await httpRequest(`http://127.0.0.1:${hostPort}/health`, { timeoutMs, maxBodyBytes: 64 * 1024 });
    return health.status === 200 ? { healthy: true, detail: 'alive' } : { healthy: false, detail: `GET /health answered ${health.status}: ${briefBody(health.body)}` };
  } catch (error) {
    if (error instanceof HttpError) return { healthy: false, detail: error.kind === 'refused' ? `nothing listens on 127.0.0.1:${hostPort}` : error.message };
    throw error;
  }
}
