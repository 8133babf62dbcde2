/**
 * The state of a launched fleet, service by service: found by label, probed like launch probes, no change made.
 */
import pLimit from 'p-limit';
import type { Fleet } from '../fleet/model.ts';
import type { Stage } from '../fleet/stages.ts';
import { desiredInstances } from './desired.ts';
import { degradedKinds, instancesByService, type FleetDriver } from '../drivers/driver.ts';
import { probeService } from './health.ts';
import { launchedReplicas } from './labels.ts';
import { driftOf } from './reconcile.ts';
import { composeContainers } from './adopt.ts';
import type { WatcherEntry } from '../heal/watchers.ts';

export interface ServiceStatus {
  service: string;
  stage: Stage;
  /** `not launched` when no instance carries the service's label. */
  state: string;
  /** Whether it answers its probe now (launch's notion of healthy). */
  healthy: boolean;
  /** What the probe saw. */
  detail: string;
  /** The engine's own health verdict, when it has a healthcheck ("starting" until its first check). */
  engineHealth?: string;
  /** Host port on 127.0.0.1. */
  port: number;
  restarts?: number;
  /** Copies running and wanted, for a driver that runs several (Swarm). */
  replicas?: { running: number; desired: number };
  /** The node of each running copy, for a driver that places them on nodes (Swarm), sorted. */
  nodes?: string[];
  exitCode?: number;
  /** Seconds since it started, while it runs. */
  uptimeS?: number;
  configChanged: boolean;
  /** Set when docker compose made its container, not n3xus (`launch --adopt` takes it over). */
  managedBy?: 'compose';
}

export interface FleetStatus {
  project: string;
  services: ServiceStatus[];
  healthy: number;
  total: number;
  /** The compose project whose containers run services n3xus has not launched, and how many. */
  compose?: { project: string; containers: number };
  /** The watchers of the project (see src/heal/watchers.ts), when the command looked for them. */
  watchers?: WatcherEntry[];
  /** The driver that runs it: the process driver's fleet is expected to have a supervisor. */
  driver?: FleetDriver['kind'];
  /** What the driver says about where the fleet runs (see FleetDriver.statusNotes), when it says anything. */
  notes?: string[];
}

/**
 * One list call for all instances, then one inspect and one probe per instance, 16 at a time. A service without an
 * instance of n3xus's is looked for among the containers docker compose made for `composeProject` (one more list),
 * and shown as compose-managed.
 */
export async function fleetStatus(fleet: Fleet, project: string, driver: FleetDriver, options: { now?: () => number; composeProject?: string } = {}): Promise<FleetStatus> {
  const now = options.now ?? Date.now;
  const [instances, notes] = await Promise.all([driver.observe(project), driver.statusNotes?.(project) ?? []]);
  const byService = instancesByService(instances);
  const composeProject = options.composeProject;
  const compose =
    composeProject !== undefined && driver.composeState !== undefined && fleet.services.some((s) => !byService.has(s.name))
      ? [...composeContainers(fleet, await driver.composeState(composeProject))].filter(([service]) => !byService.has(service))
      : [];
  const composeMade = new Set(compose.map(([service]) => service));
  for (const [service, instance] of compose) byService.set(service, instance);
  // The copies each service was launched with, so that a service launched with several is not taken as changed.
  const replicas = new Map([...byService].map(([service, i]) => [service, launchedReplicas(i.labels)] as const).filter(([, n]) => n > 1));
  const desired = desiredInstances(fleet, project, fleet.services, new Map(), replicas);
  const without = degradedKinds(instances, (service) => desired.find((d) => d.service.name === service)?.probe);
  const limit = pLimit(16);
  const services = await Promise.all(
    desired.map((want) =>
      limit(async (): Promise<ServiceStatus> => {
        const base = { service: want.service.name, stage: want.service.stage, port: want.service.hostPort };
        const listed = byService.get(want.service.name);
        if (listed === undefined) return { ...base, state: 'not launched', healthy: false, detail: 'no container with its label', configChanged: false };
        const instance = await driver.inspect(listed.id).catch(() => listed);
        const managed = composeMade.has(want.service.name) ? { managedBy: 'compose' as const } : {};
        const probe = await probeService(want, instance, 2_000, false, without);
        const started = instance.startedAt === undefined ? undefined : Date.parse(instance.startedAt);
        return {
          ...base,
          state: instance.status,
          healthy: probe.healthy,
          detail: probe.detail,
          ...(instance.health === undefined ? {} : { engineHealth: instance.health }),
          ...(instance.restartCount === undefined ? {} : { restarts: instance.restartCount }),
          ...(instance.replicas === undefined ? {} : { replicas: { running: instance.replicas.running, desired: instance.replicas.desired } }),
          ...(runningNodes(instance).length === 0 ? {} : { nodes: runningNodes(instance) }),
          ...(instance.running ? {} : { exitCode: instance.exitCode }),
          ...(instance.running && started !== undefined && !Number.isNaN(started) ? { uptimeS: Math.max(0, Math.round((now() - started) / 1000)) } : {}),
          // The image is not compared: status resolves no image (want.imageId is ''), only the hash.
          // Compose's containers carry no config hash: they are n3xus's to take over, not changed.
          configChanged: managed.managedBy === undefined && driftOf(want, instance) !== undefined,
          ...managed,
        };
      }),
    ),
  );
  return {
    project,
    services,
    healthy: services.filter((s) => s.healthy).length,
    total: services.length,
    ...(composeMade.size > 0 ? { compose: { project: composeProject!, containers: composeMade.size } } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

const runningNodes = (instance: { replicas?: { tasks: { state: string; node?: string }[] } }): string[] =>
  (instance.replicas?.tasks ?? []).flatMap((t) => (t.state === 'running' && t.node !== undefined ? [t.node] : [])).sort();

function uptime(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** The status as a table, one row per service in stage order, then a summary line. */
export function renderStatus(status: FleetStatus): string {
  // Where each copy runs, for a fleet on nodes (Swarm): a column of its own, before the last.
  const placed = status.services.some((s) => s.nodes !== undefined);
  const header = ['SERVICE', 'STAGE', 'STATE', 'HEALTH', 'PORT', 'RESTARTS', ...(placed ? ['NODES'] : []), 'UPTIME'];
  const rows = status.services.map((s) => [
    s.service,
    s.stage,
    s.state + (s.managedBy === undefined ? '' : ', compose') + (s.exitCode === undefined ? '' : ` (${s.exitCode})`) + (s.replicas === undefined || (s.replicas.desired === 1 && s.replicas.running === 1) ? '' : ` ${s.replicas.running}/${s.replicas.desired}`),
    s.healthy ? 'healthy' : s.state === 'not launched' ? '-' : `no: ${s.detail}`,
    `127.0.0.1:${s.port}`,
    s.restarts === undefined ? '-' : String(s.restarts),
    ...(placed ? [s.nodes === undefined ? '-' : s.nodes.join(',')] : []),
    uptime(s.uptimeS) + (s.configChanged ? ' (config changed: launch recreates it)' : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min(r[i]!.length, 60))));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const compose =
    status.compose === undefined
      ? []
      : [
          `${status.compose.containers} of ${status.total} run in containers docker compose made (project ${status.compose.project}), not launched by n3xus: take them over with n3xus launch --adopt (their data is kept).`,
        ];
  return [line(header), ...rows.map(line), `${status.healthy} of ${status.total} healthy (project ${status.project})`, ...(status.notes ?? []), ...compose, ...renderWatchers(status)].join('\n');
}

/** Who keeps the fleet up: the supervisor of a process fleet, and any `n3xus heal` watching it. */
function renderWatchers(status: FleetStatus): string[] {
  if (status.watchers === undefined) return [];
  const lines = status.watchers.map(
    (w) =>
      `${w.supervisor ? 'supervisor' : 'watcher (n3xus heal)'}: running, pid ${w.pid}, every ${w.intervalMs / 1000} s since ${w.startedAt}${w.metricsPort === undefined ? '' : `, metrics at http://127.0.0.1:${w.metricsPort}/metrics`}${w.logFile === undefined ? '' : `, log ${w.logFile}`}`,
  );
  if (status.driver === 'process' && !status.watchers.some((w) => w.supervisor) && status.services.some((s) => s.state !== 'not launched')) {
    lines.push('supervisor: not running, so a process that crashes stays down; n3xus launch --driver process starts one (n3xus heal --driver process watches from a terminal).');
  }
  return lines;
}
