/**
 * The report as JUnit XML for CI: pure. One `<testsuite>` per stage and group, one `<testcase>` per check, and a
 * last suite, `gate`, with two test cases: the N3XUS LAW (fails when any service does not enforce it) and
 * availability (fails when the fleet is below the threshold) — so a CI test view shows each verdict next to the
 * checks that decided it.
 *
 * A failed check is a `<failure>`; a check that could not run is an `<error>` (it never counts as passed); a failed
 * informative check (`latency`) is `<skipped>`, because it is not part of the gate.
 */
import type { CheckResult, ServiceResult, VerifyReport } from './types.ts';

// XML 1.0 allows tab, newline, carriage return and most of Unicode; anything else cannot appear even escaped.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for an XML attribute or element, dropping characters XML cannot carry. */
export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

interface Case {
  classname: string;
  name: string;
  timeMs: number;
  outcome: { kind: 'pass' } | { kind: 'failure' | 'error' | 'skipped'; type: string; message: string };
}

function checkCase(service: ServiceResult, check: CheckResult): Case {
  const base = { classname: `n3xus.${service.stage}.${service.name}`, name: `${service.name} ${check.name}`, timeMs: check.durationMs };
  if (check.status === 'pass') return { ...base, outcome: { kind: 'pass' } };
  const type = check.code ?? 'error';
  if (!check.required) return { ...base, outcome: { kind: 'skipped', type, message: `informative check, not part of the gate: ${check.message}` } };
  return { ...base, outcome: { kind: check.status === 'not-run' ? 'error' : 'failure', type, message: check.message } };
}

function renderCase(c: Case): string {
  const open = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}" time="${seconds(c.timeMs)}"`;
  if (c.outcome.kind === 'pass') return `${open}/>`;
  const { kind, type, message } = c.outcome;
  const body = kind === 'skipped' ? `<skipped message="${xmlEscape(message)}"/>` : `<${kind} type="${xmlEscape(type)}" message="${xmlEscape(message)}">${xmlEscape(message)}</${kind}>`;
  return `${open}>\n      ${body}\n    </testcase>`;
}

function renderSuite(name: string, cases: readonly Case[], timestamp: string): string {
  const count = (kind: string) => cases.filter((c) => c.outcome.kind === kind).length;
  const timeMs = cases.reduce((sum, c) => sum + c.timeMs, 0);
  const attributes = `name="${xmlEscape(name)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${seconds(timeMs)}" timestamp="${timestamp}"`;
  return [`  <testsuite ${attributes}>`, ...cases.map(renderCase), '  </testsuite>'].join('\n');
}

/** Renders the report as a JUnit XML document (the format most CI systems read). */
export function renderJunit(report: VerifyReport): string {
  const suites = new Map<string, Case[]>();
  for (const service of report.services) {
    const key = `${service.stage}/${service.group}`;
    const cases = suites.get(key) ?? [];
    cases.push(...service.checks.map((check) => checkCase(service, check)));
    suites.set(key, cases);
  }
  const { operational, services } = report.counts;
  const verdict = `${operational}/${services} services operational (${report.operationalPercent} %), threshold ${report.threshold} %`;
  const gate: Case = {
    classname: 'n3xus.gate',
    name: `operational >= ${report.threshold} %`,
    timeMs: report.durationMs,
    outcome: report.availabilityPassed ? { kind: 'pass' } : { kind: 'failure', type: 'below-threshold', message: `${verdict}; failed: ${report.services.filter((s) => !s.operational).map((s) => s.name).join(', ')}` },
  };
  const law: Case = {
    classname: 'n3xus.gate',
    name: 'the N3XUS LAW is enforced by every service',
    timeMs: 0,
    outcome: report.law.passed
      ? { kind: 'pass' }
      : { kind: 'failure', type: 'law-violation', message: report.law.violations.map((v) => `${v.service}: ${v.message}`).join('; ') },
  };
  // The law is a case of its own: it gates whatever the threshold, and a CI view shows it apart from availability.
  suites.set('gate', [law, gate]);

  const all = [...suites.values()].flat();
  const count = (kind: string) => all.filter((c) => c.outcome.kind === kind).length;
  const timestamp = report.startedAt.replace(/\.\d+Z$/, '');
  const header = `<testsuites name="n3xus verify${report.mode === 'full' ? ' --full' : ''}" tests="${all.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${seconds(report.durationMs)}">`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', header, ...[...suites].map(([name, cases]) => renderSuite(name, cases, timestamp)), '</testsuites>', ''].join('\n');
}
