import { CALLER_HEADER, reusingSigner, type CallerKey } from './caller.ts';
import { HANDSHAKE_HEADER } from './law.ts';
import type { Logger } from './log.ts';
import { isCircuitOpen, resilience, type Resilience, type ResilienceOptions } from './resilience.ts';

/** Raised when a peer cannot be reached (unknown name, down, or its circuit is open). */
export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError';
  constructor(readonly peer: string, reason: string, cause?: unknown) {
    super(`peer ${peer} is unavailable: ${reason}`, { cause });
  }
}

/** Options of one call to a peer. */
export interface PeerRequest {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Request id to propagate for tracing. */
  requestId?: string;
  /** Per-attempt timeout in ms (default 3000). */
  timeoutMs?: number;
  /** Deadline of the whole call in ms, retries and their backoff included (default: none). */
  deadlineMs?: number;
  /** A relay's original caller (a name, or `anonymous`), signed into the call as `for=` (see caller.ts). */
  onBehalfOf?: string;
}

/** A peer's answer: status, headers and the body as parsed JSON (or text when it is not JSON). */
export interface PeerResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Calls to the services this one depends on. Zero trust: every call carries the handshake, because the callee
 * trusts nobody for being on the network. Each peer has its own circuit breaker; only idempotent methods are
 * retried, so a POST is never sent twice.
 */
export class Peers {
  private readonly guards = new Map<string, Resilience>();
  /** Signs each method, path and original caller once per 20 s: the peer then checks each signature once too. */
  private readonly sign: ReturnType<typeof reusingSigner> | undefined;

  constructor(
    private readonly urls: Record<string, string>,
    private readonly handshake: string,
    private readonly log: Logger,
    private readonly options: ResilienceOptions = {},
    /** This service's caller key: each call is signed with it, so the peer knows who calls. */
    caller?: CallerKey,
  ) {
    this.sign = caller === undefined ? undefined : reusingSigner(caller);
  }

  /** Names of the peers this service may call. */
  names(): string[] {
    return Object.keys(this.urls);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.urls, name);
  }

  /** Calls `path` on peer `name`; a 5xx answer counts against the peer's circuit, a 4xx does not. */
  async call(name: string, path: string, request: PeerRequest = {}): Promise<PeerResponse> {
    const base = this.urls[name];
    if (base === undefined) throw new PeerUnavailableError(name, 'not a configured peer');
    const method = (request.method ?? 'GET').toUpperCase();
    const guard = this.guard(name);
    const policy = method === 'GET' || method === 'HEAD' ? guard.policy : guard.breaker;
    const headers: Record<string, string> = { ...request.headers, [HANDSHAKE_HEADER]: this.handshake };
    if (request.requestId) headers['x-request-id'] = request.requestId;
    let payload: string | undefined;
    if (request.body !== undefined) {
      payload = JSON.stringify(request.body);
      headers['content-type'] = 'application/json';
    }
    // The deadline also stops the retries: no attempt starts after it.
    const deadline = request.deadlineMs === undefined ? undefined : AbortSignal.timeout(request.deadlineMs);
    try {
      return await policy.execute(async () => {
        const attempt = AbortSignal.timeout(request.timeoutMs ?? 3000);
        const signal = deadline === undefined ? attempt : AbortSignal.any([attempt, deadline]);
        // Signed over the path as fetch sends it.
        const url = new URL(base + path);
        if (this.sign) headers[CALLER_HEADER] = this.sign(method, url.pathname + url.search, request.onBehalfOf);
        const res = await fetch(url, { method, headers, body: payload, signal });
        const text = await res.text();
        const out: PeerResponse = { status: res.status, headers: res.headers, body: parseBody(text, res.headers.get('content-type')) };
        if (res.status >= 500) throw new PeerServerError(out);
        return out;
      }, deadline);
    } catch (err) {
      if (err instanceof PeerServerError) return err.response;
      const reason = isCircuitOpen(err) ? 'circuit open' : err instanceof Error ? err.message : String(err);
      throw new PeerUnavailableError(name, reason, err);
    }
  }

  /**
   * Loads and compiles the HTTP client (fetch) with a request that needs no network, so that the first real call
   * does not pay for it: tens of milliseconds of CPU per process, which a fleet whose services all make their first
   * call at once (verify's calls check, just after launch) pays together, on every core.
   */
  async warm(): Promise<void> {
    if (this.names().length === 0) return;
    await fetch('data:,')
      .then((res) => res.arrayBuffer())
      .catch(() => undefined);
  }

  /** State of the circuit to peer `name`: `closed`, `open` or `half-open`. */
  circuit(name: string): 'closed' | 'open' | 'half-open' {
    return this.guard(name).state();
  }

  private guard(name: string): Resilience {
    let guard = this.guards.get(name);
    if (!guard) {
      guard = resilience(`peer:${name}`, this.log, this.options);
      this.guards.set(name, guard);
    }
    return guard;
  }
}

class PeerServerError extends Error {
  override name = 'PeerServerError';
  constructor(readonly response: PeerResponse) {
    super(`peer answered ${response.status}`);
  }
}

function parseBody(text: string, contentType: string | null): unknown {
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
