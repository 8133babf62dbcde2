/**
 * The declared calls, made on demand: `GET /_n3xus/calls` has this service call every peer it declares
 * (N3XUS_PEERS), concurrently, and `GET /_n3xus/calls/<peer>` one of them. Each call is `GET /_n3xus/ping` on the
 * peer, with the handshake, through the service's own Peers: the same retries and the same circuit breaker as the
 * service's real calls, so what it reports is what those calls would meet.
 *
 * Not a proxy: the only thing read from the request is a peer name, looked up among the declared peers. An
 * undeclared name is answered 404 without any request; the path, query, method, headers and body of the request
 * never reach a peer.
 */
import express, { type Response, type Router } from 'express';
import { errorBody } from './errors.ts';
import { isCircuitOpen } from './resilience.ts';
import { PeerUnavailableError, type Peers } from './peers.ts';

import { CALL_TIMEOUT_ERROR, PING_PATH } from './kit-routes.ts';

/** Per attempt: generous for a ping, since a fleet being verified on a busy machine answers slowly. */
export const PING_TIMEOUT_MS = 1000;
/**
 * The whole call, retries included: under 2 s, the deadline `n3xus verify` gives the whole answer, so that a peer
 * that hangs is reported by this service, not mistaken for this service hanging.
 */
export const PING_DEADLINE_MS = 1800;

/** One declared call, as this service made it. */
export interface CallReport {
  peer: string;
  /** True when the peer answered the ping 2xx as itself. */
  reached: boolean;
  /** The peer's HTTP status, when it answered at all. */
  status?: number;
  /** The service the ping's answer names, when it names one. */
  answeredBy?: string;
  /** Wall time of the call, retries included. */
  latencyMs: number;
  /** The circuit to the peer after the call. */
  breaker: 'closed' | 'open' | 'half-open';
  /** Why it was not reached. */
  error?: string;
}

/** The answer of the calls routes: 200 when every peer was reached, else 502. */
export interface CallsReport {
  service: string;
  peers: CallReport[];
}

const ERRNO: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name does not resolve',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/** The errors down an error's `cause` chain, outermost first (fetch wraps the socket's error in its own). */
function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** Why a call got no answer, in a few words. */
function reason(err: unknown): string {
  const chain = causes(err instanceof PeerUnavailableError ? err.cause : err);
  if (chain.some(isCircuitOpen)) return 'circuit open: the call was not made';
  if (chain.some((e) => e instanceof Error && e.name === 'TimeoutError')) return `${CALL_TIMEOUT_ERROR} (${PING_TIMEOUT_MS} ms per attempt, ${PING_DEADLINE_MS} ms in all)`;
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c): c is string => typeof c === 'string' && /^E[A-Z_]+$/.test(c));
  if (code !== undefined) return `${ERRNO[code] ?? 'cannot connect'} (${code})`;
  // No errno (e.g. undici's "other side closed"): the innermost error says the most.
  const innermost = chain.at(-1);
  return innermost instanceof Error ? innermost.message : String(innermost);
}

/** Calls declared peer `peer` on its ping route and reports what happened; never throws. */
export async function callPeer(peers: Peers, peer: string, requestId?: string): Promise<CallReport> {
  const started = performance.now();
  const took = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const answer = await peers.call(peer, PING_PATH, { timeoutMs: PING_TIMEOUT_MS, deadlineMs: PING_DEADLINE_MS, ...(requestId === undefined ? {} : { requestId }) });
    const latencyMs = took();
    const named = (answer.body as { service?: unknown } | null)?.service;
    const answeredBy = typeof named === 'string' ? named : undefined;
    const report: CallReport = { peer, reached: false, status: answer.status, ...(answeredBy === undefined ? {} : { answeredBy }), latencyMs, breaker: peers.circuit(peer) };
    if (answer.status < 200 || answer.status > 299) return { ...report, error: `answered ${answer.status}` };
    if (answeredBy !== peer) return { ...report, error: answeredBy === undefined ? 'answered without naming a service' : `${JSON.stringify(answeredBy)} answered instead` };
    return { ...report, reached: true };
  } catch (err) {
    return { peer, reached: false, latencyMs: took(), breaker: peers.circuit(peer), error: reason(err) };
  }
}

/** The kit's own protected routes, mounted at KIT_PATH (kit-routes.ts) behind the law guard. */
export function kitRouter(service: string, peers: Peers): Router {
  const router = express.Router();
  const answer = (res: Response, reports: CallReport[]) => {
    const body: CallsReport = { service, peers: reports };
    res.status(reports.every((r) => r.reached) ? 200 : 502).json(body);
  };
  router.get('/ping', (_req, res) => {
    res.json({ service });
  });
  router.get('/calls', async (_req, res) => {
    const requestId = String(res.locals.requestId);
    answer(res, await Promise.all(peers.names().map((peer) => callPeer(peers, peer, requestId))));
  });
  router.get('/calls/:peer', async (req, res) => {
    const { peer } = req.params;
    if (!peers.has(peer)) {
      const declared = peers.names();
      const list = declared.length === 0 ? 'it declares none' : `it calls only ${declared.join(', ')}`;
      res.status(404).json(errorBody('UNKNOWN_PEER', `${JSON.stringify(peer.slice(0, 64))} is not a peer ${service} declares (N3XUS_PEERS); ${list}.`));
      return;
    }
    answer(res, [await callPeer(peers, peer, String(res.locals.requestId))]);
  });
  return router;
}
