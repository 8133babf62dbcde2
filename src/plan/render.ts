import type { Fleet } from '../fleet/model.ts';
import { stageIndex } from '../fleet/stages.ts';
import type { LaunchPlan } from './plan.ts';

const withPhase = (name: string, phase: number | undefined): string => (phase === undefined ? name : `${name} (phase ${phase})`);
const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The plan as text, what `--dry-run` prints: a heading, then one line per batch, numbered by the stage's place in
 * the start order, each service with its seed phase where it has one (the number `--phase` takes), e.g.
 *
 * ```
 * Launch plan for compose/docker-compose.full.yml: 100 of 100 services, 8 stages, 9 batches
 * [1] infra: postgres, redis
 * [2] core: v-supercore (phase 3), puabo-api-ai-hf (phase 4)
 * [8] extended (batch 1/2): ml-training, ml-inference, …
 * ```
 *
 * Stable for the same plan and fleet, so tests compare it whole. Ends with a newline.
 */
export function renderPlan(plan: LaunchPlan, fleet: Fleet): string {
  const phases = new Map(fleet.services.map((s) => [s.name, s.phase]));
  const planned = plan.stages.reduce((n, s) => n + s.batches.reduce((m, b) => m + b.length, 0), 0);
  const batches = plan.stages.reduce((n, s) => n + s.batches.length, 0);
  const lines = [
    `Launch plan for ${fleet.file}: ${planned} of ${count(fleet.services.length, 'service', 'services')}, ${count(plan.stages.length, 'stage', 'stages')}, ${count(batches, 'batch', 'batches')}`,
  ];
  for (const { stage, batches: stageBatches } of plan.stages) {
    stageBatches.forEach((batch, i) => {
      const label = stageBatches.length > 1 ? `${stage} (batch ${i + 1}/${stageBatches.length})` : stage;
      lines.push(`[${stageIndex(stage) + 1}] ${label}: ${batch.map((name) => withPhase(name, phases.get(name))).join(', ')}`);
    });
  }
  if (plan.stages.length === 0) lines.push('(nothing to launch)');
  return `${lines.join('\n')}\n`;
}
