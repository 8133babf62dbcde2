/**
 * Root causes: pure. A check that failed because another target failed (a service not ready because PostgreSQL is
 * down; a check not run because a service it needs did not answer) is marked `causedBy` that target, so the report
 * shows one broken database as one cause with its consequences, not as a hundred unrelated findings. A declared
 * call that broke on the callee's side is marked `causedBy` the callee when verify found the callee down too.
 */
import type { CheckResult, ServiceResult } from './types.ts';

/** "not run: <name> did not answer GET /health", as notRun() words it for a check that needed another target. */
const SILENT = /^not run: (\S+) did not answer /;

/**
 * The callees of a failed calls check, when the callee's side explains every broken edge (the callee refused or
 * could not be reached, or the caller's circuit to it is open after failed calls); else none: a caller-side fault
 * among them is the caller's own, and must not be hidden under another target.
 */
function brokenCallees(check: CheckResult): string[] {
  const edges = Array.isArray(check.details?.edges) ? (check.details.edges as unknown[]) : [];
  const broken = edges.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && (e as Record<string, unknown>).passed === false);
  const explained = broken.every((e) => typeof e.callee === 'string' && (e.side === 'callee' || e.breaker === 'open'));
  return explained ? [...new Set(broken.map((e) => e.callee as string))] : [];
}

/** The targets a failed check blames, by name; empty when it blames none (or only its own service). */
function blamed(service: ServiceResult, check: CheckResult, byKind: ReadonlyMap<string, string>): string[] {
  if (check.status === 'pass') return [];
  if (check.name === 'readiness' && check.code === 'dependency-down') {
    const down = Array.isArray(check.details?.down) ? (check.details.down as unknown[]) : [];
    return down.flatMap((kind) => (typeof kind === 'string' && byKind.has(kind) ? [byKind.get(kind)!] : []));
  }
  if (check.name === 'calls' && check.status === 'fail') return brokenCallees(check);
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
  // A callee explains a broken call only when it failed its own health check (one that answers verify but not its
  // caller is a fault between them), and only when it explains every broken edge of the check.
  const unhealthy = new Set(services.filter((s) => s.checks.some((c) => c.name === 'health' && c.status !== 'pass')).map((s) => s.name));
  const causeOf = (service: ServiceResult, check: CheckResult): string | undefined => {
    const names = blamed(service, check, byKind);
    if (check.name !== 'calls' || check.status !== 'fail') return names.find((name) => failed.has(name));
    return names.every((name) => unhealthy.has(name)) ? names[0] : undefined;
  };
  return services.map((service) => ({
    ...service,
    checks: service.checks.map((check) => {
      const cause = causeOf(service, check);
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
