import pLimit from 'p-limit';
import { LABELS } from '../fleet/compose.ts';
import { STAGES, type Stage } from '../fleet/stages.ts';
import type { FleetDriver } from '../drivers/driver.ts';
import { STATE_LABELS } from './labels.ts';

export interface DownResult {
  project: string;
  removed: { service: string; name: string; stage: string }[];
  networks: string[];
  volumes: string[];
}

/**
 * Stops and removes every instance labelled with the project, in reverse stage order (extended first, infra
 * last), 16 at a time inside a stage, then the project's networks and, with `volumes`, its volumes. Only what
 * carries the project label is touched.
 */
export async function down(driver: FleetDriver, project: string, options: { volumes?: boolean; timeoutS?: number; onStage?: (stage: string, count: number) => void } = {}): Promise<DownResult> {
  const instances = await driver.observe(project);
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
          removed.push({ service: i.labels[STATE_LABELS.service] ?? i.name, name: i.name, stage: STAGES[r] ?? 'unstaged' });
        }),
      ),
    );
  }
  const resources = await driver.removeResources(project, { volumes: options.volumes ?? false });
  return { project, removed, ...resources };
}
