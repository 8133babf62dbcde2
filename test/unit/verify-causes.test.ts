import { describe, expect, it } from 'vitest';
import { markRootCauses, onlyConsequences, rootCauses } from '../../src/verify/causes.ts';
import { buildReport, serviceResult } from '../../src/verify/score.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import type { CheckResult, TargetKind, VerifyTarget } from '../../src/verify/types.ts';

const target = (name: string, kind: TargetKind = 'service'): VerifyTarget => ({ name, stage: kind === 'service' ? 'domain' : 'infra', group: 'g', category: name, kind, host: '127.0.0.1', port: 1, url: `http://127.0.0.1:1` });
const pass = (name: CheckResult['name']): CheckResult => ({ name, status: 'pass', required: true, message: 'ok', durationMs: 1 });
const fail = (name: CheckResult['name'], code: CheckResult['code'], message = 'no', details?: Record<string, unknown>): CheckResult => ({ name, status: 'fail', required: true, code, message, durationMs: 1, ...(details ? { details } : {}) });
const notRun = (name: CheckResult['name'], because: string): CheckResult => ({ name, status: 'not-run', required: true, code: 'dependency-failed', message: `not run: ${because}`, durationMs: 0 });

const postgresDown = serviceResult(target('postgres', 'postgres'), [fail('protocol', 'unreachable', 'connection refused')]);
const redisUp = serviceResult(target('redis', 'redis'), [pass('protocol')]);
const notReady = (name: string) => serviceResult(target(name), [pass('health'), pass('law'), fail('readiness', 'dependency-down', 'GET /ready answered 503: PostgreSQL down', { down: ['postgres'] })]);

describe('root causes', () => {
  it('marks a service not ready because of a PostgreSQL that is itself down, and groups them under it', () => {
    const marked = markRootCauses([postgresDown, redisUp, notReady('a'), notReady('b')]);
    expect(marked.find((s) => s.name === 'a')!.checks[2]).toMatchObject({ code: 'dependency-down', causedBy: 'postgres' });
    expect(marked.find((s) => s.name === 'postgres')!.checks[0]!.causedBy).toBeUndefined();
    expect(rootCauses(marked)).toEqual([{ cause: 'postgres', affected: ['a', 'b'] }]);
    expect(onlyConsequences(marked.find((s) => s.name === 'a')!)).toBe(true);
    expect(onlyConsequences(marked.find((s) => s.name === 'postgres')!)).toBe(false);
  });

  it('does not blame a dependency that verify finds up: the fault is between them', () => {
    const postgresUp = serviceResult(target('postgres', 'postgres'), [pass('protocol')]);
    const marked = markRootCauses([postgresUp, redisUp, notReady('a')]);
    expect(marked.find((s) => s.name === 'a')!.checks[2]!.causedBy).toBeUndefined();
    expect(rootCauses(marked)).toEqual([]);
  });

  it('marks a flow not run because another service did not answer, but never a service for its own silence', () => {
    const bus = serviceResult(target('event-bus'), [fail('health', 'unreachable'), notRun('law', 'event-bus did not answer GET /health')]);
    const dispatcher = serviceResult(target('webhook-dispatcher'), [pass('health'), notRun('event-delivery', 'event-bus did not answer GET /health')]);
    const marked = markRootCauses([bus, dispatcher]);
    expect(marked[0]!.checks[1]!.causedBy).toBeUndefined();
    expect(marked[1]!.checks[1]!.causedBy).toBe('event-bus');
    expect(rootCauses(marked)).toEqual([{ cause: 'event-bus', affected: ['webhook-dispatcher'] }]);
  });

  it('the report carries causedBy, and the summary lists the consequences under their cause, not one by one', () => {
    const services = [postgresDown, redisUp, ...Array.from({ length: 7 }, (_, i) => notReady(`svc-${i}`))];
    const report = buildReport({ mode: 'full', host: '127.0.0.1', fleetFile: 'f.yml', startedAt: new Date(0), durationMs: 1, threshold: 90, docker: { used: false, project: 'p' }, services });
    expect(report.services.filter((s) => s.checks.some((c) => c.causedBy === 'postgres'))).toHaveLength(7);
    const text = renderSummary(report);
    expect(text).toContain('root causes:\n  postgres failed: 7 services fail because of it (svc-0, svc-1, svc-2, svc-3, svc-4 and 2 more)');
    expect(text).toContain('✗ postgres');
    expect(text).not.toContain('✗ svc-0');
  });
});
