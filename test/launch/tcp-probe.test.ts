import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { judgePostgres, judgeRedis, probePostgres, probeRedis, startupMessage } from '../../src/launch/tcp-probe.ts';
import { freePort } from '../support/local-servers.ts';
import { missingServers, postgresUrl, redisUrl } from '../support/servers.ts';

function errorResponse(code: string, message: string): Buffer {
  const body = Buffer.from(`SFATAL\0C${code}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

describe('PostgreSQL and Redis readiness, read the way pg_isready and redis-cli ping read it', () => {
  it('takes an authentication request, or any error but 57P03, as accepting connections', () => {
    expect(judgePostgres(Buffer.from('R\0\0\0\x08\0\0\0\0', 'binary'))).toEqual({ healthy: true, detail: 'accepting connections' });
    expect(judgePostgres(errorResponse('28000', 'role "x" does not exist'))?.healthy).toBe(true);
    expect(judgePostgres(errorResponse('57P03', 'the database system is starting up'))).toEqual({ healthy: false, detail: 'PostgreSQL: the database system is starting up' });
    // An error message cut in two waits for the rest.
    expect(judgePostgres(errorResponse('57P03', 'starting').subarray(0, 9))).toBeUndefined();
  });

  it('takes +PONG and -NOAUTH as serving, -LOADING as not yet', () => {
    expect(judgeRedis(Buffer.from('+PONG\r\n'))?.healthy).toBe(true);
    expect(judgeRedis(Buffer.from('-NOAUTH Authentication required.\r\n'))?.healthy).toBe(true);
    expect(judgeRedis(Buffer.from('-LOADING Redis is loading the dataset in memory\r\n'))).toEqual({ healthy: false, detail: 'Redis: LOADING Redis is loading the dataset in memory' });
    expect(judgeRedis(Buffer.from('+PO'))).toBeUndefined();
  });

  it('writes a v3 startup message', () => {
    const message = startupMessage('n3xus', 'db');
    expect(message.readInt32BE(0)).toBe(message.length);
    expect(message.readInt32BE(4)).toBe(196608);
    expect(message.subarray(8).toString()).toBe('user\0n3xus\0database\0db\0\0');
  });

  it('says nothing listens on a closed port, and times out on a silent one', async () => {
    const closed = await freePort();
    expect(await probeRedis(closed, 1000)).toEqual({ healthy: false, detail: `nothing listens on 127.0.0.1:${closed} yet` });
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      expect(await probePostgres(port, 'n3xus', 'n3xus', 200)).toEqual({ healthy: false, detail: `no answer on 127.0.0.1:${port} within 200 ms` });
    } finally {
      silent.close();
    }
  });

  it.skipIf(missingServers !== '')('finds a real PostgreSQL and Redis ready', async () => {
    const pg = new URL(postgresUrl);
    const redis = new URL(redisUrl);
    expect(await probePostgres(Number(pg.port), decodeURIComponent(pg.username), pg.pathname.slice(1), 2000)).toEqual({ healthy: true, detail: 'accepting connections' });
    expect(await probeRedis(Number(redis.port), 2000)).toEqual({ healthy: true, detail: 'answers PING' });
  });
});
