import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { tcpExchange } from '../../src/net/tcp-exchange.ts';
import { freePort } from '../support/local-servers.ts';

async function server(onConnection: (socket: Socket) => void): Promise<number> {
  const s = createServer(onConnection);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  servers.push(s);
  return (s.address() as { port: number }).port;
}
const servers: Array<ReturnType<typeof createServer>> = [];

describe('one TCP exchange', () => {
  afterAll(() => servers.forEach((s) => s.close()));
  const line = (received: Buffer) => (received.includes('\r\n') ? received.toString().split('\r\n')[0] : undefined);

  it('decides on a reply that comes in pieces', async () => {
    const port = await server((socket) =>
      socket.once('data', () => {
        socket.write('+PO');
        setTimeout(() => socket.write('NG\r\n'), 20);
      }),
    );
    expect(await tcpExchange('127.0.0.1', port, Buffer.from('PING\r\n'), line, 1_000)).toMatchObject({ value: '+PONG' });
  });

  it('with no request, answers once connected', async () => {
    const port = await server(() => undefined);
    expect(await tcpExchange('127.0.0.1', port, undefined, () => 'connected', 1_000)).toMatchObject({ value: 'connected' });
  });

  it('tells refused, silent and closed-without-an-answer apart, and lets the reply before a close count', async () => {
    const closed = await freePort();
    expect(await tcpExchange('127.0.0.1', closed, Buffer.from('x'), line, 1_000)).toMatchObject({ kind: 'refused', message: 'connection refused' });
    const silent = await server(() => undefined);
    expect(await tcpExchange('127.0.0.1', silent, Buffer.from('x'), line, 150)).toMatchObject({ kind: 'timeout', message: 'no answer within 150 ms' });
    const hangsUp = await server((socket) => socket.once('data', () => socket.end()));
    expect(await tcpExchange('127.0.0.1', hangsUp, Buffer.from('x'), line, 1_000)).toMatchObject({ kind: 'reset', message: 'the connection was closed without an answer' });
    const saysAndHangsUp = await server((socket) => socket.once('data', () => socket.end('bye')));
    const lastSay = (received: Buffer, closedNow: boolean) => (closedNow ? received.toString() : undefined);
    expect(await tcpExchange('127.0.0.1', saysAndHangsUp, Buffer.from('x'), lastSay, 1_000)).toMatchObject({ value: 'bye' });
  });
});
