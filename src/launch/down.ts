import pLimit from 'p-limit';
import { LABELS } from '../fleet/compose.ts';
import type { Fleet } from '../fleet/model.ts';
import { STAGES, type Stage } from '../fleet/stages.ts';
import type { FleetDriver, Instance } from '../drivers/driver.ts';
import { adoptedResources, composeContainers } from './adopt.ts';
import { COMPOSE_LABELS, STATE_LABELS } from './labels.ts';

export interface DownResult {
  project: string;
  removed: { service: string; name: string; stage: string }[];
  networks: string[];
  volumes: string[];
  /** Networks the engine would not remove though no container is attached to them (see StaleNetworkError). */
  staleNetworks?: string[];
  /** Containers docker compose made for the fleet file that were left alone (without `compose.remove`), and their project. */
  composeLeft?: { project: string; containers: string[] };
}

export interface DownOptions {
  volumes?: boolean;
  timeoutS?: number;
  onStage?: (stage: string, count: number) => void;
  /**
   * The fleet file and the project docker compose gives it (see composeProjectOf): what compose made for the fleet
   * and the fleet took over (see adoptedResources) is removed with it. Its containers are removed only with `remove`;
   * otherwise they are left alone and reported.
   */
  compose?: { fleet: Fleet; project: string; remove?: boolean };
}

/**
 * Stops and removes every instance labelled with the project, in reverse stage order (extended first, infra
 * last), 16 at a time inside a stage, then the project's networks and, with `volumes`, its volumes. Only what
 * carries the project label is touched, and what docker compose made that the fleet took over; containers compose
 * made only when told to (`compose.remove`).
 */
export async function down(driver: FleetDriver, project: string, options: DownOptions = {}): Promise<DownResult> {
  const composeOf = options.compose === undefined || driver.composeState === undefined ? undefined : { ...options.compose, state: driver.composeState.bind(driver) };
  const composeMade = composeOf === undefined ? [] : [...composeContainers(composeOf.fleet, await composeOf.state(composeOf.project)).values()];
  const instances: Instance[] = [...(await driver.observe(project)), ...(composeOf?.remove ? composeMade : [])];
  const rank = (stage: string | undefined): number => (stage !== undefined && STAGES.includes(stage as Stage) ? STAGES.indexOf(stage as Stage) : STAGES.length);
  const stages = [...new Set(instances.map((i) => rank(i.labels[LABELS.stage])))].sort((a, b) => b - a);
  const limit = pLimit(16);
  const removed: DownResult['removed'] = [];
  for (const r of stages) {
    const group = instances.filter((i) => rank(i.labels[LABELS.stage]) === r);
    options.onStage?.(STAGES[r] ?? 'unstaged', group.length);
    await Promise.all(
      group.map((i) =>
        limit(async () => {
          await driver.stop(i.id, { timeoutS: options.timeoutS ?? 10 });
          await driver.remove(i.id);
          removed.push({ service: i.labels[STATE_LABELS.service] ?? i.labels[COMPOSE_LABELS.service] ?? i.name, name: i.name, stage: STAGES[r] ?? 'unstaged' });
        }),
      ),
    );
  }
  // Asked again now that the containers are gone: what compose made is the fleet's once none of compose's runs it.
  const adopted = composeOf === undefined ? undefined : adoptedResources(composeOf.fleet, project, composeOf.project, await composeOf.state(composeOf.project));
  const { stale, ...resources } = await driver.removeResources(project, { volumes: options.volumes ?? false, ...(adopted === undefined ? {} : { adopted }) });
  const left = composeOf === undefined || composeOf.remove ? [] : composeMade.map((c) => c.name);
  return {
    project,
    removed,
    ...resources,
    ...(stale === undefined ? {} : { staleNetworks: stale }),
    ...(left.length > 0 ? { composeLeft: { project: composeOf!.project, containers: left } } : {}),
  };
}
