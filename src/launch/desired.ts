/**
 * What a launch wants to exist: one container per service of the fleet, as the engine must create it. Pure: it
 * turns the fleet model (and the image IDs the engine resolved) into container specs, labels and probes.
 */
import { configHash } from '../fleet/config-hash.ts';
import type { Fleet, FleetHealthcheck, FleetService } from '../fleet/model.ts';
import type { ContainerSpec, HealthcheckSpec, MountSpec } from '../docker/types.ts';
import { containerName, STATE_LABELS } from './labels.ts';

/**
 * How launch decides a service is healthy:
 * - `http`: `GET /ready` on its published port answers 200 (the kit's readiness: migrated, PostgreSQL and Redis
 *   reachable), or `GET /health` does when the service has no `/ready`;
 * - `postgres`, `redis`: the server answers on its published port as pg_isready and `redis-cli ping` would (chosen
 *   when the infra service's healthcheck runs one of those tools);
 * - `docker`: the engine's own healthcheck says healthy (another infra service with a healthcheck);
 * - `running`: the container is running (an infra service without any healthcheck).
 */
export type ProbeKind = 'http' | 'postgres' | 'redis' | 'docker' | 'running';

/** One container a launch wants. */
export interface DesiredContainer {
  service: FleetService;
  /** `<project>-<service>`: one name per service, so two launches can never create two containers for it. */
  name: string;
  /** The service's config hash (see configHash); with {@link imageId}, what decides a recreate. */
  configHash: string;
  imageId: string;
  spec: ContainerSpec;
  probe: ProbeKind;
}

/** Networks and volumes a launch creates before any container, by the names the engine knows them. */
export interface DesiredResources {
  networks: { name: string; external: boolean; internal: boolean; labels: Record<string, string> }[];
  volumes: { name: string; external: boolean; labels: Record<string, string> }[];
}

/** Start-interval launch asks the engine for on `docker`-probed services, so their first check is not one whole interval away. */
export const START_INTERVAL_MS = 1_000;

/** The engine's name of a fleet network: its `name`, else compose's `<project>_<key>`. */
export function networkName(fleet: Fleet, project: string, key: string): string {
  return fleet.networks[key]?.name ?? `${project}_${key}`;
}

/** The engine's name of a fleet volume: its `name`, else compose's `<project>_<key>`. */
export function volumeName(fleet: Fleet, project: string, key: string): string {
  return fleet.volumes[key]?.name ?? `${project}_${key}`;
}

/** How launch probes `service`; see {@link ProbeKind}. */
export function probeKind(service: FleetService): ProbeKind {
  // PostgreSQL and Redis do not speak HTTP; their own checks (pg_isready, redis-cli ping) say when they accept work.
  if (service.stage === 'infra') {
    const test = service.healthcheck?.test ?? [];
    if (test.length === 0 || test[0] === 'NONE') return 'running';
    // Waiting on the engine costs a whole interval before its first check; the same question asked on the port does not.
    if (test.some((word) => /(^|\/)pg_isready\b/.test(word))) return 'postgres';
    if (test.some((word) => /(^|\/)redis-cli\b/.test(word))) return 'redis';
    return 'docker';
  }
  return 'http';
}

function healthSpec(check: FleetHealthcheck | undefined, probe: ProbeKind): HealthcheckSpec | undefined {
  // An empty test keeps the image's healthcheck, as compose does.
  if (check === undefined || check.test.length === 0) return undefined;
  return {
    test: check.test,
    intervalMs: check.intervalMs ?? 30_000,
    ...(check.timeoutMs === undefined ? {} : { timeoutMs: check.timeoutMs }),
    ...(check.retries === undefined ? {} : { retries: check.retries }),
    ...(check.startPeriodMs === undefined ? {} : { startPeriodMs: check.startPeriodMs }),
    ...(check.startIntervalMs !== undefined ? { startIntervalMs: check.startIntervalMs } : probe === 'docker' ? { startIntervalMs: START_INTERVAL_MS } : {}),
  };
}

function restartPolicy(restart: FleetService['restart']): NonNullable<ContainerSpec['restartPolicy']> {
  const onFailure = /^on-failure(?::(\d+))?$/.exec(restart);
  if (onFailure) return { name: 'on-failure', ...(onFailure[1] === undefined ? {} : { maximumRetryCount: Number(onFailure[1]) }) };
  return { name: restart as 'no' | 'always' | 'unless-stopped' };
}

function tmpfsMounts(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon < 0) out[entry] = '';
    else out[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return out;
}

/**
 * The container each service of `services` needs, in the order given. `imageIds` maps each service's image
 * reference to the ID the engine has for it (the caller checks that every image exists first).
 */
export function desiredContainers(fleet: Fleet, project: string, services: readonly FleetService[], imageIds: ReadonlyMap<string, string>): DesiredContainer[] {
  return services.map((service) => {
    const probe = probeKind(service);
    const hash = configHash(service);
    const imageId = imageIds.get(service.image) ?? '';
    const networkKey = service.networks[0] ?? 'default';
    const mounts: MountSpec[] = service.volumes.map((m) => ({
      type: m.type,
      ...(m.source === undefined ? {} : { source: m.type === 'volume' ? volumeName(fleet, project, m.source) : m.source }),
      target: m.target,
      readOnly: m.readOnly,
    }));
    const healthcheck = healthSpec(service.healthcheck, probe);
    const spec: ContainerSpec = {
      name: containerName(project, service.name),
      image: service.image,
      env: service.environment,
      labels: {
        ...service.labels,
        [STATE_LABELS.project]: project,
        [STATE_LABELS.service]: service.name,
        [STATE_LABELS.configHash]: hash,
        [STATE_LABELS.imageId]: imageId,
        [STATE_LABELS.driver]: 'docker',
      },
      publish: service.ports.filter((p) => p.protocol !== 'sctp').map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol as 'tcp' | 'udp' })),
      network: networkName(fleet, project, networkKey),
      networkAliases: [service.name],
      restartPolicy: restartPolicy(service.restart),
      readOnlyRootfs: service.readOnly,
      tmpfs: tmpfsMounts(service.tmpfs),
      capAdd: service.capAdd,
      capDrop: service.capDrop,
      securityOpt: service.securityOpt,
      mounts,
      ...(service.command === undefined ? {} : { cmd: service.command }),
      ...(service.user === undefined ? {} : { user: service.user }),
      ...(service.memLimitBytes === undefined ? {} : { memoryBytes: service.memLimitBytes }),
      ...(service.shmSizeBytes === undefined ? {} : { shmSizeBytes: service.shmSizeBytes }),
      ...(service.logging === undefined ? {} : { logConfig: { type: service.logging.driver ?? '', config: service.logging.options } }),
      ...(healthcheck === undefined ? {} : { healthcheck }),
    };
    return { service, name: spec.name!, configHash: hash, imageId, spec, probe };
  });
}

/** The networks and volumes the given services use, labelled with the project so down can find them. */
export function desiredResources(fleet: Fleet, project: string, services: readonly FleetService[]): DesiredResources {
  const label = { [STATE_LABELS.project]: project };
  const networkKeys = new Set(services.map((s) => s.networks[0] ?? 'default'));
  const volumeKeys = new Set(services.flatMap((s) => s.volumes.filter((m) => m.type === 'volume' && m.source !== undefined).map((m) => m.source!)));
  return {
    networks: [...networkKeys].map((key) => {
      const n = fleet.networks[key];
      return { name: networkName(fleet, project, key), external: n?.external ?? false, internal: n?.internal ?? false, labels: { ...(n?.labels ?? {}), ...label } };
    }),
    volumes: [...volumeKeys].map((key) => {
      const v = fleet.volumes[key];
      return { name: volumeName(fleet, project, key), external: v?.external ?? false, labels: { ...(v?.labels ?? {}), ...label } };
    }),
  };
}
