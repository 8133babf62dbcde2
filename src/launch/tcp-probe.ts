/**
 * Protocol-level readiness probes for PostgreSQL and Redis on their published 127.0.0.1 ports, so launch need not
 * wait for the engine's first healthcheck (one whole interval after start on engines before API 1.44, which have
 * no start_interval). They answer what pg_isready and `redis-cli ping` answer, without either tool.
 */
import { tcpExchange } from '../net/tcp-exchange.ts';
import type { ProbeResult } from './health.ts';

/** Sends `request` to 127.0.0.1:`port` and hands the bytes received to `judge` until it decides. */
async function exchange(port: number, request: Buffer, judge: (received: Buffer) => ProbeResult | undefined, timeoutMs: number): Promise<ProbeResult> {
  const outcome = await tcpExchange('127.0.0.1', port, request, (received) => judge(received), timeoutMs);
  if ('value' in outcome) return outcome.value;
  const where = `127.0.0.1:${port}`;
  if (outcome.kind === 'refused') return { healthy: false, detail: `nothing listens on ${where} yet` };
  if (outcome.kind === 'timeout') return { healthy: false, detail: `no answer on ${where} within ${timeoutMs} ms` };
  if (outcome.kind === 'reset') return { healthy: false, detail: `${where} closed the connection` };
  return { healthy: false, detail: `${where}: ${outcome.message}` };
}

/** A PostgreSQL v3 StartupMessage for `user` and `database`. */
export function startupMessage(user: string, database: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([header, body]);
}

/**
 * Reads the server's first answer to a StartupMessage as pg_isready does: an authentication request ('R') or any
 * error but "cannot connect now" (57P03, starting up or shutting down) means it accepts connections.
 */
export function judgePostgres(received: Buffer): ProbeResult | undefined {
  if (received.length < 1) return undefined;
  const type = String.fromCharCode(received[0]!);
  if (type === 'R') return { healthy: true, detail: 'accepting connections' };
  if (type !== 'E') return { healthy: false, detail: `unexpected answer ${JSON.stringify(type)} to a startup message` };
  if (received.length < 5 || received.length < 1 + received.readInt32BE(1)) return undefined;
  const fields = received.subarray(5, 1 + received.readInt32BE(1)).toString('utf8').split('\0');
  const code = fields.find((f) => f.startsWith('C'))?.slice(1);
  const message = fields.find((f) => f.startsWith('M'))?.slice(1) ?? '';
  if (code === '57P03') return { healthy: false, detail: `PostgreSQL: ${message || 'the database system is starting up'}` };
  return { healthy: true, detail: 'accepting connections' };
}

/** Reads the answer to PING: `+PONG` is ready, `-LOADING` is not yet, `-NOAUTH` still means it serves. */
export function judgeRedis(received: Buffer): ProbeResult | undefined {
  const text = received.toString('utf8');
  const end = text.indexOf('\r\n');
  if (end < 0) return undefined;
  const line = text.slice(0, end);
  if (line === '+PONG' || line.startsWith('-NOAUTH')) return { healthy: true, detail: 'answers PING' };
  return { healthy: false, detail: `Redis: ${line.replace(/^[-+]/, '')}` };
}

export function probePostgres(port: number, user: string, database: string, timeoutMs: number): Promise<ProbeResult> {
  return exchange(port, startupMessage(user, database), judgePostgres, timeoutMs);
}

export function probeRedis(port: number, timeoutMs: number): Promise<ProbeResult> {
  return exchange(port, Buffer.from('PING\r\n'), judgeRedis, timeoutMs);
}
