/**
 * Probes PostgreSQL and Redis in their own protocols over a plain TCP connection, without credentials and without
 * a client library: PostgreSQL answers an SSLRequest with one byte, Redis answers `PING`.
 */
import { tcpExchange } from '../net/tcp-exchange.ts';
import type { ProtocolAnswer } from './judge.ts';

/** PostgreSQL's SSLRequest: length 8, then the code 80877103. The server answers `S` or `N` before any login. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const PING = Buffer.from('PING\r\n');

/**
 * Connects to `host:port`, sends the protocol's first words and reads the start of the reply; `kind` `tcp` only
 * connects. Never rejects: a failure is returned with its kind (`refused`, `timeout`, `reset`, `other`).
 */
export async function probeProtocol(kind: 'postgres' | 'redis' | 'tcp', host: string, port: number, timeoutMs: number): Promise<ProtocolAnswer> {
  const request = kind === 'tcp' ? undefined : kind === 'postgres' ? SSL_REQUEST : PING;
  const outcome = await tcpExchange(host, port, request, (received, closed) => {
    const reply = received.toString('latin1');
    if (kind === 'tcp') return '';
    // PostgreSQL's answer is one byte; Redis's ends with CRLF. Whatever came before a close is the answer.
    if (kind === 'postgres' && reply.length > 0) return reply.slice(0, 1);
    if (reply.includes('\r\n')) return reply.split('\r\n')[0]!;
    return closed && reply !== '' ? reply : undefined;
  }, timeoutMs);
  return 'value' in outcome ? { reply: outcome.value, durationMs: outcome.durationMs } : outcome;
}
