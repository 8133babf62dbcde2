/**
 * A desired instance in Swarm's words: the service spec (the engine API's own shape) the manager creates it from.
 * Pure, so the translation is unit-tested without an engine; docker/cli's `stack deploy` makes the same kind of
 * conversion from a compose file.
 */
import type { FleetService } from '../../fleet/model.ts';
import { credentialFileEnv, type DesiredInstance, type DesiredSecret } from '../../launch/desired.ts';
import { STATE_LABELS } from '../../launch/labels.ts';
import { tmpfsMounts } from '../docker/container-spec.ts';


/** The file a secret is mounted as under /run/secrets: its target (a credential's variable name in lower case, e.g. `database_url`). */
export function secretFile(secret: Pick<DesiredSecret, 'target'>): string {
  return secret.target;
}

/**
 * The node label that places a project's data services where their data is: those with a named volume, and the
 * infra stage (PostgreSQL, Redis), which every other service waits on and which keep their state on their node.
 */
export function dataNodeLabel(project: string): string {
  return `n3xus.${project}.data`;
}

/** What the translation needs besides the instance: the engine's IDs of its secrets, and who reads them. */
export interface ServiceSpecContext {
  /** Secret name to the engine's secret ID (see DesiredSecret.name). */
  secretIds: ReadonlyMap<string, string>;
  /** The user the image runs as (`USER`), for the owner of the secret files; '' for root. */
  imageUser: string;
}

const NS_PER_MS = 1_000_000;

/** `1000:1000` or `1000` as numeric owner IDs of a secret file; a user name (unknown IDs) reads as undefined. */
export function secretOwner(user: string): { uid: string; gid: string } | undefined {
  if (user === '') return { uid: '0', gid: '0' };
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  return match === null ? undefined : { uid: match[1]!, gid: match[2] ?? match[1]! };
}

/** `size=64m,mode=1777` as Swarm's tmpfs options. */
export function tmpfsOptions(options: string): { SizeBytes?: number; Mode?: number } {
  const out: { SizeBytes?: number; Mode?: number } = {};
  for (const option of options.split(',')) {
    const [key, value = ''] = option.split('=');
    const size = /^(\d+)([kmg]?)b?$/i.exec(value);
    if (key === 'size' && size) out.SizeBytes = Number(size[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[size[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
    if (key === 'mode' && /^[0-7]+$/.test(value)) out.Mode = Number.parseInt(value, 8);
  }
  return out;
}

function restartPolicy(restart: FleetService['restart']): Record<string, unknown> {
  // Swarm has no "unless-stopped": a service is stopped by scaling it to 0, so "any" is the same promise here.
  const onFailure = /^on-failure(?::(\d+))?$/.exec(restart);
  const delay = { Delay: 1_000 * NS_PER_MS };
  if (onFailure) return { Condition: 'on-failure', ...delay, ...(onFailure[1] === undefined ? {} : { MaxAttempts: Number(onFailure[1]) }) };
  return { Condition: restart === 'no' ? 'none' : 'any', ...delay };
}

/** Limits of each task: memory, CPUs (as nano-CPUs) and processes. */
function resources(service: FleetService): Record<string, unknown> {
  const limits: Record<string, number> = {};
  if (service.memLimitBytes !== undefined) limits.MemoryBytes = service.memLimitBytes;
  if (service.cpus !== undefined) limits.NanoCPUs = Math.round(service.cpus * 1e9);
  if (service.pidsLimit !== undefined) limits.Pids = service.pidsLimit;
  return Object.keys(limits).length === 0 ? {} : { Limits: limits };
}

/** The service spec of `want`, labelled as the Swarm driver's. */
export function serviceSpec(want: DesiredInstance, context: ServiceSpecContext): Record<string, unknown> {
  const service = want.service;
  const labels = { ...want.labels, [STATE_LABELS.driver]: 'swarm', [STATE_LABELS.replicas]: String(want.replicas) };
  const owner = secretOwner(service.user ?? context.imageUser);
  const secrets = want.secrets.map((s) => {
    const id = context.secretIds.get(s.name);
    if (id === undefined) throw new TypeError(`Secret ${s.name} of ${want.name} was not created first`);
    // Readable by the service's own user only. An image that starts as root (PostgreSQL's entrypoint reads the
    // file again after dropping to its own user) or a user given by name (IDs unknown here) gets a file every user
    // of its own container can read instead.
    const file = owner === undefined || owner.uid === '0' ? { Name: secretFile(s), UID: '0', GID: '0', Mode: 0o444 } : { Name: secretFile(s), UID: owner.uid, GID: owner.gid, Mode: 0o400 };
    return { SecretID: id, SecretName: s.name, File: file };
  });
  const env = Object.entries({ ...want.env, ...credentialFileEnv(want.secrets) }).map(([k, v]) => `${k}=${v}`);
  const mounts: Record<string, unknown>[] = want.mounts.map((m) =>
    m.type === 'tmpfs' ? { Type: 'tmpfs', Target: m.target } : { Type: m.type, ...(m.source === undefined ? {} : { Source: m.source }), Target: m.target, ReadOnly: m.readOnly },
  );
  for (const [target, options] of Object.entries(tmpfsMounts(service.tmpfs))) mounts.push({ Type: 'tmpfs', Target: target, TmpfsOptions: tmpfsOptions(options) });
  // A service spec has no shm size: a tmpfs at /dev/shm of that size is what the engine would mount.
  if (service.shmSizeBytes !== undefined) mounts.push({ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: service.shmSizeBytes } });
  const stateful = want.mounts.some((m) => m.type === 'volume') || want.service.stage === 'infra';
  return {
    Name: want.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: service.image,
        Labels: labels,
        ...(service.command === undefined ? {} : { Args: service.command }),
        Env: env,
        ...(service.user === undefined ? {} : { User: service.user }),
        ReadOnly: service.readOnly,
        Mounts: mounts,
        Secrets: secrets,
        ...(service.capAdd.length === 0 ? {} : { CapabilityAdd: service.capAdd }),
        ...(service.capDrop.length === 0 ? {} : { CapabilityDrop: service.capDrop }),
        // No healthcheck in the task. Swarm withholds a task's DNS name and virtual IP until its first check passes,
        // and an engine before API 1.44 runs that first check one whole interval after start (15 minutes with the
        // fleet's own interval, chosen because each check is an exec costing ~0.16 CPU-s, ~16 CPU-s per sweep of
        // 98 services). launch, status and verify ask each service from outside instead, through the loopback
        // gateway, which answers as soon as the service does and costs the fleet nothing while idle.
        Healthcheck: { Test: ['NONE'] },
        StopGracePeriod: 10_000 * NS_PER_MS,
      },
      Resources: resources(service),
      RestartPolicy: restartPolicy(service.restart),
      // A named volume lives on one node: the service that uses it (and the rest of infra) goes where the node label
      // says the project's data is.
      Placement: stateful ? { Constraints: [`node.labels.${dataNodeLabel(want.project)} == true`] } : {},
      Networks: want.networks.map((network) => ({ Target: network, Aliases: want.aliases })),
      ...(service.logging === undefined ? {} : { LogDriver: { Name: service.logging.driver ?? 'json-file', Options: service.logging.options } }),
    },
    Mode: { Replicated: { Replicas: want.replicas } },
    // One task at a time, the old one stopped first: a port or a volume is never held twice.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    // DNS round robin, not a virtual IP: the name resolves to the tasks' own addresses. A virtual IP needs the
    // kernel's IPVS, which this kind of machine lacks ("Could not get ipvs family information from the kernel"
    // in dockerd's log, and connections to the VIP fail with EHOSTUNREACH); DNS round robin works on every kernel
    // and across nodes, and a published port is never wanted here (see gateway.ts).
    EndpointSpec: { Mode: 'dnsrr' },
  };
}
