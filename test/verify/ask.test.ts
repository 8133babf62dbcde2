import { afterAll, describe, expect, it } from 'vitest';
import { createAsk } from '../../src/verify/ask.ts';
import { startHttpServer } from './support.ts';

describe('verify requests', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
  });

  it('sends an idempotent request once more when its connection is reset, and only once', async () => {
    let seen = 0;
    const flaky = await startHttpServer((req, res) => {
      seen += 1;
      if (seen === 1) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    closers.push(flaky.close);
    const { ask, close } = createAsk(4, 1_000);
    const answer = await ask(`${flaky.url}/health`);
    await close();
    expect(answer).toMatchObject({ status: 200 });
    expect(seen).toBe(2);
  });

  it('gets every answer from a server that closes the connection after each one, though they were pipelined', async () => {
    const closing = await startHttpServer((req, res) => {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' }).end(req.url);
    });
    closers.push(closing.close);
    const { ask, close } = createAsk(8, 2_000);
    const answers = await Promise.all(['/a', '/b', '/c', '/d', '/e'].map((p) => ask(`${closing.url}${p}`)));
    await close();
    expect(answers.map((a) => ('body' in a ? a.body : a.message))).toEqual(['/a', '/b', '/c', '/d', '/e']);
  });

  it('reports a server that always resets as such, after the one retry', async () => {
    let seen = 0;
    const broken = await startHttpServer((req) => {
      seen += 1;
      req.socket.destroy();
    });
    closers.push(broken.close);
    const { ask, close } = createAsk(4, 1_000);
    const answer = await ask(`${broken.url}/health`);
    await close();
    expect(answer).toMatchObject({ kind: 'reset' });
    expect(seen).toBe(2);
  });

  it('asks once more, with twice the deadline, a server whose first answer came too late', async () => {
    let seen = 0;
    const cold = await startHttpServer((_req, res) => {
      seen += 1;
      // The first answer misses the 200 ms deadline; the second fits in the 400 ms one.
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('warm'), seen === 1 ? 600 : 250);
    });
    closers.push(cold.close);
    const { ask, close } = createAsk(4, 200);
    const answer = await ask(`${cold.url}/metrics`);
    await close();
    expect(answer).toMatchObject({ status: 200, body: 'warm' });
    expect(seen).toBe(2);
  });

  it('reports a server that never answers as a timeout after the second chance, and gives no third', async () => {
    let seen = 0;
    const hung = await startHttpServer(() => {
      seen += 1;
    });
    closers.push(hung.close);
    const { ask, close } = createAsk(4, 150);
    const answer = await ask(`${hung.url}/metrics`);
    await close();
    expect(answer).toMatchObject({ kind: 'timeout', message: 'no answer within 150 ms, nor within 300 ms when asked again' });
    expect(seen).toBe(2);
  });

  it('never sends a POST twice', async () => {
    let seen = 0;
    const broken = await startHttpServer((req) => {
      seen += 1;
      req.socket.destroy();
    });
    closers.push(broken.close);
    const { ask, close } = createAsk(4, 1_000);
    expect(await ask(`${broken.url}/v1/webhooks`, { method: 'POST', body: '{}' })).toMatchObject({ kind: 'reset' });
    await close();
    expect(seen).toBe(1);
  });

  it('keeps at most `concurrency` requests in flight across all services', async () => {
    let inFlight = 0;
    let most = 0;
    const servers = await Promise.all(
      Array.from({ length: 6 }, () =>
        startHttpServer((_req, res) => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          setTimeout(() => {
            inFlight -= 1;
            res.end('ok');
          }, 30);
        }),
      ),
    );
    closers.push(...servers.map((s) => s.close));
    const { ask, close } = createAsk(3, 2_000);
    const answers = await Promise.all(servers.flatMap((s) => [ask(`${s.url}/a`), ask(`${s.url}/b`)]));
    await close();
    expect(answers.every((a) => 'status' in a && a.status === 200)).toBe(true);
    expect(most).toBe(3);
  });
});
