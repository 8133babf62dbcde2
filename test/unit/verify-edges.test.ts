import { describe, expect, it } from 'vitest';
import type { CallReport } from '../../services/_kit/src/calls.ts';
import { markRootCauses, onlyConsequences, rootCauses } from '../../src/verify/causes.ts';
import { judgeCalls, judgeEdge, secondChances, type CallsObservation, type EdgeResult } from '../../src/verify/edges.ts';
import type { Answer } from '../../src/verify/judge.ts';
import { serviceResult } from '../../src/verify/score.ts';
import type { CheckResult, VerifyTarget } from '../../src/verify/types.ts';

const json = (status: number, body: unknown): Answer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), durationMs: 4 });
const reached = (peer: string, latencyMs = 2): CallReport => ({ peer, reached: true, status: 200, answeredBy: peer, latencyMs, breaker: 'closed' });
const refused = (peer: string): CallReport => ({ peer, reached: false, latencyMs: 150, breaker: 'closed', error: 'connection refused (ECONNREFUSED)' });
const observe = (answer: Answer, declared = ['ledger', 'registry'], verifyReaches?: Record<string, boolean>): CallsObservation => ({ caller: 'billing', declared, answer, ...(verifyReaches ? { verifyReaches } : {}) });
const edges = (check: CheckResult): EdgeResult[] => check.details!.edges as EdgeResult[];


describe('judgeEdge: which side of a declared call failed', () => {
  it('passes a call the callee answered 2xx as itself', () => {
    expect(judgeEdge('billing', 'ledger', reached('ledger', 3.5), true)).toEqual({ caller: 'billing', callee: 'ledger', passed: true, status: 200, latencyMs: 3.5, breaker: 'closed' });
  });

  it.each([
    ['the callee refused the handshake', { peer: 'ledger', reached: false, status: 451, latencyMs: 1, breaker: 'closed', error: 'answered 451' }, 'callee', "ledger refused billing's handshake with 451 (do both hold the fleet's handshake?)"],
    ['the callee failed', { peer: 'ledger', reached: false, status: 503, latencyMs: 1, breaker: 'closed', error: 'answered 503' }, 'callee', "ledger answered billing's call 503"],
    ['the callee has no ping route', { peer: 'ledger', reached: false, status: 404, latencyMs: 1, breaker: 'closed', error: 'answered 404' }, 'callee', "ledger answered billing's call 404: it has no ping route (is its image built from the current kit?)"],
    ['the callee rate-limits', { peer: 'ledger', reached: false, status: 429, latencyMs: 1, breaker: 'closed', error: 'answered 429' }, 'callee', "ledger answered billing's call 429"],
    ['the callee timed out', { peer: 'ledger', reached: false, latencyMs: 1600, breaker: 'closed', error: 'no answer within 500 ms' }, 'callee', 'ledger is unreachable from billing (no answer within 500 ms)'],
    ["the caller's circuit is open", { peer: 'ledger', reached: false, latencyMs: 0.2, breaker: 'open', error: 'circuit open: the call was not made' }, 'caller', "billing's circuit breaker to ledger is open after earlier failed calls, so it did not call (circuit open: the call was not made)"],
    ['another service answers at the address', { peer: 'ledger', reached: false, status: 200, answeredBy: 'registry', latencyMs: 1, breaker: 'closed', error: '"registry" answered instead' }, 'caller', '"registry" answered at the address billing has for ledger: its N3XUS_PEERS points ledger at another service'],
    ['an answer that names nobody', { peer: 'ledger', reached: false, status: 200, latencyMs: 1, breaker: 'closed', error: 'answered without naming a service' }, 'caller', 'an answer that names no service answered at the address billing has for ledger: its N3XUS_PEERS points ledger at another service'],
  ] as Array<[string, CallReport, string, string]>)('%s', (_label, call, side, problem) => {
    expect(judgeEdge('billing', 'ledger', call, undefined)).toMatchObject({ caller: 'billing', callee: 'ledger', passed: false, side, problem });
  });

  it("an unreachable callee: whether verify reaches it tells the callee down from an address only the caller has wrong", () => {
    expect(judgeEdge('billing', 'ledger', refused('ledger'), false).problem).toBe('ledger is unreachable from billing (connection refused (ECONNREFUSED)) (verify cannot reach ledger either)');
    expect(judgeEdge('billing', 'ledger', refused('ledger'), true).problem).toBe(
      'ledger is unreachable from billing (connection refused (ECONNREFUSED)), while verify reaches ledger itself: the address billing has for it, or the network between them, is wrong',
    );
    expect(judgeEdge('billing', 'ledger', refused('ledger'), true).side).toBe('callee');
  });

  it('a declared peer the caller does not report is the caller side', () => {
    expect(judgeEdge('billing', 'ledger', undefined, true)).toEqual({ caller: 'billing', callee: 'ledger', passed: false, side: 'caller', problem: 'billing does not declare ledger (not in its N3XUS_PEERS), though the fleet file gives it' });
  });
});

describe('judgeCalls: one caller, every declared edge', () => {
  it('passes when every declared peer was reached, naming each with its latency', () => {
    const check = judgeCalls(observe(json(200, { service: 'billing', peers: [reached('ledger', 2.5), reached('registry', 1)] })));
    expect(check).toMatchObject({ name: 'calls', status: 'pass', required: true, message: 'billing reached every declared peer, with the handshake, through its circuit breaker: ledger 2.5 ms, registry 1 ms' });
    expect(check.warnings).toBeUndefined();
    expect(edges(check).map((e) => e.passed)).toEqual([true, true]);
  });

  it('fails on one broken edge among several, naming both ends and the side', () => {
    const check = judgeCalls(observe(json(502, { service: 'billing', peers: [reached('ledger'), refused('registry')] }), ['ledger', 'registry'], { ledger: true, registry: false }));
    expect(check).toMatchObject({
      status: 'fail',
      code: 'call-failed',
      message: '1 of 2 declared calls failed: billing → registry (callee side): registry is unreachable from billing (connection refused (ECONNREFUSED)) (verify cannot reach registry either)',
    });
    expect(edges(check).map((e) => [e.callee, e.passed, e.side])).toEqual([['ledger', true, undefined], ['registry', false, 'callee']]);
  });

  it('a 200 whose report is missing a declared peer fails on the caller side', () => {
    const check = judgeCalls(observe(json(200, { service: 'billing', peers: [reached('ledger')] })));
    expect(check).toMatchObject({ status: 'fail', code: 'call-failed' });
    expect(edges(check)[1]).toMatchObject({ callee: 'registry', side: 'caller' });
  });

  it('warns about a call the caller makes that the fleet file does not declare, without failing', () => {
    const check = judgeCalls(observe(json(200, { service: 'billing', peers: [reached('ledger'), reached('registry'), reached('extra')] })));
    expect(check.status).toBe('pass');
    expect(check.warnings).toEqual(['billing also calls extra, which the fleet file does not declare for it']);
  });

  it.each([
    ['no answer', { kind: 'refused', message: 'connection refused', durationMs: 1 }, 'unreachable', 'billing GET /_n3xus/calls: connection refused'],
    ['no answer in time', { kind: 'timeout', message: 'no answer within 2000 ms', durationMs: 2000 }, 'timeout', 'billing GET /_n3xus/calls: no answer within 2000 ms'],
    ['the handshake refused', json(451, { error: { code: 'N3XUS_LAW', message: 'no' } }), 'call-failed', "billing refused verify's handshake on /_n3xus/calls with 451"],
    ['no such route', json(404, { error: { code: 'NOT_FOUND', message: 'No route for GET /_n3xus/calls.' } }), 'call-failed', 'billing has no /_n3xus/calls route (answered 404): is its image built from the current kit?'],
    ['another status', json(500, { error: { code: 'INTERNAL', message: 'x' } }), 'call-failed', 'billing GET /_n3xus/calls answered 500; expected 200 (or 502) with a report of each call'],
  ] as Array<[string, Answer, string, string]>)('the caller side for every edge when the caller gives %s', (_label, answer, code, problem) => {
    const check = judgeCalls(observe(answer));
    expect(check).toMatchObject({ status: 'fail', code, message: `billing → ledger, billing → registry not checked (caller side): ${problem}` });
    expect(edges(check)).toEqual([
      { caller: 'billing', callee: 'ledger', passed: false, side: 'caller', problem },
      { caller: 'billing', callee: 'registry', passed: false, side: 'caller', problem },
    ]);
  });

  it.each([
    ['not JSON', { status: 200, headers: {}, body: 'OK', durationMs: 1 }],
    ['no peers', json(200, { service: 'billing' })],
    ['a peer without its fields', json(200, { service: 'billing', peers: [{ peer: 'ledger' }] })],
    ['another service', json(200, { service: 'ledger', peers: [] })],
  ] as Array<[string, Answer]>)('a report that is %s is malformed, on the caller side', (_label, answer) => {
    const check = judgeCalls(observe(answer));
    expect(check).toMatchObject({ status: 'fail', code: 'malformed' });
    expect(check.message).toMatch(/^caller side: billing GET \/_n3xus\/calls answered 200 with .*; expected \{"service":"billing","peers":\[…\]\}$/);
    expect(edges(check).every((e) => e.side === 'caller')).toBe(true);
  });
});

describe('root causes of broken calls', () => {
  const target = (name: string): VerifyTarget => ({ name, stage: 'domain', group: 'g', category: name, kind: 'service', host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1' });
  const pass = (name: CheckResult['name']): CheckResult => ({ name, status: 'pass', required: true, message: 'ok', durationMs: 1 });
  const down = serviceResult(target('registry'), [{ name: 'health', status: 'fail', required: true, code: 'unreachable', message: 'GET /health: connection refused', durationMs: 1 }]);
  const up = (name: string) => serviceResult(target(name), [pass('health'), pass('law'), pass('readiness')]);
  const billing = (peers: CallReport[], reaches: Record<string, boolean>) =>
    serviceResult(target('billing'), [pass('health'), pass('law'), pass('readiness'), judgeCalls(observe(json(502, { service: 'billing', peers }), peers.map((p) => p.peer), reaches))]);
  const callsOf = (services: ReturnType<typeof markRootCauses>) => services.find((s) => s.name === 'billing')!.checks.find((c) => c.name === 'calls')!;

  it('a callee that fails its own health check is the cause of the edge that broke on its side', () => {
    const marked = markRootCauses([down, billing([refused('registry')], { registry: false })]);
    expect(callsOf(marked).causedBy).toBe('registry');
    expect(rootCauses(marked)).toEqual([{ cause: 'registry', affected: ['billing'] }]);
    expect(onlyConsequences(marked.find((s) => s.name === 'billing')!)).toBe(true);
  });

  it("the caller's open circuit to a callee that is down is caused by the callee too", () => {
    const open: CallReport = { peer: 'registry', reached: false, latencyMs: 0.1, breaker: 'open', error: 'circuit open: the call was not made' };
    expect(callsOf(markRootCauses([down, billing([open], { registry: false })])).causedBy).toBe('registry');
  });

  it('a callee verify reaches is no cause: the fault is between them', () => {
    expect(callsOf(markRootCauses([up('registry'), billing([refused('registry')], { registry: true })])).causedBy).toBeUndefined();
  });

  it('a callee that answers its health but is not operational for another reason is no cause of an unreachable call', () => {
    const notReady = serviceResult(target('registry'), [pass('health'), pass('law'), { name: 'readiness', status: 'fail', required: true, code: 'not-ready', message: 'x', durationMs: 1 }]);
    expect(callsOf(markRootCauses([notReady, billing([refused('registry')], { registry: true })])).causedBy).toBeUndefined();
  });

  it("a caller-side fault beside a broken edge to a dead callee is not hidden under the callee", () => {
    const impostor: CallReport = { peer: 'ledger', reached: false, status: 200, answeredBy: 'other', latencyMs: 1, breaker: 'closed', error: '"other" answered instead' };
    const marked = markRootCauses([down, up('ledger'), billing([refused('registry'), impostor], { registry: false, ledger: true })]);
    expect(callsOf(marked).causedBy).toBeUndefined();
  });
});

describe('a second call for a callee the first got no answer from in time', () => {
  const slow = (peer: string): CallReport => ({ peer, reached: false, latencyMs: 1800, breaker: 'closed', error: 'no answer in time (1000 ms per attempt, 1800 ms in all)' });
  const first = json(502, { service: 'billing', peers: [reached('ledger'), slow('registry')] });

  it('is asked only where verify reaches the callee itself, the circuit is not open, and no status came back', () => {
    expect(secondChances(first, ['ledger', 'registry'], { ledger: true, registry: true })).toEqual(['registry']);
    expect(secondChances(first, ['ledger', 'registry'], { ledger: true, registry: false })).toEqual([]);
    expect(secondChances(first, ['ledger', 'registry'], { ledger: true })).toEqual([]);
    const open = json(502, { service: 'billing', peers: [reached('ledger'), { ...slow('registry'), breaker: 'open' }] });
    expect(secondChances(open, ['ledger', 'registry'], { ledger: true, registry: true })).toEqual([]);
    const answered503 = json(502, { service: 'billing', peers: [reached('ledger'), { ...slow('registry'), status: 503 }] });
    expect(secondChances(answered503, ['ledger', 'registry'], { ledger: true, registry: true })).toEqual([]);
    expect(secondChances({ kind: 'timeout', message: 'no answer within 2000 ms', durationMs: 2000 }, ['ledger'], { ledger: true })).toEqual([]);
    // A refusal is an answer: asking again would only count against the caller's circuit.
    const refusedFirst = json(502, { service: 'billing', peers: [reached('ledger'), refused('registry')] });
    expect(secondChances(refusedFirst, ['ledger', 'registry'], { ledger: true, registry: true })).toEqual([]);
  });

  it('passes an edge the second call reached, and says it took two', () => {
    const again = { registry: json(200, { service: 'billing', peers: [reached('registry', 40)] }) };
    const check = judgeCalls({ ...observe(first, ['ledger', 'registry'], { ledger: true, registry: true }), again });
    expect(check).toMatchObject({ status: 'pass', warnings: ['billing reached registry on a second call: the first got no answer in time'] });
    expect(edges(check).map((e) => [e.callee, e.passed, e.latencyMs])).toEqual([['ledger', true, 2], ['registry', true, 40]]);
  });

  it('keeps the first report when the second call was not made because the circuit opened', () => {
    const again = { registry: json(502, { service: 'billing', peers: [{ peer: 'registry', reached: false, latencyMs: 0, breaker: 'open', error: 'circuit open' }] }) };
    const check = judgeCalls({ ...observe(first, ['ledger', 'registry'], { ledger: true, registry: true }), again });
    expect(check.message).toContain('billing → registry (callee side): registry is unreachable from billing (no answer in time');
  });

  it('fails an edge the second call did not reach either, on the callee side, with what the second call saw', () => {
    const again = { registry: json(502, { service: 'billing', peers: [{ ...slow('registry'), error: 'other side closed' }] }) };
    const check = judgeCalls({ ...observe(first, ['ledger', 'registry'], { ledger: true, registry: true }), again });
    expect(check).toMatchObject({ status: 'fail', code: 'call-failed' });
    expect(check.message).toContain('billing → registry (callee side): registry is unreachable from billing (other side closed), while verify reaches registry itself');
  });
});
