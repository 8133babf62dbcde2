import { describe, expect, it } from 'vitest';
import { buildReport, isOperational, lawViolations, meetsThreshold, nothingAnswered, operationalPercent, serviceResult } from '../../src/verify/score.ts';
import { percentile, slowestFirst, summarizeLatency } from '../../src/verify/stats.ts';
import type { CheckResult, DockerUse, VerifyTarget } from '../../src/verify/types.ts';

const pass = (name: CheckResult['name'], required = true): CheckResult => ({ name, status: 'pass', required, message: 'ok', durationMs: 1 });
const fail = (name: CheckResult['name'], code: CheckResult['code'] = 'bad-status', required = true): CheckResult => ({ name, status: 'fail', required, code, message: 'no', durationMs: 1 });
const notRun = (name: CheckResult['name']): CheckResult => ({ name, status: 'not-run', required: true, code: 'dependency-failed', message: 'not run', durationMs: 0 });
const target = (name: string): VerifyTarget => ({ name, stage: 'core', group: 'g', category: 'c', kind: 'service', host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1' });
const noDocker: DockerUse = { used: false, reason: 'off', project: 'n3xus' };

describe('verify scoring', () => {
  it('a service is operational only when every required check passed', () => {
    expect(isOperational([pass('health'), pass('law'), pass('readiness')])).toBe(true);
    expect(isOperational([pass('health'), fail('law')])).toBe(false);
  });

  it('a check that could not run never counts as passed', () => {
    expect(isOperational([pass('health'), notRun('readiness')])).toBe(false);
  });

  it('informative checks do not decide, and no required check at all is not operational', () => {
    expect(isOperational([pass('health'), fail('latency', 'timeout', false)])).toBe(true);
    expect(isOperational([pass('latency', false)])).toBe(false);
    expect(isOperational([])).toBe(false);
  });

  it('the percentage is rounded down, so it never shows a threshold the fleet missed', () => {
    expect(operationalPercent(98, 100)).toBe(98);
    expect(operationalPercent(2, 3)).toBe(66.6);
    expect(operationalPercent(9999, 10000)).toBe(99.9);
    expect(operationalPercent(0, 0)).toBe(0);
  });

  it('the gate compares exactly: at the threshold passes, a hair below fails', () => {
    expect(meetsThreshold(90, 100, 90)).toBe(true);
    expect(meetsThreshold(89, 100, 90)).toBe(false);
    expect(meetsThreshold(9, 10, 90)).toBe(true);
    expect(meetsThreshold(2, 3, 66.7)).toBe(false);
    expect(meetsThreshold(2, 3, 66.6)).toBe(true);
    expect(meetsThreshold(0, 5, 0)).toBe(true);
    expect(meetsThreshold(0, 0, 0)).toBe(false);
  });

  it('the report counts services and checks and carries the verdict', () => {
    const services = [serviceResult(target('a'), [pass('health'), pass('law')]), serviceResult(target('b'), [fail('health', 'unreachable'), notRun('law')])];
    const report = buildReport({ mode: 'full', host: '127.0.0.1', fleetFile: 'f.yml', startedAt: new Date('2026-01-01T00:00:00Z'), durationMs: 812.4, threshold: 50, docker: noDocker, services });
    expect(report).toMatchObject({
      schemaVersion: 2,
      operationalPercent: 50,
      passed: true,
      availabilityPassed: true,
      law: { passed: true, checked: 1, violations: [] },
      durationMs: 812,
      startedAt: '2026-01-01T00:00:00.000Z',
      counts: { services: 2, operational: 1, failed: 1, checks: 4, checksPassed: 2 },
    });
    expect(report.services.map((s) => s.operational)).toEqual([true, false]);
    expect(report).not.toHaveProperty('latency');
  });

  it('fails the gate on a single law violation, whatever the threshold, and keeps availability apart', () => {
    const services = [
      serviceResult(target('a'), [pass('health'), fail('law', 'law-not-enforced')]),
      serviceResult(target('b'), [pass('health'), pass('law')]),
      serviceResult(target('c'), [pass('health'), fail('law', 'timeout')]),
    ];
    const report = buildReport({ mode: 'full', host: '127.0.0.1', fleetFile: 'f.yml', startedAt: new Date(0), durationMs: 1, threshold: 0, docker: noDocker, services });
    expect(report).toMatchObject({ passed: false, availabilityPassed: true, law: { passed: false, checked: 3 } });
    // A law probe that got no answer is the service being down (availability), not the law broken.
    expect(report.law.violations.map((v) => [v.service, v.code])).toEqual([['a', 'law-not-enforced']]);
    expect(lawViolations([serviceResult(target('d'), [fail('law', 'law-leak'), fail('law', 'law-refused')])]).map((v) => v.code)).toEqual(['law-leak', 'law-refused']);
  });

  it('nothing answered means every first check got no connection and no container was seen', () => {
    const silent = [serviceResult(target('a'), [fail('health', 'unreachable')]), serviceResult(target('b'), [fail('protocol', 'timeout')])];
    expect(nothingAnswered(silent, noDocker)).toBe(true);
    expect(nothingAnswered(silent, { used: true, project: 'n3xus', containers: 2 })).toBe(false);
    expect(nothingAnswered([...silent, serviceResult(target('c'), [fail('health', 'malformed')])], noDocker)).toBe(false);
    expect(nothingAnswered([], noDocker)).toBe(false);
  });
});

describe('latency statistics', () => {
  it('percentiles by nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 0)).toBe(1);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBe(99);
    expect(percentile([], 50)).toBe(0);
  });

  it('summaries round to 0.1 ms and count errors as requests', () => {
    expect(summarizeLatency('a', [1.04, 2.06, 3], 1)).toEqual({ name: 'a', requests: 4, errors: 1, p50Ms: 2.1, p95Ms: 3, p99Ms: 3, maxMs: 3 });
  });

  it('slowest first: all-failed services, then by p95', () => {
    const a = summarizeLatency('a', [1, 2], 0);
    const b = summarizeLatency('b', [9, 10], 0);
    const c = summarizeLatency('c', [], 3);
    expect(slowestFirst([a, b, c]).map((s) => s.name)).toEqual(['c', 'b', 'a']);
  });
});
