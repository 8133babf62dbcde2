/**
 * Requests of a verification: through the one HTTP client, on a keep-alive agent of the verification's own with
 * one connection per service on which a service's requests are pipelined (a fleet of 98 costs 98 connection
 * set-ups through the engine's port proxies, and a service's five probes about one round trip instead of five), bounded
 * by one pool shared by every check, each with its deadline. A request never rejects: no answer is an
 * {@link HttpFailure}.
 */
import pLimit from 'p-limit';
import { createHttpAgent, HttpError, httpRequest, type HttpRequestOptions } from '../http/client.ts';
import type { Answer } from './judge.ts';
import { CALLER_HEADER, reusingSigner, type CallerKey } from '../../services/_kit/src/caller.ts';

/** `headers` (an object, or header lines in order as the near misses send them) with one more header. */
function withHeader(headers: HttpRequestOptions['headers'], name: string, value: string): HttpRequestOptions['headers'] {
  return Array.isArray(headers) ? [...(headers as ReadonlyArray<readonly [string, string]>), [name, value] as const] : { ...(headers as Record<string, string> | undefined), [name]: value };
}

/** The path and query of a URL, as the request line carries them (what a caller signature covers). */
const pathOf = (url: string): string => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};

/** Sends one request and returns what came back, or why nothing did. */
export type Ask = (url: string, options?: Pick<HttpRequestOptions, 'method' | 'headers' | 'body'>) => Promise<Answer>;

/**
 * Requests written back to back on a service's connection: its health, law and readiness probes. undici pipelines
 * only idempotent requests; a POST waits until the connection is idle.
 */
const PIPELINED_PER_SERVICE = 5;

/** Bodies longer than this are not read whole: a kit service's answers are a few kB (its metrics, a few tens). */
const MAX_BODY_BYTES = 512 * 1024;

/**
 * An {@link Ask} with at most `concurrency` requests in flight and a `timeoutMs` deadline on each, and the
 * `close` that releases its connections.
 */
export function createAsk(concurrency: number, timeoutMs: number, caller?: CallerKey): { ask: Ask; close: () => Promise<void> } {
  const limit = pLimit(concurrency);
  const sign = caller === undefined ? undefined : reusingSigner(caller);
  const agent = createHttpAgent({ connectionsPerOrigin: 1, pipelining: PIPELINED_PER_SERVICE });
  // Second chances go on connections of their own, one request at a time: asked again on the service's pipelined
  // connection, a request would wait behind that service's other probes, and on a loaded service each of those
  // takes its time (seen in CI: a near-miss probe asked again while one client kept search-index busy got no answer
  // within 4 s, behind the probes queued on the same connection).
  const retryAgent = createHttpAgent({ connectionsPerOrigin: 4, pipelining: 1 });
  const once = (url: string, options: Parameters<Ask>[1] = {}, deadlineMs = timeoutMs, via = agent) =>
    limit(async (): Promise<Answer> => {
      const startedAt = performance.now();
      try {
        // Signed as n3xus's own tooling when it has the key: the services then limit verify in a bucket of its own,
        // which no other client's traffic spends (services/_kit/src/caller.ts). The same GET to every service is
        // signed once (a signature names the method and path, not the host).
        const signed = sign === undefined ? options : { ...options, headers: withHeader(options.headers, CALLER_HEADER, sign(options.method ?? 'GET', pathOf(url))) };
        return await httpRequest(url, { ...signed, timeoutMs: deadlineMs, maxBodyBytes: MAX_BODY_BYTES, agent: via });
      } catch (error) {
        const durationMs = performance.now() - startedAt;
        if (error instanceof HttpError) {
          const prefix = `${error.url}: `;
          return { kind: error.kind, message: error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message, durationMs };
        }
        return { kind: 'other', message: error instanceof Error ? error.message : String(error), durationMs };
      }
    });
  // A kept-alive connection the server closed just as it was reused fails with a reset; an idempotent request is
  // sent once more on a fresh one, as browsers do. A service that really drops connections fails the second time.
  // A request that timed out gets one second chance with twice the deadline: the first sweep after a launch reaches
  // 98 services whose handlers have never run, all at once on a busy machine, and a cold path that answers late is
  // not a broken one (seen in CI: 11 of 98 first answers to an authorised request took over 2 s). A service that
  // hangs still fails, after three deadlines instead of one.
  const ask: Ask = async (url, options = {}) => {
    const answer = await once(url, options);
    const idempotent = options.method === undefined || options.method === 'GET' || options.method === 'HEAD';
    if (!idempotent || !('kind' in answer)) return answer;
    if (answer.kind === 'reset') return once(url, options, timeoutMs, retryAgent);
    if (answer.kind !== 'timeout') return answer;
    const again = await once(url, options, 2 * timeoutMs, retryAgent);
    if (!('kind' in again) || again.kind !== 'timeout') return again;
    return { ...again, message: `no answer within ${timeoutMs} ms, nor within ${2 * timeoutMs} ms when asked again`, durationMs: answer.durationMs + again.durationMs };
  };
  return { ask, close: async () => void (await Promise.all([agent.close(), retryAgent.close()])) };
}
