/**
 * A desired instance in Docker's words: the container spec the engine creates it from. Pure, so the translation is
 * unit-tested without an engine. Compose secrets are their files bind-mounted read-only at /run/secrets/<target>,
 * as docker compose mounts them outside Swarm; a credential the fleet file gave as environment stays environment.
 */
import type { FleetHealthcheck, FleetService } from '../../fleet/model.ts';
import type { ContainerSpec, HealthcheckSpec } from '../../docker/types.ts';
import type { DesiredInstance, ProbeKind } from '../../launch/desired.ts';
import { STATE_LABELS } from '../../launch/labels.ts';
import { SECRETS_MOUNT } from '../../fleet/service-files.ts';

/** Start-interval launch asks the engine for on `docker`-probed services, so their first check is not one whole interval away. */
export const START_INTERVAL_MS = 1_000;

/**
 * Start-interval of the other services (issue 14): their checks run every 15 minutes (see HEALTHCHECK), so without
 * it the engine shows a started or restarted service as "health: starting" for 15 minutes. Checked every 5 s while
 * starting, until the first check passes, the engine calls it healthy within ~5 s of it being so: one or two execs
 * (~0.14 CPU-s each) per start, not the 1 s interval's five or more on a saturated launch, and nothing idle.
 * Engines from API 1.44 use it; older ones (this project's machines: 1.41) ignore it, and `n3xus status` (its own
 * probe) or `n3xus heal`'s metrics are the early verdict there.
 */
export const HTTP_START_INTERVAL_MS = 5_000;

function healthSpec(check: FleetHealthcheck | undefined, probe: ProbeKind): HealthcheckSpec | undefined {
  // An empty test keeps the image's healthcheck, as compose does.
  if (check === undefined || check.test.length === 0) return undefined;
  return {
    test: check.test,
    intervalMs: check.intervalMs ?? 30_000,
    ...(check.timeoutMs === undefined ? {} : { timeoutMs: check.timeoutMs }),
    ...(check.retries === undefined ? {} : { retries: check.retries }),
    ...(check.startPeriodMs === undefined ? {} : { startPeriodMs: check.startPeriodMs }),
    startIntervalMs: check.startIntervalMs ?? (probe === 'docker' ? START_INTERVAL_MS : HTTP_START_INTERVAL_MS),
  };
}

function restartPolicy(restart: FleetService['restart']): NonNullable<ContainerSpec['restartPolicy']> {
  const onFailure = /^on-failure(?::(\d+))?$/.exec(restart);
  if (onFailure) return { name: 'on-failure', ...(onFailure[1] === undefined ? {} : { maximumRetryCount: Number(onFailure[1]) }) };
  return { name: restart as 'no' | 'always' | 'unless-stopped' };
}

/** `['/tmp', '/run:size=1m']` as the engine's tmpfs map: path to options (`''` for the defaults). */
export function tmpfsMounts(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon < 0) out[entry] = '';
    else out[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return out;
}

/** The container spec of `want`, labelled as the Docker driver's. */
export function containerSpec(want: DesiredInstance): ContainerSpec {
  const service = want.service;
  const healthcheck = healthSpec(service.healthcheck, want.probe);
  return {
    name: want.name,
    image: service.image,
    env: { ...want.env, ...Object.fromEntries(want.secrets.filter((s) => s.key !== undefined).map((s) => [s.key, s.value])) },
    labels: { ...want.labels, [STATE_LABELS.driver]: 'docker' },
    publish: want.ports,
    network: want.networks[0],
    ...(want.networks.length > 1 ? { extraNetworks: want.networks.slice(1) } : {}),
    networkAliases: want.aliases,
    restartPolicy: restartPolicy(service.restart),
    readOnlyRootfs: service.readOnly,
    tmpfs: tmpfsMounts(service.tmpfs),
    capAdd: service.capAdd,
    capDrop: service.capDrop,
    securityOpt: service.securityOpt,
    mounts: [...want.mounts, ...want.secrets.filter((s) => s.file !== undefined).map((s) => ({ type: 'bind' as const, source: s.file!, target: `${SECRETS_MOUNT}/${s.target}`, readOnly: true }))],
    ...(service.command === undefined ? {} : { cmd: service.command }),
    ...(service.user === undefined ? {} : { user: service.user }),
    ...(service.memLimitBytes === undefined ? {} : { memoryBytes: service.memLimitBytes }),
    ...(service.cpus === undefined ? {} : { nanoCpus: Math.round(service.cpus * 1e9) }),
    ...(service.pidsLimit === undefined ? {} : { pidsLimit: service.pidsLimit }),
    ...(service.shmSizeBytes === undefined ? {} : { shmSizeBytes: service.shmSizeBytes }),
    ...(service.logging === undefined ? {} : { logConfig: { type: service.logging.driver ?? '', config: service.logging.options } }),
    ...(healthcheck === undefined ? {} : { healthcheck }),
  };
}
