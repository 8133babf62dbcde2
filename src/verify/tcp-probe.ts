/**
 * Probes PostgreSQL and Redis in their own protocols over a plain TCP connection, without credentials and without
 * a client library: PostgreSQL answers an SSLRequest with one byte, Redis answers `PING`.
 */
import { Socket } from 'node:net';
import type { ProtocolAnswer } from './judge.ts';

/** PostgreSQL's SSLRequest: length 8, then the code 80877103. The server answers `S` or `N` before any login. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const PING = Buffer.from('PING\r\n');

/**
 * Connects to `host:port`, sends the protocol's first words and reads the start of the reply; `kind` `tcp` only
 * connects. Never rejects: a failure is returned with its kind (`refused`, `timeout`, `reset`, `other`).
 */
export function probeProtocol(kind: 'postgres' | 'redis' | 'tcp', host: string, port: number, timeoutMs: number): Promise<ProtocolAnswer> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const socket = new Socket();
    let settled = false;
    let reply = '';
    const finish = (answer: ProtocolAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const took = () => performance.now() - startedAt;
    const timer = setTimeout(() => finish({ kind: 'timeout', message: `no answer within ${timeoutMs} ms`, durationMs: took() }), timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code;
      const failure = code === 'ECONNREFUSED' ? 'refused' : code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'other';
      finish({ kind: failure, message: failure === 'refused' ? 'connection refused' : error.message, durationMs: took() });
    });
    socket.once('connect', () => {
      if (kind === 'tcp') return finish({ reply: '', durationMs: took() });
      socket.write(kind === 'postgres' ? SSL_REQUEST : PING);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      // PostgreSQL's answer is one byte; Redis's ends with CRLF.
      if (kind === 'postgres' || reply.includes('\r\n')) finish({ reply: kind === 'postgres' ? reply.slice(0, 1) : reply.split('\r\n')[0]!, durationMs: took() });
    });
    socket.once('end', () => finish(reply === '' ? { kind: 'reset', message: 'the connection was closed without an answer', durationMs: took() } : { reply, durationMs: took() }));
    socket.connect(port, host);
  });
}
