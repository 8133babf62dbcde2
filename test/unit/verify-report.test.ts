import { describe, expect, it } from 'vitest';
import { renderJunit, xmlEscape } from '../../src/verify/junit.ts';
import { buildReport, serviceResult } from '../../src/verify/score.ts';
import { summarizeLatency } from '../../src/verify/stats.ts';
import { PLAIN, renderSummary, type Paint } from '../../src/verify/summary.ts';
import type { CheckResult, VerifyReport, VerifyTarget } from '../../src/verify/types.ts';

const target = (name: string, stage: VerifyTarget['stage'], group: string, kind: VerifyTarget['kind'] = 'service'): VerifyTarget => ({
  name, stage, group, category: 'c', kind, host: '127.0.0.1', port: 1, url: `http://127.0.0.1:1`,
});
const check = (name: CheckResult['name'], patch: Partial<CheckResult> = {}): CheckResult => ({ name, status: 'pass', required: true, message: `${name} ok`, durationMs: 1.5, ...patch });

function sampleReport(threshold = 50): VerifyReport {
  const services = [
    serviceResult(target('postgres', 'infra', 'infrastructure', 'postgres'), [check('protocol'), check('container')]),
    serviceResult(target('v-supercore', 'core', 'core-runtime'), [check('health'), check('law'), check('readiness'), check('container', { warnings: ['the engine restarted it 2 times'] })]),
    serviceResult(target('audit-trail', 'compliance', 'compliance'), [
      check('health', { status: 'fail', code: 'unreachable', message: 'GET /health: connection refused <&>' }),
      check('law', { status: 'not-run', code: 'dependency-failed', message: 'not run: audit-trail did not answer GET /health' }),
      check('latency', { status: 'fail', required: false, code: 'timeout', message: '3 of 20 requests failed' }),
    ]),
  ];
  return buildReport({
    mode: 'full', host: '127.0.0.1', fleetFile: 'compose/docker-compose.full.yml', startedAt: new Date('2026-01-01T00:00:00.123Z'), durationMs: 1234, threshold,
    docker: { used: true, project: 'n3xus', containers: 3 }, services, latency: [summarizeLatency('v-supercore', [1, 2, 3], 0)],
  });
}

describe('the --json report', () => {
  it('keeps its documented shape (docs/verify-schema.md): changing it means bumping schemaVersion', () => {
    const json = JSON.parse(JSON.stringify(sampleReport())) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['availabilityPassed', 'counts', 'docker', 'durationMs', 'fleetFile', 'host', 'latency', 'law', 'mode', 'operationalPercent', 'passed', 'schemaVersion', 'services', 'startedAt', 'threshold']);
    expect(json.schemaVersion).toBe(2);
    expect(Object.keys(json.law as object).sort()).toEqual(['checked', 'passed', 'violations']);
    expect(Object.keys(json.counts as object).sort()).toEqual(['checks', 'checksPassed', 'failed', 'operational', 'services']);
    const service = (json.services as Array<Record<string, unknown>>)[2]!;
    expect(Object.keys(service).sort()).toEqual(['category', 'checks', 'group', 'kind', 'name', 'operational', 'stage', 'url']);
    const failed = (service.checks as Array<Record<string, unknown>>)[0]!;
    expect(Object.keys(failed).sort()).toEqual(['code', 'durationMs', 'message', 'name', 'required', 'status']);
    expect(Object.keys((json.latency as object[])[0]!).sort()).toEqual(['errors', 'maxMs', 'name', 'p50Ms', 'p95Ms', 'p99Ms', 'requests']);
  });
});

describe('JUnit rendering', () => {
  const xml = renderJunit(sampleReport());

  it('has a test case per check, grouped in a suite per stage and group, plus the gate (the law, and availability)', () => {
    expect(xml.match(/<testcase /g)).toHaveLength(9 + 2);
    expect(xml).toContain('<testsuite name="infra/infrastructure" tests="2" failures="0" errors="0" skipped="0"');
    expect(xml).toContain('<testsuite name="compliance/compliance" tests="3" failures="1" errors="1" skipped="1"');
    expect(xml).toContain('<testsuites name="n3xus verify --full" tests="11" failures="1" errors="1" skipped="1" time="1.234">');
    expect(xml).toContain('<testcase classname="n3xus.gate" name="the N3XUS LAW is enforced by every service" time="0.000"/>');
    expect(xml).toContain('<testcase classname="n3xus.core.v-supercore" name="v-supercore health" time="0.002"/>');
  });

  it('a failed check is a failure with its code, a check that could not run is an error, an informative one is skipped', () => {
    expect(xml).toContain('<failure type="unreachable" message="GET /health: connection refused &lt;&amp;&gt;">');
    expect(xml).toContain('<error type="dependency-failed" message="not run: audit-trail did not answer GET /health">');
    expect(xml).toContain('<skipped message="informative check, not part of the gate: 3 of 20 requests failed"/>');
  });

  it('the gate case passes at the threshold and fails below it, naming who failed', () => {
    expect(xml).toMatch(/<testcase classname="n3xus.gate" name="operational &gt;= 50 %" time="1.234"\/>/);
    const below = renderJunit(sampleReport(100));
    expect(below).toContain('<failure type="below-threshold" message="2/3 services operational (66.6 %), threshold 100 %; failed: audit-trail">');
  });

  it('escapes markup and drops characters XML cannot carry', () => {
    expect(xmlEscape(`a<b>&"c"'d'\u0000\u001b[31m`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;[31m');
    expect(xmlEscape('ünïcödé ✓ 😀')).toBe('ünïcödé ✓ 😀');
  });

  it('is one document with balanced suites', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml.match(/<testsuite /g)?.length).toBe(xml.match(/<\/testsuite>/g)?.length);
    expect(xml.trimEnd().endsWith('</testsuites>')).toBe(true);
  });
});

describe('summary rendering', () => {
  const text = renderSummary(sampleReport());

  it('groups by stage and group with counts, and lists each failing check of each failing service with why', () => {
    expect(text).toContain('n3xus verify --full · 127.0.0.1 · 3 targets · 9 checks · 1.23 s');
    expect(text).toContain('containers: 3 of project n3xus');
    expect(text).toMatch(/^infra +infrastructure +1\/1 ✓$/m);
    expect(text).toMatch(/^compliance +compliance +0\/1 ✗$/m);
    expect(text).toContain('✗ audit-trail  health: GET /health: connection refused <&>');
    expect(text).toMatch(/^ +law: not run: audit-trail did not answer GET \/health$/m);
    expect(text).not.toContain('v-supercore  health');
  });

  it('lists warnings and failed informative checks apart from failures', () => {
    expect(text).toContain('warnings (2):');
    expect(text).toContain('! v-supercore container: the engine restarted it 2 times');
    expect(text).toContain('! audit-trail latency: 3 of 20 requests failed');
  });

  it('lists the slowest services of a bench run and ends with the verdict', () => {
    expect(text).toContain('slowest (GET /health burst, by p95):');
    expect(text).toMatch(/v-supercore +p50 2 ms +p95 3 ms/);
    expect(text.split('\n').at(-1)).toBe('PASSED: 2/3 operational (66.6 %), threshold 50 %');
    expect(renderSummary(sampleReport(90)).split('\n').at(-1)).toBe('FAILED: 2/3 operational (66.6 %), threshold 90 %; not operational: audit-trail');
  });

  it('says why containers were not checked', () => {
    const report = { ...sampleReport(), docker: { used: false, reason: 'container checks turned off (--no-docker)', project: 'n3xus' } };
    expect(renderSummary(report)).toContain('containers: not checked (container checks turned off (--no-docker))');
  });

  it('colours only through the paint it is given: plain text has no escape codes', () => {
    // eslint-disable-next-line no-control-regex -- looking for ANSI escapes
    expect(renderSummary(sampleReport(), PLAIN)).not.toMatch(/\u001b\[/);
    const tagged: Paint = { pass: (t) => `<g>${t}</g>`, fail: (t) => `<r>${t}</r>`, warn: (t) => `<y>${t}</y>`, dim: (t) => t, bold: (t) => t };
    expect(renderSummary(sampleReport(90), tagged).split('\n').at(-1)).toMatch(/^<r>FAILED: /);
  });
});

describe('summary warnings', () => {
  it('folds the same warning on many services into one line', () => {
    const starting = (name: string) =>
      serviceResult(target(name, 'extended', 'ext'), [check('health'), check('container', { warnings: ['Docker health is still "starting": no health check has completed yet'] })]);
    const report = buildReport({
      mode: 'full', host: '127.0.0.1', fleetFile: 'f', startedAt: new Date(0), durationMs: 1, threshold: 90,
      docker: { used: true, project: 'n3xus', containers: 5 }, services: ['a', 'b', 'c', 'd', 'e'].map(starting),
    });
    const text = renderSummary(report);
    expect(text).toContain('warnings (5):\n  ! 5 services (a, b, c, …) container: Docker health is still "starting": no health check has completed yet\n');
  });
});
