/**
 * The human summary of a verification: pure. Groups by stage and group, one line each with its count; under a
 * group, each service that is not operational with each check that did not pass and why; then warnings, the
 * slowest services (`--bench`) and the verdict. Colour comes from a {@link Paint}, so the caller decides whether
 * the terminal gets any (NO_COLOR, not a TTY).
 */
import { STAGES } from '../fleet/stages.ts';
import { onlyConsequences, rootCauses } from './causes.ts';
import type { CheckResult, ServiceResult, VerifyReport } from './types.ts';

/** How text is coloured; {@link PLAIN} colours nothing. */
export interface Paint {
  pass(text: string): string;
  fail(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const same = (text: string): string => text;
/** No colour at all. */
export const PLAIN: Paint = { pass: same, fail: same, warn: same, dim: same, bold: same };

/** Slowest services listed with `--bench`. */
const SLOWEST_LISTED = 5;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function describeDocker(report: VerifyReport): string {
  const { docker } = report;
  if (docker.used) {
    const composeProject = docker.composeProject === undefined ? '' : `, project ${docker.composeProject}`;
    const compose = docker.compose === undefined ? '' : ` (${docker.compose === docker.containers ? 'all' : docker.compose} made by docker compose${composeProject}: not launched by n3xus)`;
    return `containers: ${docker.containers ?? 0} of project ${docker.project}${compose}`;
  }
  return `containers: not checked (${docker.reason ?? 'no engine'})`;
}

function failingChecks(service: ServiceResult): CheckResult[] {
  return service.checks.filter((c) => c.required && c.status !== 'pass');
}

/** Renders the summary as lines of text (without a trailing newline). */
export function renderSummary(report: VerifyReport, paint: Paint = PLAIN): string {
  const lines: string[] = [];
  const { counts } = report;
  lines.push(paint.bold(`n3xus verify${report.mode === 'full' ? ' --full' : ''} · ${report.host} · ${counts.services} targets · ${counts.checks} checks · ${seconds(report.durationMs)}`));
  if (report.sample) lines.push(paint.dim(`sample: ${report.sample.size} services, one or more per category, drawn from seed ${report.sample.seed} (--seed ${report.sample.seed} draws it again)`));
  if (report.functional?.ran === false) lines.push(paint.dim(`functional checks: not run (${report.functional.reason ?? 'turned off'}); nothing was written to the services`));
  if (report.escalatedFrom) {
    const { seed, size, failed } = report.escalatedFrom;
    lines.push(paint.warn(`escalated to --full: the sample of ${size} services (seed ${seed}) failed on ${failed.join(', ')}`));
  }
  lines.push(paint.dim(describeDocker(report)));
  lines.push('');

  const groups = new Map<string, ServiceResult[]>();
  for (const stage of STAGES) {
    for (const service of report.services.filter((s) => s.stage === stage)) {
      const key = `${stage}\u0000${service.group}`;
      groups.set(key, [...(groups.get(key) ?? []), service]);
    }
  }
  const stageWidth = Math.max(...STAGES.map((s) => s.length));
  const groupWidth = Math.max(0, ...[...groups.keys()].map((k) => k.split('\u0000')[1]!.length));
  const nameWidth = Math.max(0, ...report.services.filter((s) => !s.operational).map((s) => s.name.length));
  for (const [key, services] of groups) {
    const [stage, group] = key.split('\u0000') as [string, string];
    const ok = services.filter((s) => s.operational).length;
    const mark = ok === services.length ? paint.pass('✓') : paint.fail('✗');
    const tally = `${ok}/${services.length}`;
    lines.push(`${stage.padEnd(stageWidth)}  ${group.padEnd(groupWidth)}  ${ok === services.length ? tally : paint.fail(tally)} ${mark}`);
    // A service whose failures another target explains is listed under that root cause below, not here.
    for (const service of services.filter((s) => !s.operational && !onlyConsequences(s))) {
      const checks = failingChecks(service);
      const reasons: Array<{ name: string; message: string }> = checks.length > 0 ? checks : [{ name: 'checks', message: 'no required check ran' }];
      reasons.forEach((check, i) => {
        const who = i === 0 ? paint.fail(`✗ ${service.name.padEnd(nameWidth)}`) : ' '.repeat(nameWidth + 2);
        lines.push(`    ${who}  ${paint.bold(check.name)}: ${check.message}`);
      });
    }
  }

  const causes = rootCauses(report.services);
  if (causes.length > 0) {
    lines.push('', paint.bold('root causes:'));
    for (const { cause, affected } of causes) {
      const target = report.services.find((s) => s.name === cause);
      const degraded = target?.checks.find((c) => c.name === 'container')?.details?.degraded;
      if (typeof degraded === 'string' && (target?.kind === 'redis' || target?.kind === 'postgres')) {
        // Absent by design (degraded mode): one line, and the one command that makes it green.
        const server = target.kind === 'redis' ? 'Redis' : 'PostgreSQL';
        lines.push(`  ${paint.fail(`${server} is not running (degraded mode)`)}: ${affected.length} ${affected.length === 1 ? 'service' : 'services'} not ready because of it; run n3xus bootstrap --fix`);
        continue;
      }
      const shown = affected.length <= 5 ? affected.join(', ') : `${affected.slice(0, 5).join(', ')} and ${affected.length - 5} more`;
      lines.push(`  ${paint.fail(cause)} failed: ${affected.length} ${affected.length === 1 ? 'service fails' : 'services fail'} because of it (${shown})`);
    }
  }

  // The same warning on many services (a fleet whose health checks are all still "starting") is one line.
  const warned = new Map<string, string[]>();
  for (const service of report.services) {
    for (const check of service.checks) {
      const texts = [...(check.warnings ?? []), ...(!check.required && check.status !== 'pass' ? [check.message] : [])];
      for (const text of texts) {
        const key = `${check.name}: ${text}`;
        warned.set(key, [...(warned.get(key) ?? []), service.name]);
      }
    }
  }
  if (warned.size > 0) {
    const count = [...warned.values()].reduce((sum, names) => sum + names.length, 0);
    lines.push('', paint.warn(`warnings (${count}):`));
    for (const [text, names] of warned) {
      const who = names.length <= 3 ? names.join(', ') : `${names.length} services (${names.slice(0, 3).join(', ')}, …)`;
      lines.push(`  ${paint.warn('!')} ${who} ${text}`);
    }
  }

  if (report.latency && report.latency.length > 0) {
    lines.push('', paint.bold(`slowest (GET /health burst, by p95):`));
    for (const s of report.latency.slice(0, SLOWEST_LISTED)) {
      const errors = s.errors > 0 ? paint.fail(`, ${s.errors}/${s.requests} failed`) : '';
      lines.push(`  ${s.name.padEnd(Math.max(...report.latency.slice(0, SLOWEST_LISTED).map((l) => l.name.length)))}  p50 ${s.p50Ms} ms  p95 ${s.p95Ms} ms  p99 ${s.p99Ms} ms  max ${s.maxMs} ms${errors}`);
    }
  }

  const verdict = `${counts.operational}/${counts.services} operational (${report.operationalPercent} %), threshold ${report.threshold} %`;
  const law = report.law;
  // The law first, and apart: it gates on its own, whatever the availability figure says.
  lines.push(
    '',
    law.passed
      ? paint.pass(`LAW: enforced by every service checked (${law.checked} ${law.checked === 1 ? 'check' : 'checks'})`)
      : paint.fail(`LAW VIOLATED: ${law.violations.length} ${law.violations.length === 1 ? 'service does' : 'services do'} not enforce the N3XUS LAW: ${[...new Set(law.violations.map((v) => v.service))].join(', ')}`),
  );
  const notOperational = report.services.filter((s) => !s.operational).map((s) => s.name);
  if (report.passed) lines.push(paint.pass(`PASSED: ${verdict}`));
  else if (report.availabilityPassed) lines.push(paint.fail(`FAILED: the N3XUS LAW is violated; availability ${verdict}`));
  else lines.push(paint.fail(`FAILED: ${verdict}; not operational: ${notOperational.join(', ')}${law.passed ? '' : '; and the N3XUS LAW is violated'}`));
  return lines.join('\n');
}
