/**
 * Root causes: pure. A check that failed because another target failed (a service not ready because PostgreSQL is
 * down; a check not run because a service it needs did not answer) is marked `causedBy` that target, so the report
 * shows one broken database as one cause with its consequences, not as a hundred unrelated findings.
 */
import type { CheckResult, ServiceResult } from './types.ts';

/** "not run: <name> did not answer GET /health", as notRun() words it for a check that needed another target. */
const SILENT = /^not run: (\S+) did not answer /;

/** The targets a failed check blames, by name; empty when it blames none (or only its own service). */
function blamed(service: ServiceResult, check: CheckResult, byKind: ReadonlyMap<string, string>): string[] {
  if (check.status === 'pass') return [];
  if (check.name === 'readiness' && check.code === 'dependency-down') {
    const down = Array.isArray(check.details?.down) ? (check.details.down as unknown[]) : [];
    return down.flatMap((kind) => (typeof kind === 'string' && byKind.has(kind) ? [byKind.get(kind)!] : []));
  }
  // A functional check failing beside readiness that found a dependency down is the same fault seen through the API.
  const readiness = check.name === 'functional' ? service.checks.find((c) => c.name === 'readiness') : undefined;
  if (readiness !== undefined) return blamed(service, readiness, byKind);
  const silent = SILENT.exec(check.message)?.[1];
  return silent !== undefined && silent !== service.name ? [silent] : [];
}

/**
 * Marks each failed check whose cause is another target that itself failed (is not operational) with `causedBy`,
 * and returns the services with their checks so marked. A dependency a service reports down while verify finds it
 * up is not a shared cause (the fault is between them), and is left unmarked.
 */
export function markRootCauses(services: readonly ServiceResult[]): ServiceResult[] {
  const failed = new Set(services.filter((s) => !s.operational).map((s) => s.name));
  const byKind = new Map(services.filter((s) => s.kind === 'postgres' || s.kind === 'redis').map((s) => [s.kind, s.name]));
  return services.map((service) => ({
    ...service,
    checks: service.checks.map((check) => {
      const cause = blamed(service, check, byKind).find((name) => failed.has(name));
      return cause === undefined ? check : { ...check, causedBy: cause };
    }),
  }));
}

/** The targets that failed on their own and the services whose failures they explain, largest group first. */
export function rootCauses(services: readonly ServiceResult[]): Array<{ cause: string; affected: string[] }> {
  const affected = new Map<string, Set<string>>();
  for (const service of services) {
    for (const check of service.checks) {
      if (check.causedBy === undefined) continue;
      affected.set(check.causedBy, (affected.get(check.causedBy) ?? new Set()).add(service.name));
    }
  }
  return [...affected].map(([cause, names]) => ({ cause, affected: [...names] })).sort((a, b) => b.affected.length - a.affected.length);
}

/** True when every required check of a service that did not pass is explained by another target. */
export function onlyConsequences(service: ServiceResult): boolean {
  const failing = service.checks.filter((c) => c.required && c.status !== 'pass');
  return failing.length > 0 && failing.every((c) => c.causedBy !== undefined);
}
