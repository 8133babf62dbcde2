/**
 * The one door to HTTP: the only module that imports undici. Launch's health probes and verify's checks go through
 * here, on one keep-alive agent, so a probe loop over 98 services reuses its connections instead of opening one
 * per request.
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher, errors as UndiciErrors } from 'undici';

// undici's entry point loads all of undici (fetch, WebSocket, caches, mocks, proxy agents): about 0.2 CPU-s at the
// start of every command, a fifth of what a no-op launch may take. Only its agent, its request API and its error
// classes are used here, so only those modules are loaded. The lockfile pins undici, and test/unit/http-client
// checks that these paths still give what they should.
const undici = createRequire(import.meta.url);
const Agent = undici('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
const errors = undici('undici/lib/core/errors.js') as typeof UndiciErrors;
const requestApi = (undici('undici/lib/api/index.js') as { request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> }).request;

/** undici's `request(url, options)`, on the given dispatcher. */
function request(url: string, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const target = new URL(url);
  return requestApi.call(dispatcher, { ...rest, origin: target.origin, path: `${target.pathname}${target.search}` });
}

/** What a request came back with; the body is read whole (bounded by `maxBodyBytes`). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Time from sending the request to the end of the body, in milliseconds. */
  durationMs: number;
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'PATCH';
  /**
   * By name, or as [name, value] lines sent in order (a name may repeat). Values go on the wire in latin1: a value
   * meant as UTF-8 bytes is given as those bytes, one latin1 character each.
   */
  headers?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  /** A string, bytes, or a stream (sent as it reads: give its length in a content-length header). */
  body?: string | Buffer | NodeJS.ReadableStream;
  /** Aborting it ends the request as a timeout does (kind `timeout`). */
  signal?: AbortSignal;
  /** Whole-request deadline in milliseconds (connect, headers and body); default 2000. */
  timeoutMs?: number;
  /** A longer body fails the request with an {@link HttpError} of kind `too-large`; default 1 MiB. */
  maxBodyBytes?: number;
  /** The connections to send it on, from {@link createHttpAgent}; default the module's shared keep-alive agent. */
  agent?: HttpAgent;
}

/** A keep-alive connection pool of a caller's own, from {@link createHttpAgent}. */
export interface HttpAgent {
  /** Closes its connections once the requests in flight are done. */
  close(): Promise<void>;
}

const agents = new WeakMap<HttpAgent, UndiciAgent>();

/**
 * A keep-alive connection pool of its own, for a caller with its own pattern of use: a verification that sends a
 * few requests to each of many origins keeps one connection per origin (`connectionsPerOrigin: 1`, which also
 * spares it undici's per-origin pool bookkeeping) and pipelines them on it (`pipelining`, default 1: idempotent
 * requests only, since a connection lost mid-pipeline fails every request on it). Close it when done.
 */
export function createHttpAgent(options: { connectionsPerOrigin?: number; pipelining?: number; keepAliveTimeoutMs?: number } = {}): HttpAgent {
  const dispatcher = new Agent({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000, connections: options.connectionsPerOrigin ?? 8, pipelining: options.pipelining ?? 1 });
  const handle: HttpAgent = { close: () => dispatcher.close() };
  agents.set(handle, dispatcher);
  return handle;
}

/** Why a request got no usable answer. */
export type HttpFailureKind = 'refused' | 'timeout' | 'reset' | 'too-large' | 'other';

/** A request that got no answer (refused, timed out, cut off); `kind` says which. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly kind: HttpFailureKind;
  readonly url: string;

  constructor(url: string, kind: HttpFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
    this.kind = kind;
  }
}

// Connections are kept for a while: probes and checks come in waves, one per service.
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8, pipelining: 1 });

function failureKind(error: unknown): HttpFailureKind {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError || error instanceof errors.ConnectTimeoutError) return 'timeout';
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  return 'other';
}

/**
 * Sends one request and reads the whole answer.
 * @throws HttpError when there is no answer within `timeoutMs` (default 2000 ms), the connection fails, or the
 * body is longer than `maxBodyBytes` (default 1 MiB).
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const startedAt = performance.now();
  const signal = options.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([AbortSignal.timeout(timeoutMs), options.signal]);
  try {
    const response = await request(url, {
      method: options.method ?? 'GET',
      // undici takes repeated header lines as one flat [name, value, name, value…] list.
      headers: Array.isArray(options.headers) ? (options.headers as ReadonlyArray<readonly [string, string]>).flat() : (options.headers as Record<string, string> | undefined),
      body: options.body as string | Buffer | undefined,
      signal,
      dispatcher: (options.agent && agents.get(options.agent)) ?? agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > maxBodyBytes) {
        response.body.destroy();
        throw new HttpError(url, 'too-large', `${url}: answer longer than ${maxBodyBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      durationMs: performance.now() - startedAt,
    };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const kind = signal.aborted ? 'timeout' : failureKind(error);
    const reason = kind === 'timeout' ? `no answer within ${timeoutMs} ms` : kind === 'refused' ? 'connection refused' : (error as Error).message;
    throw new HttpError(url, kind, `${url}: ${reason}`, { cause: error });
  }
}

/** Closes the kept-alive connections, so a command can exit without waiting for their idle timeout. */
export async function closeHttp(): Promise<void> {
  await agent.close();
}
