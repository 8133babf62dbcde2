/**
 * Scoring and the gate: pure. A service is operational when it has at least one required check and every
 * required check passed; a check that could not run never counts as passed.
 */
import { markRootCauses } from './causes.ts';
import { VERIFY_SCHEMA_VERSION, type CheckResult, type DockerUse, type LatencySummary, type LawViolation, type ServiceResult, type VerifyMode, type VerifyReport, type VerifyTarget } from './types.ts';

/** True when the checks make the service operational: some are required, and all of those passed. */
export function isOperational(checks: readonly CheckResult[]): boolean {
  const required = checks.filter((c) => c.required);
  return required.length > 0 && required.every((c) => c.status === 'pass');
}

/** A target and its checks as a {@link ServiceResult}. */
export function serviceResult(target: VerifyTarget, checks: readonly CheckResult[]): ServiceResult {
  return {
    name: target.name,
    stage: target.stage,
    group: target.group,
    category: target.category,
    kind: target.kind,
    url: target.url,
    operational: isOperational(checks),
    checks: [...checks],
  };
}

/**
 * Operational services as a percentage of those checked, rounded down to one decimal, so the figure shown never
 * reads as meeting a threshold the fleet missed (99.96 % shows as 99.9 %). 0 when nothing was checked.
 */
export function operationalPercent(operational: number, total: number): number {
  if (total === 0) return 0;
  return Math.floor((operational * 1000) / total) / 10;
}

/** The gate: exact comparison (`operational / total >= threshold / 100`), never on the rounded figure. */
export function meetsThreshold(operational: number, total: number, threshold: number): boolean {
  if (total === 0) return false;
  return operational * 100 >= threshold * total;
}

/**
 * The services whose `law` check found the law broken (not enforced, leaked, or the right handshake refused). A law
 * check that got no answer is an availability failure, counted by the threshold, not a violation.
 */
export function lawViolations(services: readonly ServiceResult[]): LawViolation[] {
  return services.flatMap((s) =>
    s.checks.filter((c) => c.name === 'law' && c.status === 'fail' && c.code !== undefined && c.code.startsWith('law-')).map((c) => ({ service: s.name, code: c.code!, message: c.message })),
  );
}

export interface ReportInput {
  mode: VerifyMode;
  host: string;
  fleetFile: string;
  startedAt: Date;
  durationMs: number;
  threshold: number;
  docker: DockerUse;
  services: readonly ServiceResult[];
  latency?: readonly LatencySummary[];
  sample?: { seed: number; size: number };
  functional?: { ran: boolean; reason?: string };
}

/** Assembles the report: counts, operational %, and whether the gate passed. */
export function buildReport(input: ReportInput): VerifyReport {
  const services = markRootCauses(input.services);
  const operational = services.filter((s) => s.operational).length;
  const checks = services.flatMap((s) => s.checks);
  const violations = lawViolations(services);
  const availabilityPassed = meetsThreshold(operational, services.length, input.threshold);
  return {
    schemaVersion: VERIFY_SCHEMA_VERSION,
    mode: input.mode,
    host: input.host,
    fleetFile: input.fleetFile,
    startedAt: input.startedAt.toISOString(),
    durationMs: Math.round(input.durationMs),
    threshold: input.threshold,
    operationalPercent: operationalPercent(operational, services.length),
    passed: availabilityPassed && violations.length === 0,
    availabilityPassed,
    law: { passed: violations.length === 0, checked: checks.filter((c) => c.name === 'law' && c.status !== 'not-run').length, violations },
    counts: {
      services: services.length,
      operational,
      failed: services.length - operational,
      checks: checks.length,
      checksPassed: checks.filter((c) => c.status === 'pass').length,
    },
    docker: input.docker,
    services,
    ...(input.latency ? { latency: [...input.latency] } : {}),
    ...(input.sample ? { sample: { ...input.sample } } : {}),
    ...(input.functional ? { functional: { ...input.functional } } : {}),
  };
}

/**
 * True when nothing at all answered: every target's first check (health or protocol) got no connection or no
 * answer, and no container state was found either. Such a run verified nothing, which is not the same as a fleet
 * found broken.
 */
export function nothingAnswered(services: readonly ServiceResult[], docker: DockerUse): boolean {
  if (services.length === 0 || docker.used) return false;
  return services.every((service) => {
    const first = service.checks.find((c) => c.name === 'health' || c.name === 'protocol');
    return first !== undefined && first.status === 'fail' && (first.code === 'unreachable' || first.code === 'timeout');
  });
}
