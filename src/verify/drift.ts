/**
 * Whether each container is the one `n3xus launch` would create from the fleet file: its config hash label and its
 * image ID against the fleet's, by the comparison launch makes to decide a recreate (src/launch/reconcile.ts), and
 * whether n3xus made it at all. Pure: what the engine listed comes in, one finding per service goes out, and
 * {@link withDrift} folds it into the `container` check.
 *
 * A container docker compose made from the same file is recognised by compose's labels and checked like ours
 * (running, health), but its configuration is not compared: compose keeps its own hash, not n3xus's, so there is
 * nothing to compare the fleet's with. That is a warning, not a failure: a fleet run by plain docker-compose is a
 * legitimate way to run the file, and availability is what verify gates on. What can be compared, its image, is.
 */
import type { Instance } from '../drivers/driver.ts';
import { instanceConfigHash } from '../launch/desired.ts';
import { COMPOSE_LABELS, launchedReplicas, STATE_LABELS } from '../launch/labels.ts';
import { configDrift, imageDrift } from '../launch/reconcile.ts';
import type { VerifyFleetService } from './fleet-source.ts';
import type { CheckResult } from './types.ts';

/** What a service's container should be, from the fleet file. */
export type Expected = Pick<VerifyFleetService, 'name' | 'image' | 'configHash'>;

/**
 * The ID each image reference resolves to now (undefined: not on the engine), or why the engine could not say;
 * undefined when the driver resolves no images, and then images are not compared.
 */
export type ImageLookup = { ids: ReadonlyMap<string, string | undefined> } | { error: string } | undefined;

/** True when docker compose made the container and n3xus did not: compose's labels, and no n3xus config hash. */
export function madeByCompose(instance: Pick<Instance, 'labels'>): boolean {
  return instance.labels[COMPOSE_LABELS.service] !== undefined && instance.labels[STATE_LABELS.configHash] === undefined;
}

/** The service a container runs: its n3xus.service label, else (made by docker compose) compose's. */
export function serviceOf(instance: Pick<Instance, 'labels'>): string | undefined {
  return instance.labels[STATE_LABELS.service] ?? (instance.labels[COMPOSE_LABELS.oneoff] === 'True' ? undefined : instance.labels[COMPOSE_LABELS.service]);
}

/** What the comparison found for one service's container. */
export interface DriftFinding {
  /** The container's name, for messages. */
  container: string;
  /** What differs from what launch would create, one clause each; any fails the check. */
  differences: string[];
  /** What was not compared, and why, one sentence each: warnings. */
  notes: string[];
  /** Set when docker compose made it: the compose project. */
  composeProject?: string;
  /** Both sides of each difference, in full. */
  details: Record<string, unknown>;
}

/** `sha256:0123456789ab`: enough of an ID or hash to tell two apart in a message. */
const short = (id: string): string => (id.startsWith('sha256:') ? id.slice(0, 19) : id.slice(0, 12));

/** Compares `instance`, the container found for `expected`, with what launch would create for it. */
export function compareInstance(expected: Expected, instance: Instance, images: ImageLookup): DriftFinding {
  const finding: DriftFinding = { container: instance.name, differences: [], notes: [], details: {} };
  if (madeByCompose(instance)) {
    finding.composeProject = instance.labels[COMPOSE_LABELS.project] ?? '';
    finding.notes.push('not launched by n3xus: made by docker compose, which keeps no n3xus config hash, so its configuration is not compared with the fleet file');
  } else {
    // Launched with several copies (Swarm), the hash covers the count too, as launch labels it.
    const want = instanceConfigHash(expected.configHash, launchedReplicas(instance.labels));
    const have = instance.labels[STATE_LABELS.configHash];
    const drift = configDrift(want, instance.labels);
    if (drift !== undefined) finding.details.configHash = { container: have ?? null, fleet: want };
    if (drift === 'no config hash label') finding.differences.push(`it has no ${STATE_LABELS.configHash} label: it was not created by n3xus launch`);
    if (drift === 'config changed') finding.differences.push(`its ${STATE_LABELS.configHash} ${short(have!)} is not the fleet file's ${short(want)}: its configuration changed since launch`);
  }
  if (images !== undefined && instance.imageId !== '') {
    if ('error' in images) finding.notes.push(`image not compared: ${images.error}`);
    else if (images.ids.has(expected.image)) {
      const now = images.ids.get(expected.image);
      if (now === undefined) finding.notes.push(`image not compared: ${expected.image} is not on the engine`);
      else if (imageDrift(now, instance.imageId) !== undefined) {
        finding.details.image = { reference: expected.image, container: instance.imageId, fleet: now };
        finding.differences.push(`it runs image ${short(instance.imageId)}, and ${expected.image} now resolves to ${short(now)}`);
      }
    }
  }
  return finding;
}

/**
 * The `container` check with the comparison folded in. A difference fails a check that passed, with code
 * `container-drift`, saying what differs and what would recreate the container; a check already failed for another
 * reason (not running, unhealthy) keeps it, and the difference rides along as a warning. Notes are warnings.
 */
export function withDrift(check: CheckResult, finding: DriftFinding | undefined): CheckResult {
  if (finding === undefined) return check;
  const compose = finding.composeProject;
  const details = {
    ...check.details,
    launchedBy: compose === undefined ? 'n3xus' : 'docker compose',
    ...(compose === undefined ? {} : { composeProject: compose }),
    ...(Object.keys(finding.details).length > 0 ? { drift: finding.details } : {}),
  };
  const differs = finding.differences.join('; ');
  const warnings = [...(check.warnings ?? []), ...finding.notes];
  if (finding.differences.length > 0 && check.status === 'pass') {
    const who = compose === undefined ? `container ${finding.container} is not the one n3xus launch would create` : `container ${finding.container} (made by docker compose, not launched by n3xus) is not what the fleet file describes`;
    // n3xus launch finds its containers by its own labels: a compose-made one is never recreated by it, compose does that.
    const fix = compose === undefined ? '`n3xus launch` would recreate it' : '`docker-compose up -d` would recreate it';
    return { ...check, status: 'fail', code: 'container-drift', message: `${who}: ${differs}; ${fix}`, details, ...(warnings.length > 0 ? { warnings } : {}) };
  }
  if (finding.differences.length > 0) warnings.push(`not what launch would create: ${differs}`);
  const message = check.status === 'pass' && compose !== undefined ? `${check.message}; not launched by n3xus (docker compose project ${compose})` : check.message;
  return { ...check, message, details, ...(warnings.length > 0 ? { warnings } : {}) };
}
