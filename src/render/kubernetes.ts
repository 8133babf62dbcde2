/**
 * The fleet as Kubernetes manifests: a pure translation of the fleet model, through the same engine-neutral desired
 * instances every driver starts from (src/launch/desired.ts), into the objects `kubectl apply -f DIR` creates, grouped
 * in the files they are written to. No cluster is asked anything: what is rendered is checked against the API's
 * schemas by the tests, not run.
 *
 * What the compose file says, and where it goes:
 * - the fleet's secrets (compose secrets and credentials given as environment) → Secrets, mounted read-only at
 *   /run/secrets/<target> as compose mounts them; a variable names the file (`<KEY>_FILE`), never the value;
 * - each microservice → a Deployment and a ClusterIP Service named after it (peers call `http://<name>:<port>`, as on
 *   the compose network), probed by the kubelet over HTTP: liveness on `/health`, readiness on `/ready`;
 * - a service with a named volume (PostgreSQL) → a StatefulSet with a volumeClaimTemplate per volume;
 * - `tmpfs` → memory-backed emptyDirs (the root file system is read-only), `shm_size` → one at /dev/shm;
 * - `cpus` and `mem_limit` → limits; the seed's per-container budget (0.1 core, a hundredth of 10 GiB) → requests;
 * - the stage order → init containers (see {@link waitTargets});
 * - `verify --full` → a Job of the CLI's image inside the namespace.
 */
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, IContainer, INamespace, IPodSpec, IProbe, ISecret, IService, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import { CPUS_PER_CONTAINER, MEMORY_PER_CONTAINER_BYTES } from '../bootstrap/checks.ts';
import { tmpfsMounts } from '../drivers/docker/container-spec.ts';
import { tmpfsOptions } from '../drivers/swarm/service-spec.ts';
import type { Fleet, FleetService } from '../fleet/model.ts';
import { SECRETS_MOUNT, SERVICE_UID } from '../fleet/service-files.ts';
import { STAGES, stageIndex } from '../fleet/stages.ts';
import { CLI_IMAGE, CLI_UID } from '../images/cli-image.ts';
import { credentialFileEnv, desiredInstances, type DesiredInstance, type DesiredSecret } from '../launch/desired.ts';
import { postgresService, redisService } from '../secrets/secrets-file.ts';
import { CodedError } from '../util/coded-error.ts';
import { encodeInput, NETWORK_INPUT_ENV } from '../verify/in-network.ts';
import { verifyServices } from '../verify/fleet-source.ts';
import { peerNames } from '../verify/targets.ts';
import { WAIT_SCRIPT, WAIT_SCRIPT_DIR, WAIT_SCRIPT_FILE, waitCommand } from './wait-script.ts';

/** One object of the output. */
export type KubernetesObject = INamespace | ISecret | IConfigMap | IService | IDeployment | IStatefulSet | INetworkPolicy | IJob;

/** One file of the output and the objects it holds, in the order `kubectl apply -f DIR` should create them. */
export interface ManifestFile {
  /** The file name: `NN-…yaml`, so that kubectl, which applies a directory's files in name order, creates the namespace first. */
  name: string;
  objects: KubernetesObject[];
  /** It holds secret values: written owner-only, and the one file to keep out of version control. */
  secret: boolean;
}

export interface KubernetesRenderInput {
  fleet: Fleet;
  /** The project: the `app.kubernetes.io/instance` label of every object. */
  project: string;
  /** The namespace everything goes in (an RFC 1123 label). */
  namespace: string;
  /** Every secret the services mount, by its compose name (see readSecretValues in src/secrets/provision.ts). */
  secretValues: ReadonlyMap<string, string>;
}

/** A fleet (or a namespace) that cannot be rendered as Kubernetes objects; the message names the service and why. */
export class RenderError extends CodedError {
  override readonly name = 'RenderError';
}

/** What each named volume's claim asks for: PostgreSQL's 98 schemas of small records fit many times over. */
export const DEFAULT_VOLUME_SIZE = '1Gi';

/** The name of the Job that runs `n3xus verify --full` in the namespace, and of the ConfigMap it reads. */
export const VERIFY_JOB = 'verify';
const VERIFY_INPUT = 'verify-input';
const VERIFY_INPUT_KEY = 'input.json';
/** Memory of the verify Job, as `verify --in-network` gives its container on Docker. */
const VERIFY_MEMORY_BYTES = 256 * 1024 ** 2;

/** The uid and gid PostgreSQL's images (the official one and n3xus/postgres) run the server as. */
export const POSTGRES_UID = 999;

/** The recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const K8S_LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The pod label that says what a pod is: PostgreSQL or Redis, a microservice, or the verify Job. */
type Component = 'infra' | 'service' | 'verify';

/** The annotation on each pod template whose change (a new secret value) makes its workload roll its pods. */
export const SECRETS_HASH_ANNOTATION = 'n3xus.secrets-hash';

/**
 * Probe timing. The compose file checks a service every 900 s because each Docker healthcheck is an exec costing
 * ~0.14 CPU-s; the kubelet's HTTP and TCP probes are a request from the node and cost next to nothing, so they run
 * every few seconds. A service may take {@link STARTUP_BUDGET_S} to answer at all (PostgreSQL's first start runs
 * initdb) before liveness counts.
 */
const PROBE = { periodS: 10, readyPeriodS: 5, startupPeriodS: 2, timeoutS: 5, failures: 3 } as const;
const STARTUP_BUDGET_S = 120;

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Service names are RFC 1035 labels: they must start with a letter. */
const RFC1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

const MI = 1024 ** 2;

/** `0.5` cores as `500m`. */
export function cpuQuantity(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}

/** Bytes as a quantity: `134217728` as `128Mi`, else Ki, else plain bytes. */
export function memoryQuantity(bytes: number): string {
  if (bytes % MI === 0) return `${bytes / MI}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(Math.round(bytes));
}

function checkNames(input: KubernetesRenderInput): void {
  if (!RFC1123_LABEL.test(input.namespace)) {
    throw new RenderError(`The namespace "${input.namespace}" is not a Kubernetes namespace name: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit.`, 'INVALID_ARGUMENT', [
      'Pass one with --namespace, e.g. --namespace n3xus',
    ]);
  }
  for (const service of input.fleet.services) {
    if (!RFC1035_LABEL.test(service.name)) {
      throw new RenderError(
        `${input.fleet.file}: service "${service.name}" cannot be a Kubernetes Service name (peers reach it by that name): lower-case letters, digits and "-", at most 63, starting with a letter.`,
        'INVALID_FLEET_FILE',
        ['Rename the service in the compose file.'],
      );
    }
  }
}

/** Where a secret lives in the cluster: which Secret, under which key, mounted as which file. */
interface SecretPlacement {
  secret: string;
  key: string;
  target: string;
}

/** The compose name of a secret (its source), or the variable of a credential given as environment. */
const identityOf = (s: DesiredSecret): string => s.source ?? s.key ?? s.target;

/** A name as an RFC 1123 label: `N3XUS_HANDSHAKE` as `n3xus-handshake`. */
const dnsName = (text: string): string => text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);

/**
 * Which Secret holds each secret: one that several services mount with one value (the handshake, the callers'
 * public keys) is a Secret of its own, named after it; the rest are each service's own, in `<service>-secrets`, so a
 * pod mounts only what is its.
 */
function placeSecrets(instances: readonly DesiredInstance[]): Map<DesiredInstance, SecretPlacement[]> {
  const users = new Map<string, { values: Set<string>; services: Set<string> }>();
  for (const want of instances) {
    for (const s of want.secrets) {
      const entry = users.get(identityOf(s)) ?? { values: new Set(), services: new Set() };
      entry.values.add(s.value);
      entry.services.add(want.service.name);
      users.set(identityOf(s), entry);
    }
  }
  const shared = (identity: string): boolean => {
    const entry = users.get(identity)!;
    return entry.services.size > 1 && entry.values.size === 1;
  };
  return new Map(
    instances.map((want) => [
      want,
      want.secrets.map((s) => {
        const key = identityOf(s);
        if (!SECRET_KEY.test(key)) {
          throw new RenderError(`The secret "${key}" of service "${want.service.name}" cannot be a key of a Kubernetes Secret: letters, digits, "-", "_" and "." only.`, 'INVALID_FLEET_FILE', ['Rename the secret in the compose file.']);
        }
        if (s.value === '') {
          throw new RenderError(`The secret "${key}" of service "${want.service.name}" has no value to render.`, 'SECRETS_INVALID', ["Write the fleet's secret files: n3xus bootstrap --fix."]);
        }
        return { secret: shared(key) ? dnsName(key) : `${want.service.name}-secrets`, key, target: s.target };
      }),
    ]),
  );
}

function secretObjects(instances: readonly DesiredInstance[], placements: ReadonlyMap<DesiredInstance, SecretPlacement[]>, meta: (name: string, component?: Component) => ObjectMeta): ISecret[] {
  const data = new Map<string, Record<string, string>>();
  for (const want of instances) {
    want.secrets.forEach((s, i) => {
      const place = placements.get(want)![i]!;
      const entries = data.get(place.secret) ?? {};
      entries[place.key] = Buffer.from(s.value, 'utf8').toString('base64');
      data.set(place.secret, entries);
    });
  }
  // The shared ones first, by name; then each service's, in fleet order.
  const own = new Set(instances.map((want) => `${want.service.name}-secrets`));
  const names = [...[...data.keys()].filter((n) => !own.has(n)).sort(), ...[...data.keys()].filter((n) => own.has(n))];
  return names.map((name) => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta(name), type: 'Opaque', data: data.get(name)! }));
}

type ObjectMeta = { name: string; namespace: string; labels: Record<string, string> };

/**
 * What a pod waits for before it starts, so the stage order holds as launch keeps it: PostgreSQL and Redis
 * accepting connections; every service of the stage before its own answering `/ready` (so a stage starts only once
 * the one before it is ready, and by induction all before it); and the peers it calls in earlier stages. Peers of
 * its own stage are not waited for: launch starts a stage's services together, and two that call each other
 * would wait for each other for ever.
 */
export function waitTargets(fleet: Fleet, service: FleetService): string[] {
  if (service.stage === 'infra') return [];
  const infra = fleet.services.filter((s) => s.stage === 'infra').map((s) => `tcp://${s.name}:${s.port}`);
  const index = stageIndex(service.stage);
  const earlier = STAGES.slice(1, index).filter((stage) => fleet.services.some((s) => s.stage === stage));
  const previous = earlier.at(-1);
  const ready = (s: FleetService): string => `http://${s.name}:${s.port}/ready`;
  const byName = new Map(fleet.services.map((s) => [s.name, s]));
  const peers = peerNames(service)
    .map((name) => byName.get(name))
    .filter((peer): peer is FleetService => peer !== undefined && peer.stage !== 'infra' && stageIndex(peer.stage) < index);
  const stage = previous === undefined ? [] : fleet.services.filter((s) => s.stage === previous);
  return [...new Set([...infra, ...stage.map(ready), ...peers.map(ready)])];
}

/** The numeric user and group a service runs as: the compose file's `user`, else what its image is known to run as. */
function runAs(fleet: Fleet, service: FleetService): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(service.user ?? '');
  if (match !== null) return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
  // PostgreSQL's entrypoint starts as root only to chown its directories and drop to uid 999; started as 999 with
  // the volume's group set to 999 (fsGroup), it skips that step and runs initdb in PGDATA, a directory of the volume.
  if (service === postgresService(fleet)) return { uid: POSTGRES_UID, gid: POSTGRES_UID };
  // Every microservice image runs as the kit's user (the generated Dockerfile's USER).
  if (service.stage !== 'infra' && service.user === undefined) return { uid: SERVICE_UID, gid: SERVICE_UID };
  throw new RenderError(
    `${fleet.file}: service "${service.name}" has no numeric user${service.user === undefined ? '' : ` ("${service.user}")`}: the restricted Pod Security profile needs one that is not root.`,
    'INVALID_FLEET_FILE',
    ['Give it one in the compose file, e.g. user: "1000:1000".'],
  );
}

/** Capabilities the restricted profile lets a container add: none but this one. */
const ALLOWED_CAPABILITIES = ['NET_BIND_SERVICE'];

function capabilitiesToAdd(fleet: Fleet, service: FleetService): string[] {
  // PostgreSQL's are for its start as root (chown, then setuid to postgres), which a pod started as 999 skips.
  if (service === postgresService(fleet)) return [];
  const refused = service.capAdd.filter((c) => !ALLOWED_CAPABILITIES.includes(c));
  if (refused.length > 0) {
    throw new RenderError(`${fleet.file}: service "${service.name}" adds the capabilities ${refused.join(', ')}, which the restricted Pod Security profile does not allow.`, 'INVALID_FLEET_FILE', [
      `Remove them from its cap_add (only ${ALLOWED_CAPABILITIES.join(', ')} is allowed).`,
    ]);
  }
  return service.capAdd.filter((c) => ALLOWED_CAPABILITIES.includes(c));
}

/** The ConfigMap that holds the init containers' wait script, and the volume and mount that bring it in. */
const WAIT_CONFIG_MAP = 'wait-script';
const waitVolume: IVolume = { name: WAIT_CONFIG_MAP, configMap: { name: WAIT_CONFIG_MAP, defaultMode: 0o444 } };

/** An init container that holds its pod back until `targets` answer, run by node from `image` (see wait-script.ts). */
function waitContainer(name: string, image: string, targets: readonly string[], resources: IContainer['resources']): IContainer {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: waitCommand(targets),
    resources,
    securityContext: containerSecurity(),
    volumeMounts: [{ name: WAIT_CONFIG_MAP, mountPath: WAIT_SCRIPT_DIR, readOnly: true }],
  };
}

/** The restricted profile, for every container: no escalation, no capabilities, a read-only root, not root. */
function containerSecurity(add: readonly string[] = []): NonNullable<IContainer['securityContext']> {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'], ...(add.length === 0 ? {} : { add: [...add] }) } };
}

function podSecurity(user: { uid: number; gid: number }, stateful: boolean): NonNullable<IPodSpec['securityContext']> {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    // Secret files (mode 0440) and volumes are the pod's group's, so the service's own user reads them.
    fsGroup: user.gid,
    // A data volume is chowned to the group only when its top is not already: not a walk through every file at each start.
    ...(stateful ? { fsGroupChangePolicy: 'OnRootMismatch' } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Requests from the seed's budget per container, limits from the compose file, each request at most its limit. */
function resources(service: FleetService): NonNullable<IContainer['resources']> {
  const cpu = Math.min(CPUS_PER_CONTAINER, service.cpus ?? Infinity);
  const memory = Math.min(Math.floor(MEMORY_PER_CONTAINER_BYTES / MI) * MI, service.memLimitBytes ?? Infinity);
  return {
    requests: { cpu: cpuQuantity(cpu), memory: memoryQuantity(memory) },
    limits: {
      ...(service.cpus === undefined ? {} : { cpu: cpuQuantity(service.cpus) }),
      ...(service.memLimitBytes === undefined ? {} : { memory: memoryQuantity(service.memLimitBytes) }),
    },
  };
}

/** A probe's command from a compose healthcheck test: `CMD` argv as is, `CMD-SHELL` through /bin/sh. */
function execCommand(test: readonly string[]): string[] | undefined {
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL' && test[1] !== undefined) return ['/bin/sh', '-c', test[1]];
  return undefined;
}

/**
 * The kubelet's probes. A microservice: startup and liveness on `GET /health`, readiness on `GET /ready` (the kit's:
 * migrated, PostgreSQL and Redis answering). PostgreSQL: readiness by its compose healthcheck (pg_isready), which
 * tells a server still starting from one that accepts work; liveness by TCP. Redis and any other infra service:
 * TCP (Redis accepts connections once it serves; it has nothing to load).
 */
function probes(want: DesiredInstance, portName: string): Pick<IContainer, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
  const check = want.service.healthcheck;
  const timeoutSeconds = Math.min(PROBE.timeoutS, Math.ceil((check?.timeoutMs ?? PROBE.timeoutS * 1000) / 1000));
  const failureThreshold = check?.retries ?? PROBE.failures;
  const timing = { timeoutSeconds, failureThreshold };
  const startup = { periodSeconds: PROBE.startupPeriodS, timeoutSeconds, failureThreshold: Math.ceil(STARTUP_BUDGET_S / PROBE.startupPeriodS) };
  if (want.probe === 'http') {
    const get = (path: string): IProbe['httpGet'] => ({ path, port: portName, scheme: 'HTTP' });
    return {
      startupProbe: { httpGet: get('/health'), ...startup },
      livenessProbe: { httpGet: get('/health'), periodSeconds: PROBE.periodS, ...timing },
      readinessProbe: { httpGet: get('/ready'), periodSeconds: PROBE.readyPeriodS, ...timing },
    };
  }
  const tcp = { tcpSocket: { port: portName } };
  const command = (want.probe === 'postgres' || want.probe === 'docker') && check !== undefined ? execCommand(check.test) : undefined;
  return {
    startupProbe: { ...tcp, ...startup },
    livenessProbe: { ...tcp, periodSeconds: PROBE.periodS, ...timing },
    // An exec costs what a Docker healthcheck costs: every 10 s, not 5.
    readinessProbe: command === undefined ? { ...tcp, periodSeconds: PROBE.readyPeriodS, ...timing } : { exec: { command }, periodSeconds: PROBE.periodS, ...timing },
  };
}

/** The pod's volumes and the main container's mounts: secrets, tmpfs, shm, named volumes (claims, by their key). */
function storage(fleet: Fleet, want: DesiredInstance, placements: readonly SecretPlacement[]): { volumes: IVolume[]; mounts: IVolumeMount[]; claims: string[] } {
  const service = want.service;
  const volumes: IVolume[] = [];
  const mounts: IVolumeMount[] = [];
  const claims: string[] = [];
  if (placements.length > 0) {
    const bySecret = new Map<string, { key: string; path: string }[]>();
    for (const p of placements) bySecret.set(p.secret, [...(bySecret.get(p.secret) ?? []), { key: p.key, path: p.target }]);
    const sources = [...bySecret].map(([name, items]) => ({ secret: { name, items } }));
    volumes.push({ name: 'secrets', projected: { defaultMode: 0o440, sources } });
    mounts.push({ name: 'secrets', mountPath: SECRETS_MOUNT, readOnly: true });
  }
  const memoryDir = (name: string, target: string, sizeBytes?: number): void => {
    volumes.push({ name, emptyDir: { medium: 'Memory', ...(sizeBytes === undefined ? {} : { sizeLimit: memoryQuantity(sizeBytes) }) } });
    mounts.push({ name, mountPath: target });
  };
  for (const [target, options] of Object.entries(tmpfsMounts(service.tmpfs))) memoryDir(`tmpfs-${dnsName(target) || 'root'}`, target, tmpfsOptions(options).SizeBytes);
  if (service.shmSizeBytes !== undefined) memoryDir('shm', '/dev/shm', service.shmSizeBytes);
  service.volumes.forEach((m, i) => {
    if (m.type === 'bind') {
      throw new RenderError(`${fleet.file}: service "${service.name}" bind-mounts ${m.source ?? 'a path'} of this machine, which no node of a cluster has.`, 'INVALID_FLEET_FILE', [
        'Use a named volume or tmpfs in the compose file.',
      ]);
    }
    if (m.type === 'tmpfs') return memoryDir(`tmpfs-${dnsName(m.target) || 'root'}`, m.target);
    const name = m.source === undefined ? `volume-${i}` : dnsName(m.source);
    if (m.source === undefined) volumes.push({ name, emptyDir: {} });
    else claims.push(name);
    mounts.push({ name, mountPath: m.target, ...(m.readOnly ? { readOnly: true } : {}) });
  });
  return { volumes, mounts, claims };
}

/** The pod of one instance: its wait for the stages before it, its container, its volumes, the restricted profile. */
function podSpec(fleet: Fleet, want: DesiredInstance, placements: readonly SecretPlacement[]): { spec: IPodSpec; claims: string[] } {
  const service = want.service;
  const user = runAs(fleet, service);
  const { volumes, mounts, claims } = storage(fleet, want, placements);
  const portName = want.probe === 'http' ? 'http' : 'tcp';
  const env = { ...want.env, ...credentialFileEnv(want.secrets) };
  const limits = resources(service);
  const targets = waitTargets(fleet, service);
  const postgres = service === postgresService(fleet);
  const main: IContainer = {
    name: service.name,
    image: service.image,
    imagePullPolicy: 'IfNotPresent',
    ...(service.command === undefined ? {} : { args: [...service.command] }),
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    ports: [{ name: portName, containerPort: service.port, protocol: 'TCP' }],
    ...probes(want, portName),
    // PostgreSQL is stopped by the kubelet's SIGTERM in "smart" mode, which waits for all 98 pools to disconnect;
    // a fast shutdown first (what its image's STOPSIGNAL SIGINT asks of Docker) stops it cleanly within the grace.
    ...(postgres ? { lifecycle: { preStop: { exec: { command: ['pg_ctl', '-D', service.environment.PGDATA ?? '/var/lib/postgresql/data', '-m', 'fast', '-w', 'stop'] } } } } : {}),
    resources: limits,
    securityContext: containerSecurity(capabilitiesToAdd(fleet, service)),
    volumeMounts: mounts,
  };
  const spec: IPodSpec = {
    // No API token and no variables for the namespace's 100 Services (REDIS_PORT=tcp://… would be among them).
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(user, claims.length > 0),
    ...(targets.length === 0 ? {} : { initContainers: [waitContainer('wait-for-earlier-stages', service.image, targets, limits)] }),
    containers: [main],
    ...(postgres ? { terminationGracePeriodSeconds: 60 } : {}),
    ...(volumes.length === 0 && targets.length === 0 ? {} : { volumes: [...volumes, ...(targets.length === 0 ? [] : [waitVolume])] }),
  };
  return { spec, claims };
}

/** Renders the fleet as Kubernetes objects, by file (see {@link ManifestFile}); pure and deterministic. */
export function renderKubernetes(input: KubernetesRenderInput): ManifestFile[] {
  checkNames(input);
  const { fleet, project, namespace } = input;
  const base = { [K8S_LABELS.partOf]: 'n3xus', [K8S_LABELS.instance]: project, [K8S_LABELS.managedBy]: 'n3xus' };
  const meta = (name: string, component?: Component, extra: Record<string, string> = {}): ObjectMeta => ({
    name,
    namespace,
    labels: { [K8S_LABELS.name]: name, ...base, ...(component === undefined ? {} : { [K8S_LABELS.component]: component }), ...extra },
  });
  const instances = desiredInstances(fleet, project, fleet.services, new Map(), new Map(), input.secretValues);
  const placements = placeSecrets(instances);

  const namespaceObject: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        ...base,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    },
  };
  const files: ManifestFile[] = [
    { name: '00-namespace.yaml', objects: [namespaceObject], secret: false },
    { name: '01-secrets.yaml', objects: secretObjects(instances, placements, meta), secret: true },
    { name: '02-network-policies.yaml', objects: networkPolicies(fleet, project, meta), secret: false },
    { name: '03-wait-script.yaml', objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(WAIT_CONFIG_MAP), data: { [WAIT_SCRIPT_FILE]: WAIT_SCRIPT } }], secret: false },
  ];
  for (const want of instances) files.push(workloadFile(fleet, want, placements.get(want)!, meta));
  files.push({ name: '90-verify.yaml', objects: verifyObjects(input, meta), secret: false });
  checkUnique(files);
  return files;
}

function workloadFile(fleet: Fleet, want: DesiredInstance, placements: readonly SecretPlacement[], meta: (name: string, component?: Component, extra?: Record<string, string>) => ObjectMeta): ManifestFile {
  const service = want.service;
  const component: Component = service.stage === 'infra' ? 'infra' : 'service';
  const labels = meta(service.name, component, { 'n3xus.stage': service.stage });
  const selector = { [K8S_LABELS.name]: service.name, [K8S_LABELS.instance]: want.project };
  const { spec, claims } = podSpec(fleet, want, placements);
  const template = {
    metadata: {
      labels: labels.labels,
      // The compose file's labels (calls, phase, port…), and the hash of the secrets' values: a new value, a new rollout.
      annotations: { ...service.labels, ...(want.secretsHash === '' ? {} : { [SECRETS_HASH_ANNOTATION]: want.secretsHash }) },
    },
    spec,
  };
  const portName = want.probe === 'http' ? 'http' : 'tcp';
  const serviceObject: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: labels,
    spec: { type: 'ClusterIP', selector, ports: [{ name: portName, port: service.port, targetPort: portName, protocol: 'TCP' }] },
  };
  let workload: IDeployment | IStatefulSet;
  if (claims.length > 0) {
    workload = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: labels,
      spec: {
        serviceName: service.name,
        replicas: want.replicas,
        selector: { matchLabels: selector },
        template,
        volumeClaimTemplates: claims.map((name) => ({ metadata: { name, labels: { ...selector, [K8S_LABELS.partOf]: 'n3xus' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: DEFAULT_VOLUME_SIZE } } } })),
      },
    };
  } else {
    workload = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: labels,
      // Redis holds one cache for the fleet: the old pod goes before the new one starts, never two at once.
      spec: { replicas: want.replicas, selector: { matchLabels: selector }, ...(service === redisService(fleet) ? { strategy: { type: 'Recreate' } } : {}), template },
    };
  }
  return { name: `${10 + stageIndex(service.stage)}-${service.stage}-${service.name}.yaml`, objects: [workload, serviceObject], secret: false };
}

/**
 * Ingress: none from outside the namespace, by default. The microservices take calls from the fleet's services and
 * the verify Job; PostgreSQL and Redis the same, on their port only. (Egress stays open: webhooks go to the hosts an
 * operator allows. The kubelet's probes come from the node, which network plugins let through.)
 */
function networkPolicies(fleet: Fleet, project: string, meta: (name: string) => ObjectMeta): INetworkPolicy[] {
  const fleetPods = { matchLabels: { [K8S_LABELS.instance]: project }, matchExpressions: [{ key: K8S_LABELS.component, operator: 'In', values: ['service', 'verify'] }] };
  const policies: INetworkPolicy[] = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('default-deny-ingress'), spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('services-from-fleet'),
      spec: { podSelector: { matchLabels: { [K8S_LABELS.instance]: project, [K8S_LABELS.component]: 'service' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: fleetPods }] }] },
    },
  ];
  for (const service of fleet.services.filter((s) => s.stage === 'infra')) {
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(`${service.name}-from-fleet`),
      spec: {
        podSelector: { matchLabels: { [K8S_LABELS.name]: service.name, [K8S_LABELS.instance]: project } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: fleetPods }], ports: [{ port: service.port, protocol: 'TCP' }] }],
      },
    });
  }
  return policies;
}

/**
 * `n3xus verify --full` from inside the namespace: the CLI's image, run as `verify --in-network` runs it in the
 * fleet's network, handed the fleet as its one input variable (from a ConfigMap). It reaches every service by its
 * name and port; it waits first for every service to be ready. Container checks are off (`--no-docker`): there is no
 * engine to ask, and the kubelet's probes are the cluster's. It signs no request: the operator's key is derived from
 * the install's secrets file, which stays on the operator's machine, so its requests count against its pod's address.
 */
function verifyObjects(input: KubernetesRenderInput, meta: (name: string, component?: Component) => ObjectMeta): [IConfigMap, IJob] {
  const { fleet, project, namespace } = input;
  const encoded = encodeInput({
    project,
    where: `inside namespace ${namespace}`,
    // The inside run reads the instances it is handed, and with --no-docker none: the kind is not asked.
    driver: 'docker',
    fleet: { file: fleet.file, project, services: verifyServices(fleet.services) },
    instances: [],
  });
  const targets = [...fleet.services.filter((s) => s.stage === 'infra').map((s) => `tcp://${s.name}:${s.port}`), ...fleet.services.filter((s) => s.stage !== 'infra').map((s) => `http://${s.name}:${s.port}/ready`)];
  const limits = { cpu: cpuQuantity(1), memory: memoryQuantity(VERIFY_MEMORY_BYTES) };
  const resourcesOf = { requests: { cpu: cpuQuantity(CPUS_PER_CONTAINER), memory: memoryQuantity(VERIFY_MEMORY_BYTES) }, limits };
  const labels = meta(VERIFY_JOB, 'verify').labels;
  const job: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(VERIFY_JOB, 'verify'),
    spec: {
      // A failed verify is a verdict, not a hiccup to retry.
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity({ uid: CLI_UID, gid: CLI_UID }, false),
          initContainers: [waitContainer('wait-for-fleet', CLI_IMAGE, targets, resourcesOf)],
          containers: [
            {
              name: 'verify',
              image: CLI_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: ['verify', '--network-input', '--full', '--no-docker'],
              env: [{ name: NETWORK_INPUT_ENV, valueFrom: { configMapKeyRef: { name: VERIFY_INPUT, key: VERIFY_INPUT_KEY } } }],
              resources: resourcesOf,
              securityContext: containerSecurity(),
              // The CLI image keeps its caches under /tmp (HOME=/tmp).
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory' } }, waitVolume],
        },
      },
    },
  };
  return [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(VERIFY_INPUT, 'verify'), data: { [VERIFY_INPUT_KEY]: encoded } }, job];
}

/** Two objects of one kind and name would overwrite each other when applied: a rendering fault, refused. */
function checkUnique(files: readonly ManifestFile[]): void {
  const seen = new Set<string>();
  for (const object of files.flatMap((f) => f.objects)) {
    const id = `${object.kind}/${object.metadata?.name ?? ''}`;
    if (seen.has(id)) throw new RenderError(`Two objects would be named ${id}: rename the service or secret that collides.`, 'INVALID_FLEET_FILE');
    seen.add(id);
  }
}
