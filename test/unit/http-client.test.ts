import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { closeHttp, createHttpAgent, HttpError, httpRequest } from '../../src/http/client.ts';
import { startHttpServer } from '../verify/support.ts';

const require = createRequire(import.meta.url);

describe('the one HTTP client', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await closeHttp();
    await Promise.all(closers.map((close) => close()));
  });

  it('loads only the parts of undici it uses, not its entry point', async () => {
    expect(Object.keys(require.cache).some((k) => /undici[/\\]index\.js$/.test(k))).toBe(false);
  });

  it('sends method, path, query, headers and body, and reads status, headers and body', async () => {
    const seen: Array<{ method?: string; url?: string; header?: string | string[]; body: string }> = [];
    const server = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, header: req.headers['x-n3xus-handshake'], body });
        res.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes' }).end('{"ok":true}');
      });
    });
    closers.push(server.close);
    const answer = await httpRequest(`${server.url}/v1/things?limit=2`, { method: 'POST', headers: { 'x-n3xus-handshake': '55-45-17' }, body: '{"a":1}' });
    expect(answer).toMatchObject({ status: 201, body: '{"ok":true}', headers: { 'x-answer': 'yes' } });
    expect(seen).toEqual([{ method: 'POST', url: '/v1/things?limit=2', header: '55-45-17', body: '{"a":1}' }]);
  });

  it('tells a refused connection, a timeout and a too-long body apart', async () => {
    const closed = await startHttpServer(() => {});
    await closed.close();
    await expect(httpRequest(`${closed.url}/health`, { timeoutMs: 1_000 })).rejects.toMatchObject({ kind: 'refused' });
    const silent = await startHttpServer(() => {});
    closers.push(silent.close);
    const agent = createHttpAgent();
    const late = await httpRequest(`${silent.url}/health`, { timeoutMs: 100, agent }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(HttpError);
    expect(late).toMatchObject({ kind: 'timeout', message: `${silent.url}/health: no answer within 100 ms` });
    await agent.close();
    const big = await startHttpServer((_req, res) => res.end('x'.repeat(5_000)));
    closers.push(big.close);
    await expect(httpRequest(`${big.url}/`, { maxBodyBytes: 1_000 })).rejects.toMatchObject({ kind: 'too-large' });
  });
});
