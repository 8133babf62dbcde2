/**
 * What a launch wants to exist, in no engine's words: one desired instance per service of the fleet. Pure: it
 * turns the fleet model (and the image IDs the engine resolved) into instances, labels, credentials and probes,
 * once; each driver translates an instance to its own engine (a Docker container spec, a Swarm service spec, a
 * local process), as compose keeps its project model apart from the engine's create config.
 */
import { createHash } from 'node:crypto';
import { configHash } from '../fleet/config-hash.ts';
import type { Fleet, FleetService } from '../fleet/model.ts';
import { SECRETS_MOUNT } from '../fleet/service-files.ts';
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

/**
 * Environment variables that carry a credential, when a fleet file gives one as environment (the generated one
 * gives none: its credentials are compose secrets). The Docker and process drivers hand them over as environment,
 * as compose does; Swarm hands each over as a secret file, named by `<KEY>_FILE`, which the kit and the PostgreSQL
 * image read instead. The handshake is among them for that reason only: it is public, not a credential.
 */
export const CREDENTIAL_KEYS = ['N3XUS_HANDSHAKE', 'DATABASE_URL', 'REDIS_URL', 'POSTGRES_PASSWORD'] as const;

/**
 * One secret of an instance, mounted at `/run/secrets/<target>`: a compose secret (`source`, read from `file`),
 * or a credential the fleet file gave as environment (`key`).
 */
export interface DesiredSecret {
  /** The file name under /run/secrets. */
  target: string;
  value: string;
  /** `<project>_<source or key>_<first 12 hex of sha256(value)>`: a changed value is a new secret, never an edited one. */
  name: string;
  /** The environment variable it replaces (`<KEY>_FILE` then names the file), for a credential given as environment. */
  key?: (typeof CREDENTIAL_KEYS)[number];
  /** The compose secret's name and its file on this machine. */
  source?: string;
  file?: string;
}

/** A port of an instance on the host's loopback (`hostPort`), to its own `containerPort`. */
export interface DesiredPort {
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
}

/** One instance a launch wants, engine-neutral; what does not differ between engines is read from `service`. */
export interface DesiredInstance {
  service: FleetService;
  project: string;
  /** `<project>-<service>`: one name per service, so two launches can never create two instances of it. */
  name: string;
  /** The service's config hash (see configHash; with replicas when more than one); with {@link imageId}, what decides a recreate. */
  configHash: string;
  imageId: string;
  probe: ProbeKind;
  /** The fleet file's labels and the state labels (project, service, config hash, image ID). */
  labels: Record<string, string>;
  /** The environment without the credentials ({@link CREDENTIAL_KEYS}). */
  env: Record<string, string>;
  /** Its compose secrets, and the credentials of the environment. */
  secrets: DesiredSecret[];
  /**
   * What its secrets' values are, as a hash (see {@link secretsHash}); '' when the caller did not read them (status
   * and verify compare the rest only). A changed value recreates the instance, as a changed config does.
   */
  secretsHash: string;
  ports: DesiredPort[];
  /** The engine's names of the networks it joins (at least one: the project's default when it names none), and its DNS names on each. */
  networks: string[];
  aliases: string[];
  /** Mounts with volume names as the engine knows them. */
  mounts: { type: 'volume' | 'bind' | 'tmpfs'; source?: string; target: string; readOnly: boolean }[];
  /** How many copies run; 1 except where the driver can run more (Swarm). */
  replicas: number;
}

/**
 * The networks and volumes docker compose made that the fleet uses in place of its own, by their key in the fleet
 * file: the engine names launch mounts and joins instead of `<project>_<key>` (see adoptedNames in adopt.ts).
 */
export interface AdoptedNames {
  networks: ReadonlyMap<string, string>;
  volumes: ReadonlyMap<string, string>;
}

export const NO_ADOPTED_NAMES: AdoptedNames = { networks: new Map(), volumes: new Map() };

/** Networks, volumes and credentials a launch creates before any instance, by the names the engine knows them. */
export interface DesiredResources {
  project: string;
  networks: { name: string; external: boolean; internal: boolean; labels: Record<string, string> }[];
  volumes: { name: string; external: boolean; labels: Record<string, string> }[];
  /** One per distinct credential (see DesiredSecret); drivers that pass credentials as environment ignore them. */
  secrets: (DesiredSecret & { labels: Record<string, string> })[];
}

/**
 * The engine's name of a fleet network: its `name`, else the one docker compose made that the fleet took over (see
 * adoptedNames in adopt.ts), else compose's `<project>_<key>`.
 */
export function networkName(fleet: Fleet, project: string, key: string, adopted: AdoptedNames = NO_ADOPTED_NAMES): string {
  return fleet.networks[key]?.name ?? adopted.networks.get(key) ?? `${project}_${key}`;
}

/** The keys of the named volumes `services` mount (bind mounts and tmpfs left out), each once. */
export function volumeKeys(services: readonly FleetService[]): Set<string> {
  return new Set(services.flatMap((s) => s.volumes.filter((m) => m.type === 'volume' && m.source !== undefined).map((m) => m.source!)));
}

/** The keys of the networks `service` joins: those it names, else compose's `default`. */
export function serviceNetworkKeys(service: FleetService): string[] {
  return service.networks.length > 0 ? [...service.networks] : ['default'];
}

/**
 * The networks n3xus's own containers join to reach the fleet from inside (Swarm's loopback gateway, in-network
 * verify), as resources labelled with the project: every network the services join except internal ones, which
 * hold the data servers' private side (their ports come through a network that is not internal). The
 * microservices' networks come first: a container is created on the first (and reports name it).
 */
export function reachNetworks(fleet: Fleet, project: string): DesiredResources['networks'] {
  const ordered = [...fleet.services.filter((s) => s.stage !== 'infra'), ...fleet.services.filter((s) => s.stage === 'infra')];
  const keys = [...new Set(ordered.flatMap(serviceNetworkKeys))].filter((key) => !(fleet.networks[key]?.internal ?? false));
  return keys.map((key) => networkResource(fleet, project, key));
}

function networkResource(fleet: Fleet, project: string, key: string, adopted?: AdoptedNames): DesiredResources['networks'][number] {
  const n = fleet.networks[key];
  return { name: networkName(fleet, project, key, adopted), external: n?.external ?? false, internal: n?.internal ?? false, labels: { ...(n?.labels ?? {}), [STATE_LABELS.project]: project } };
}

/** The engine's name of a fleet volume: as {@link networkName} names a network. */
export function volumeName(fleet: Fleet, project: string, key: string, adopted: AdoptedNames = NO_ADOPTED_NAMES): string {
  return fleet.volumes[key]?.name ?? adopted.volumes.get(key) ?? `${project}_${key}`;
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

/** The engine's name of a credential of `project` (see DesiredSecret.name). */
export function secretName(project: string, key: string, value: string): string {
  return `${project}_${key.toLowerCase().replaceAll('_', '-')}_${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

function credentials(fleet: Fleet, service: FleetService, project: string, values: ReadonlyMap<string, string>): { env: Record<string, string>; secrets: DesiredSecret[] } {
  const env: Record<string, string> = {};
  const secrets: DesiredSecret[] = [];
  for (const ref of service.secrets) {
    const value = values.get(ref.source) ?? '';
    const file = fleet.secrets[ref.source]?.file;
    secrets.push({ target: ref.target, value, name: secretName(project, ref.source, value), source: ref.source, ...(file === undefined ? {} : { file }) });
  }
  for (const [key, value] of Object.entries(service.environment)) {
    const credential = CREDENTIAL_KEYS.find((k) => k === key);
    if (credential === undefined || value === '') env[key] = value;
    else secrets.push({ target: credential.toLowerCase(), key: credential, value, name: secretName(project, credential, value) });
  }
  return { env, secrets };
}

/**
 * The `<KEY>_FILE` variables that point each credential the fleet file gave as environment at its file under
 * /run/secrets, for the drivers that mount it there (Swarm, Kubernetes): the kit and the PostgreSQL image read those.
 */
export function credentialFileEnv(secrets: readonly DesiredSecret[]): Record<string, string> {
  return Object.fromEntries(secrets.filter((s) => s.key !== undefined).map((s) => [`${s.key}_FILE`, `${SECRETS_MOUNT}/${s.target}`]));
}

/**
 * The hash of an instance's secrets (their targets and engine names, which hold their values' hashes), or '' when
 * their values were not read (`known` false) or it has none.
 */
export function secretsHash(secrets: readonly DesiredSecret[], known: boolean): string {
  if (!known || secrets.length === 0) return '';
  const text = secrets.map((s) => `${s.target}=${s.name}`).sort().join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The config hash launch labels an instance with: the service's {@link configHash} (`base`), with the copies it runs
 * when more than one. Shared with verify, which reads `base` from its own cache entry of the fleet.
 */
export function instanceConfigHash(base: string, replicas: number): string {
  // One replica keeps the hash of the definition alone, so that fleets launched before replicas existed converge.
  return replicas === 1 ? base : createHash('sha256').update(`${base}:replicas=${replicas}`).digest('hex');
}

/**
 * The instance each service of `services` needs, in the order given. `imageIds` maps each service's image
 * reference to the ID the engine has for it (the caller checks that every image exists first); `replicas` gives
 * a count for the services that run more than one copy.
 */
export function desiredInstances(
  fleet: Fleet,
  project: string,
  services: readonly FleetService[],
  imageIds: ReadonlyMap<string, string>,
  replicas: ReadonlyMap<string, number> = new Map(),
  secretValues?: ReadonlyMap<string, string>,
  adopted: AdoptedNames = NO_ADOPTED_NAMES,
): DesiredInstance[] {
  return services.map((service) => {
    const count = replicas.get(service.name) ?? 1;
    const hash = instanceConfigHash(configHash(service), count);
    const imageId = imageIds.get(service.image) ?? '';
    const { env, secrets } = credentials(fleet, service, project, secretValues ?? new Map());
    const secretHash = secretsHash(secrets, secretValues !== undefined);
    return {
      service,
      project,
      name: containerName(project, service.name),
      configHash: hash,
      imageId,
      probe: probeKind(service),
      labels: {
        ...service.labels,
        [STATE_LABELS.project]: project,
        [STATE_LABELS.service]: service.name,
        [STATE_LABELS.configHash]: hash,
        [STATE_LABELS.imageId]: imageId,
        ...(secretHash === '' ? {} : { [STATE_LABELS.secretsHash]: secretHash }),
      },
      env,
      secrets,
      secretsHash: secretHash,
      ports: service.ports.filter((p) => p.protocol !== 'sctp').map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol as 'tcp' | 'udp' })),
      networks: serviceNetworkKeys(service).map((key) => networkName(fleet, project, key, adopted)),
      aliases: [service.name],
      mounts: service.volumes.map((m) => ({
        type: m.type,
        ...(m.source === undefined ? {} : { source: m.type === 'volume' ? volumeName(fleet, project, m.source, adopted) : m.source }),
        target: m.target,
        readOnly: m.readOnly,
      })),
      replicas: count,
    };
  });
}

/**
 * The networks, volumes and credentials the given services use, labelled with the project so down can find them;
 * `secretValues` as for {@link desiredInstances}.
 */
export function desiredResources(fleet: Fleet, project: string, services: readonly FleetService[], secretValues: ReadonlyMap<string, string> = new Map(), adopted: AdoptedNames = NO_ADOPTED_NAMES): DesiredResources {
  const label = { [STATE_LABELS.project]: project };
  const networkKeys = new Set(services.flatMap(serviceNetworkKeys));
  const secrets = new Map<string, DesiredResources['secrets'][number]>();
  for (const service of services) for (const s of credentials(fleet, service, project, secretValues).secrets) secrets.set(s.name, { ...s, labels: label });
  return {
    project,
    networks: [...networkKeys].map((key) => networkResource(fleet, project, key, adopted)),
    volumes: [...volumeKeys(services)].map((key) => {
      const v = fleet.volumes[key];
      return { name: volumeName(fleet, project, key, adopted), external: v?.external ?? false, labels: { ...(v?.labels ?? {}), ...label } };
    }),
    secrets: [...secrets.values()],
  };
}
