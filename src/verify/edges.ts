/**
 * Every declared call of `--full`: each service that declares peers (its `N3XUS_PEERS` in the fleet file) is asked,
 * with the handshake, to call them all through its kit route `GET /_n3xus/calls` (services/_kit/src/calls.ts), and
 * each edge is judged here. The judge is pure; the runner below only collects the answers. A broken edge names both
 * ends and the side that failed: the caller (no answer, no route, refuses the handshake, its circuit to the callee
 * open, another service at the address it has for the callee) or the callee (refused the call, unreachable from the
 * caller, answered 5xx or 451 to the caller's handshake).
 */
import type { CallReport } from '../../services/_kit/src/calls.ts';
import type { Ask } from './ask.ts';
import { checkError, failureCode, isFailure, notRun, preview, type Answer } from './judge.ts';
import { peerNames, type PeerSource } from './targets.ts';
import type { CheckResult, VerifyTarget } from './types.ts';
import { CALL_TIMEOUT_ERROR, CALLS_PATH } from '../../services/_kit/src/kit-routes.ts';

/** Which end of a declared call failed. */
export type EdgeSide = 'caller' | 'callee';

/** One declared call as judged, in the check's `details.edges`. */
export interface EdgeResult {
  caller: string;
  callee: string;
  passed: boolean;
  /** The end that failed (absent when passed). */
  side?: EdgeSide;
  /** The callee's status to the caller's call, when it answered. */
  status?: number;
  latencyMs?: number;
  /** The caller's circuit to the callee after the call, as the caller reports it. */
  breaker?: CallReport['breaker'];
  /** What went wrong, one clause. */
  problem?: string;
}

/** What verify saw of one caller's declared calls. */
export interface CallsObservation {
  caller: string;
  /** The peers the fleet file gives the caller, in its order. */
  declared: readonly string[];
  /** `GET <caller>/_n3xus/calls` with the handshake. */
  answer: Answer;
  /**
   * Whether verify itself got an answer from each callee's `GET /health` in the same run (absent: the callee is not
   * one of this run's targets). It tells a callee that is down from one only the caller cannot reach.
   */
  verifyReaches?: Readonly<Record<string, boolean>>;
  /**
   * `GET <caller>/_n3xus/calls/<callee>` asked once more for each callee the first report says got no answer in time
   * while verify reaches it (see {@link secondChances}).
   */
  again?: Readonly<Record<string, Answer>>;
}

/** The report of one call in a calls route's answer, or undefined when the answer holds none for that peer. */
function reportOf(answer: Answer, peer: string): CallReport | undefined {
  if (isFailure(answer)) return undefined;
  try {
    const parsed = JSON.parse(answer.body) as unknown;
    const peers = isRecord(parsed) && Array.isArray(parsed.peers) ? parsed.peers.map(callReport) : [];
    return peers.find((r) => r?.peer === peer);
  } catch {
    return undefined;
  }
}

/**
 * The callees to ask about once more: those the caller's first report says it got no answer from in time (a
 * timeout, not a refusal; its circuit not open) while verify reaches them itself. The first calls after a launch meet 36 callers
 * and their peers on cold paths, all at once; a slow first answer is not a broken path, as with verify's own
 * requests (see ask.ts). A path that is really broken fails the second call too.
 */
export function secondChances(answer: Answer, declared: readonly string[], verifyReaches: Readonly<Record<string, boolean>>): string[] {
  return declared.filter((callee) => {
    const call = reportOf(answer, callee);
    return call !== undefined && !call.reached && call.status === undefined && call.breaker !== 'open' && (call.error ?? '').startsWith(CALL_TIMEOUT_ERROR) && verifyReaches[callee] === true;
  });
}

const round = (value: number): number => Math.round(value * 10) / 10;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A reported call, if it has the shape the kit gives it. */
function callReport(value: unknown): CallReport | undefined {
  if (!isRecord(value) || typeof value.peer !== 'string' || typeof value.reached !== 'boolean') return undefined;
  const breaker = value.breaker === 'closed' || value.breaker === 'open' || value.breaker === 'half-open' ? value.breaker : 'closed';
  return {
    peer: value.peer,
    reached: value.reached,
    ...(typeof value.status === 'number' ? { status: value.status } : {}),
    ...(typeof value.answeredBy === 'string' ? { answeredBy: value.answeredBy } : {}),
    latencyMs: typeof value.latencyMs === 'number' ? value.latencyMs : 0,
    breaker,
    ...(typeof value.error === 'string' ? { error: value.error } : {}),
  };
}

/** Judges one edge from the caller's report of its call. */
export function judgeEdge(caller: string, callee: string, call: CallReport | undefined, verifyReaches: boolean | undefined): EdgeResult {
  const edge = { caller, callee };
  if (call === undefined) {
    return { ...edge, passed: false, side: 'caller', problem: `${caller} does not declare ${callee} (not in its N3XUS_PEERS), though the fleet file gives it` };
  }
  const seen = { ...(call.status === undefined ? {} : { status: call.status }), latencyMs: call.latencyMs, breaker: call.breaker };
  const failed = (side: EdgeSide, problem: string): EdgeResult => ({ ...edge, passed: false, side, ...seen, problem });
  const status = call.status;
  if (call.reached && status !== undefined && status >= 200 && status < 300 && call.answeredBy === callee) return { ...edge, passed: true, ...seen };
  if (status === undefined) {
    // An open circuit means the caller did not even try: its own state, whatever opened it.
    if (call.breaker === 'open') return failed('caller', `${caller}'s circuit breaker to ${callee} is open after earlier failed calls, so it did not call (${call.error ?? 'no reason given'})`);
    const why = call.error ?? 'no answer';
    const where =
      verifyReaches === true
        ? `, while verify reaches ${callee} itself: the address ${caller} has for it, or the network between them, is wrong`
        : verifyReaches === false
          ? ` (verify cannot reach ${callee} either)`
          : '';
    return failed('callee', `${callee} is unreachable from ${caller} (${why})${where}`);
  }
  if (status === 451) return failed('callee', `${callee} refused ${caller}'s handshake with 451 (do both hold the fleet's handshake?)`);
  if (status >= 500) return failed('callee', `${callee} answered ${caller}'s call ${status}`);
  if (status === 404) return failed('callee', `${callee} answered ${caller}'s call 404: it has no ping route (is its image built from the current kit?)`);
  if (status < 200 || status > 299) return failed('callee', `${callee} answered ${caller}'s call ${status}`);
  const by = call.answeredBy === undefined ? 'an answer that names no service' : `${JSON.stringify(call.answeredBy)}`;
  return failed('caller', `${by} answered at the address ${caller} has for ${callee}: its N3XUS_PEERS points ${callee} at another service`);
}

/** Judges a whole answer of the caller's calls route when it cannot be read per edge; undefined when it can. */
function callerProblem(caller: string, answer: Answer): { code: CheckResult['code']; problem: string } | undefined {
  const what = `${caller} GET ${CALLS_PATH}`;
  if (isFailure(answer)) return { code: failureCode(answer.kind), problem: `${what}: ${answer.message}` };
  if (answer.status === 451) return { code: 'call-failed', problem: `${caller} refused verify's handshake on ${CALLS_PATH} with 451` };
  if (answer.status === 404) return { code: 'call-failed', problem: `${caller} has no ${CALLS_PATH} route (answered 404): is its image built from the current kit?` };
  if (answer.status !== 200 && answer.status !== 502) {
    return { code: 'call-failed', problem: `${what} answered ${answer.status}; expected 200 (or 502) with a report of each call` };
  }
  return undefined;
}

/**
 * A caller's declared calls: its calls route must answer with a report of each peer the fleet file declares for it,
 * and each must have been reached (2xx from the callee, naming itself). The check fails on any broken edge; its
 * `details.edges` gives every edge, and the message names each broken one by both ends and the side that failed.
 */
export function judgeCalls(observation: CallsObservation): CheckResult {
  const { caller, declared, answer } = observation;
  const durationMs = round(answer.durationMs);
  const fail = (code: CheckResult['code'], message: string, edges: EdgeResult[]): CheckResult => ({ name: 'calls', status: 'fail', required: true, code, message, durationMs, details: { edges } });
  const whole = callerProblem(caller, answer);
  if (whole !== undefined) {
    const edges = declared.map((callee): EdgeResult => ({ caller, callee, passed: false, side: 'caller', problem: whole.problem }));
    return fail(whole.code, `${declared.map((c) => `${caller} → ${c}`).join(', ')} not checked (caller side): ${whole.problem}`, edges);
  }
  const body = answer as Exclude<Answer, { kind: unknown }>;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.body);
  } catch {
    parsed = undefined;
  }
  const reported = isRecord(parsed) && Array.isArray(parsed.peers) ? parsed.peers.map(callReport) : undefined;
  if (reported === undefined || reported.includes(undefined) || (isRecord(parsed) && parsed.service !== caller)) {
    const problem = `${caller} GET ${CALLS_PATH} answered ${body.status} with ${preview(body.body)}; expected {"service":"${caller}","peers":[…]}`;
    return fail('malformed', `caller side: ${problem}`, declared.map((callee) => ({ caller, callee, passed: false, side: 'caller', problem })));
  }
  const byPeer = new Map((reported as CallReport[]).map((r) => [r.peer, r]));
  // A callee asked about once more is judged by the second call; a pass says it took two.
  const secondTries: string[] = [];
  for (const [callee, again] of Object.entries(observation.again ?? {})) {
    const second = reportOf(again, callee);
    // A second call its circuit did not let through says less than the first, which is kept.
    if (second === undefined || (!second.reached && second.status === undefined && second.breaker === 'open')) continue;
    byPeer.set(callee, second);
    if (second.reached) secondTries.push(callee);
  }
  const edges = declared.map((callee) => judgeEdge(caller, callee, byPeer.get(callee), observation.verifyReaches?.[callee]));
  const broken = edges.filter((e) => !e.passed);
  if (broken.length > 0) {
    const named = broken.map((e) => `${e.caller} → ${e.callee} (${e.side} side): ${e.problem}`).join('; ');
    return fail('call-failed', `${broken.length} of ${edges.length} declared call${edges.length === 1 ? '' : 's'} failed: ${named}`, edges);
  }
  const undeclared = [...byPeer.keys()].filter((peer) => !declared.includes(peer));
  const took = edges.map((e) => `${e.callee} ${e.latencyMs ?? 0} ms`).join(', ');
  return {
    name: 'calls',
    status: 'pass',
    required: true,
    message: `${caller} reached every declared peer, with the handshake, through its circuit breaker: ${took}`,
    durationMs,
    details: { edges },
    ...(undeclared.length > 0 || secondTries.length > 0
      ? {
          warnings: [
            ...(undeclared.length > 0 ? [`${caller} also calls ${undeclared.join(', ')}, which the fleet file does not declare for it`] : []),
            ...(secondTries.length > 0 ? [`${caller} reached ${secondTries.join(', ')} on a second call: the first got no answer in time`] : []),
          ],
        }
      : {}),
  };
}

/** True when a target answered its health check at all (a wrong answer is still an answer). */
function answeredHealth(checks: readonly CheckResult[] | undefined): boolean | undefined {
  const health = checks?.find((c) => c.name === 'health');
  if (health === undefined) return undefined;
  return !(health.status === 'fail' && (health.code === 'unreachable' || health.code === 'timeout'));
}

/**
 * The calls check of every kit service that declares peers, by caller. Each waits for its caller's and callees' own
 * checks (a caller that did not answer `/health` is not asked), asks the caller's calls route, and judges each edge
 * knowing whether verify itself reached the callee.
 */
export function callsChecks(
  ask: Ask,
  targets: readonly VerifyTarget[],
  fleet: readonly PeerSource[],
  own: ReadonlyMap<string, Promise<CheckResult[]>>,
  headers: Record<string, string>,
): Map<string, Promise<CheckResult>> {
  const checks = new Map<string, Promise<CheckResult>>();
  const byName = new Map(fleet.map((s) => [s.name, s]));
  for (const caller of targets) {
    const source = byName.get(caller.name);
    const declared = caller.kind === 'service' && source !== undefined ? peerNames(source) : [];
    if (declared.length === 0) continue;
    checks.set(
      caller.name,
      (async () => {
        if (answeredHealth(await own.get(caller.name)) === false) return notRun('calls', `${caller.name} did not answer GET /health`);
        // The callees' health is awaited first: the caller's calls then meet callees that have answered verify
        // already, and a callee verify cannot reach either is told apart from a broken path between the two.
        const verifyReaches: Record<string, boolean> = {};
        for (const callee of declared) {
          const reached = answeredHealth(await own.get(callee));
          if (reached !== undefined) verifyReaches[callee] = reached;
        }
        const answer = await ask(`${caller.url}${CALLS_PATH}`, { headers });
        const retry = secondChances(answer, declared, verifyReaches);
        const again = Object.fromEntries(await Promise.all(retry.map(async (callee) => [callee, await ask(`${caller.url}${CALLS_PATH}/${encodeURIComponent(callee)}`, { headers })] as const)));
        return judgeCalls({ caller: caller.name, declared, answer, verifyReaches, ...(retry.length > 0 ? { again } : {}) });
      })().catch((error: unknown) => checkError('calls', error)),
    );
  }
  return checks;
}
