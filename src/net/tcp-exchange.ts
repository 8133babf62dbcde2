/**
 * One short exchange over a plain TCP connection: the socket handling behind every protocol probe (launch's
 * readiness waits on PostgreSQL and Redis, verify's protocol checks), so that it exists once.
 */
import { Socket } from 'node:net';

/** Why an exchange got no answer: nothing listening, no answer in time, the connection cut, or anything else. */
export type ExchangeFailureKind = 'refused' | 'timeout' | 'reset' | 'other';

/** What `decide` made of the reply, or why there was no reply to decide on. */
export type ExchangeOutcome<T> = { value: T; durationMs: number } | { kind: ExchangeFailureKind; message: string; durationMs: number };

/**
 * Connects to `host:port`, writes `request` (with none, the connection itself is the answer: `decide` is asked once
 * it is made) and hands everything received so far to `decide` until it returns a value; when the server closes
 * the connection first, `decide` has a last say with `closed` set. Never rejects; the deadline covers it all.
 */
export function tcpExchange<T>(
  host: string,
  port: number,
  request: Buffer | undefined,
  decide: (received: Buffer, closed: boolean) => T | undefined,
  timeoutMs: number,
): Promise<ExchangeOutcome<T>> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    let settled = false;
    const took = () => performance.now() - startedAt;
    const finish = (outcome: ExchangeOutcome<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const offer = (closed: boolean): void => {
      const value = decide(received, closed);
      if (value !== undefined) finish({ value, durationMs: took() });
      else if (closed) finish({ kind: 'reset', message: 'the connection was closed without an answer', durationMs: took() });
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', message: `no answer within ${timeoutMs} ms`, durationMs: took() }), timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code;
      const kind: ExchangeFailureKind = code === 'ECONNREFUSED' ? 'refused' : code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'other';
      finish({ kind, message: kind === 'refused' ? 'connection refused' : error.message, durationMs: took() });
    });
    socket.once('connect', () => {
      if (request === undefined) offer(false);
      else socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      offer(false);
    });
    socket.once('end', () => offer(true));
    socket.connect(port, host);
  });
}
