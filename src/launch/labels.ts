/**
 * The labels n3xus puts on what it creates. Labels are the state: what a launch started, a later status, down,
 * logs, verify or launch finds again by label alone, with nothing stored anywhere else.
 */

/** Labels on every container, network and volume n3xus creates for a fleet. */
export const STATE_LABELS = {
  /** The project (fleet instance) the object belongs to; `--project`, default {@link DEFAULT_PROJECT}. */
  project: 'n3xus.project',
  /** The compose service a container runs. */
  service: 'n3xus.service',
  /** sha256 of the service's canonical definition (see configHash in src/fleet/model.ts). */
  configHash: 'n3xus.config-hash',
  /** The image ID the container was created from, so a rebuilt image recreates it. */
  imageId: 'n3xus.image-id',
  /** The hash of its secrets' values (see secretsHash in desired.ts), when it has secrets. */
  secretsHash: 'n3xus.secrets-hash',
  /** Which driver created it: `docker`, `process` or `swarm`. */
  driver: 'n3xus.driver',
  /** The copies launch asked for (Swarm), so that a stopped service starts again at that count and status knows it. */
  replicas: 'n3xus.replicas',
} as const;

/**
 * Labels docker compose puts on the containers it creates: how verify recognises a fleet started by plain
 * `docker-compose` from the fleet file, which carries none of {@link STATE_LABELS}.
 */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  /** `True` on the one-off containers of `docker-compose run`, which are not the service. */
  oneoff: 'com.docker.compose.oneoff',
  /** On a network compose made: its key in the file (compose v2) or its name (compose v1 for a network with `name`). */
  network: 'com.docker.compose.network',
  /** On a volume compose made: its key in the file. */
  volume: 'com.docker.compose.volume',
} as const;

/** The project name used when neither `--project` nor the compose file's `name` gives one. */
export const DEFAULT_PROJECT = 'n3xus';

/** The container name of a service in a project: one container per service, so a re-run can never duplicate it. */
export function containerName(project: string, service: string): string {
  return `${project}-${service}`;
}

/** The copies an instance was launched with (its {@link STATE_LABELS.replicas} label), 1 when it has none or a bad one. */
export function launchedReplicas(labels: Readonly<Record<string, string>>): number {
  const count = Number(labels[STATE_LABELS.replicas] ?? '1');
  return Number.isInteger(count) && count > 1 ? count : 1;
}
