/**
 * Docker compose interop, decided without the engine: which containers docker compose made for the fleet file
 * (by compose's project and service labels), which of its networks and volumes the fleet uses in place of its own,
 * and how `launch --adopt` turns the reconciliation's creates into replacements of compose's containers.
 */
import type { Fleet } from '../fleet/model.ts';
import type { ComposeState, Instance } from '../drivers/driver.ts';
import { COMPOSE_LABELS } from './labels.ts';
import type { Reconciliation } from './reconcile.ts';
import { serviceNetworkKeys, volumeKeys, type AdoptedNames } from './desired.ts';

/** Compose's container of each service of the fleet file (the running one when it has several). */
export function composeContainers(fleet: Fleet, state: Pick<ComposeState, 'containers'>): Map<string, Instance> {
  const names = new Set(fleet.services.map((s) => s.name));
  const byService = new Map<string, Instance>();
  for (const c of state.containers) {
    const service = c.labels[COMPOSE_LABELS.service];
    if (service !== undefined && names.has(service) && (!byService.has(service) || c.running)) byService.set(service, c);
  }
  return byService;
}

/**
 * For each network and volume key of the fleet that has no `name` in the file (a named one is the same object for
 * both tools) and is not external: compose's, when n3xus's own (`<project>_<key>`) does not exist and docker compose
 * made one for the key in `composeProject`. So a fleet compose started keeps its data when n3xus takes it over, and
 * keeps it through a later `down` and `launch`: labels and names on the engine are the only record.
 */
export function adoptedNames(fleet: Fleet, project: string, composeProject: string, state: ComposeState): AdoptedNames {
  const pick = (key: string, own: readonly string[], made: readonly { name: string; key: string }[]): string | undefined => {
    if (own.includes(`${project}_${key}`)) return undefined;
    const composeName = `${composeProject}_${key}`;
    return made.find((m) => m.key === key || m.key === composeName || m.name === composeName)?.name;
  };
  const networks = new Map<string, string>();
  for (const key of new Set(fleet.services.flatMap(serviceNetworkKeys))) {
    const n = fleet.networks[key];
    if (n?.name !== undefined || n?.external === true) continue;
    const name = pick(key, state.existing.networks, state.networks);
    if (name !== undefined) networks.set(key, name);
  }
  const volumes = new Map<string, string>();
  for (const key of volumeKeys(fleet.services)) {
    const v = fleet.volumes[key];
    if (v?.name !== undefined || v?.external === true) continue;
    const name = pick(key, state.existing.volumes, state.volumes);
    if (name !== undefined) volumes.set(key, name);
  }
  return { networks, volumes };
}

/**
 * What docker compose made that the fleet has taken over, for `down` to remove with the fleet: the networks and
 * volumes of `composeProject` the fleet uses (by name, as {@link adoptedNames} and named ones resolve), once no
 * container of compose's runs a service of the fleet. While one does, they are compose's, and left alone.
 */
export function adoptedResources(fleet: Fleet, project: string, composeProject: string, state: ComposeState): { networks: string[]; volumes: string[] } {
  if (composeContainers(fleet, state).size > 0) return { networks: [], volumes: [] };
  const names = adoptedNames(fleet, project, composeProject, state);
  const networkNames = new Set<string>();
  for (const key of new Set(fleet.services.flatMap(serviceNetworkKeys))) {
    const named = fleet.networks[key]?.name;
    const name = named ?? names.networks.get(key);
    if (name !== undefined && fleet.networks[key]?.external !== true) networkNames.add(name);
  }
  const volumeNames = new Set<string>();
  for (const v of Object.values(fleet.volumes)) if (v.name !== undefined && v.external !== true) volumeNames.add(v.name);
  for (const name of names.volumes.values()) volumeNames.add(name);
  return {
    networks: state.networks.filter((n) => networkNames.has(n.name)).map((n) => n.name),
    volumes: state.volumes.filter((v) => volumeNames.has(v.name)).map((v) => v.name),
  };
}

/**
 * The reconciliation with compose's containers taken over: a service n3xus has no instance of and compose has a
 * container for is recreated from that container (removed, then created under n3xus's labels, in its stage's
 * turn); a compose container of a service n3xus already runs is a duplicate, removed first. Pure.
 */
export function adoptSteps(reconciliation: Reconciliation, compose: ReadonlyMap<string, Instance>, composeProject: string): Reconciliation {
  const duplicates = [...reconciliation.duplicates];
  const steps = reconciliation.steps.map((step) => {
    const made = compose.get(step.service);
    if (made === undefined) return step;
    if (step.action !== 'create') {
      duplicates.push({ service: step.service, containerId: made.id, name: made.name });
      return step;
    }
    return { service: step.service, action: 'recreate' as const, cause: `made by docker compose (project ${composeProject}, container ${made.name}): adopted`, containerId: made.id };
  });
  return { steps, duplicates, orphans: reconciliation.orphans };
}
