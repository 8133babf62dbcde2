/**
 * The seed's orchestrated startup order: infrastructure first, then core runtime (phases 3-4), federation
 * (phases 5-6), domain services (phases 7-12), the compliance layer, the PUABO universe, the V-Suite and the
 * extended services.
 */
export const STAGES = ['infra', 'core', 'federation', 'domain', 'compliance', 'puabo', 'vsuite', 'extended'] as const;

export type Stage = (typeof STAGES)[number];

/** Position of a stage in the startup order (0 = infra). */
export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}
