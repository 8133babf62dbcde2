import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRequests, replayWithCurl, waves, type Recorded } from '../../bench/lib/replay.ts';
import { createHttpAgent, httpRequest } from '../../src/http/client.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

const rec = (method: string, origin: string, path: string, answer = '', body?: string): Recorded => ({ method, origin, path, headers: [], answer, ...(body === undefined ? {} : { body }) });

describe('bench/lib/replay waves', () => {
  it('puts the GETs that carry nothing a POST made first, then each origin’s others in their order', () => {
    const id = '6f1c2d3e-0000-4000-8000-000000000001';
    const requests = [
      rec('GET', 'a', '/health'),
      rec('POST', 'a', '/v1/items', JSON.stringify({ id, title: 'n3xus verify' }), JSON.stringify({ title: 'n3xus verify' })),
      rec('GET', 'b', '/health'),
      rec('GET', 'a', `/v1/items/${id}`),
      rec('DELETE', 'a', `/v1/items/${id}`),
      rec('GET', 'b', `/v1/seen?id=${encodeURIComponent(id)}`),
    ];
    expect(waves(requests)).toEqual([[0, 2], [1, 5], [3], [4]]);
  });

  it('does not take a value the request itself sent (an echoed field) for one its answer made', () => {
    const requests = [rec('POST', 'a', '/v1/items', JSON.stringify({ title: 'a long echoed title' }), JSON.stringify({ title: 'a long echoed title' })), rec('GET', 'a', '/v1/search?q=a%20long%20echoed%20title')];
    expect(waves(requests)).toEqual([[1], [0]]);
  });
});

const curl = spawnSync('curl', ['--version']).status === 0;

describeUnless(curl ? '' : 'curl is not installed (apt-get install curl)', 'bench/lib/replay on a real server', () => {
  let server: Server;
  let origin: string;
  const records = new Map<string, string>();
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-n3xus-handshake'] ?? ''}`);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = /^\/v1\/items\/(.+)$/.exec(req.url ?? '')?.[1];
        if (req.method === 'POST') {
          const made = randomUUID();
          records.set(made, body);
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: made }));
        } else if (id !== undefined && req.method === 'DELETE') res.writeHead(records.delete(id) ? 204 : 404).end();
        else if (id !== undefined) res.writeHead(records.has(id) ? 200 : 404).end(records.get(id) ?? '');
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the recorded requests again, headers and bodies as they were, reading and deleting what the replay wrote', async () => {
    const agent = createHttpAgent({ connectionsPerOrigin: 1, pipelining: 1 });
    const headers = { 'x-n3xus-handshake': '55-45-17' };
    const { requests } = await recordRequests(async () => {
      await httpRequest(`${origin}/health`, { agent, timeoutMs: 2000, headers });
      const created = await httpRequest(`${origin}/v1/items`, { agent, timeoutMs: 2000, method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"title":"x"}' });
      const { id } = JSON.parse(created.body) as { id: string };
      await httpRequest(`${origin}/v1/items/${id}`, { agent, timeoutMs: 2000, headers });
      await httpRequest(`${origin}/v1/items/${id}`, { agent, timeoutMs: 2000, method: 'DELETE', headers });
    });
    await agent.close();
    expect(records.size).toBe(0);
    seen.length = 0;

    const result = await replayWithCurl(requests);
    expect(result).toMatchObject({ sent: 4, answered: 4, waves: 4 });
    expect(seen[0]).toBe('GET /health 55-45-17');
    const made = /^POST \/v1\/items 55-45-17$/.test(seen[1]!) ? seen[1] : undefined;
    expect(made).toBeDefined();
    // The read and the delete went to the record the replay wrote (not the recorded one, long gone): none is left.
    expect(seen.slice(2).map((s) => s.replace(/[0-9a-f-]{36}/, 'ID'))).toEqual(['GET /v1/items/ID 55-45-17', 'DELETE /v1/items/ID 55-45-17']);
    expect(records.size).toBe(0);
  });
});
