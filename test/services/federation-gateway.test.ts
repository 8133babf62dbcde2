import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { N3XUS_LAW, type RunningService } from '@n3xus/kit';
import federationGateway from '../../services/federation-gateway/app.ts';
import { freePort } from '../support/local-servers.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';
import { call } from '../support/http.ts';

/** A stand-in peer that answers what it was sent, and a few fixed answers. */
function echoPeer(): Promise<{ server: Server; url: string; seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> }> {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      if (req.url === '/v1/created') {
        res.writeHead(201, { 'content-type': 'application/json', location: '/v1/things/7' }).end('{"id":7}');
      } else if (req.url === '/v1/empty') {
        res.writeHead(204).end();
      } else if (req.url === '/v1/text') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words');
      } else if (req.url === '/v1/refused') {
        // A peer's law refusal, as the kit answers it (headers and body of RFC 7725's 451).
        res.writeHead(451, { 'content-type': 'application/json', link: '</.well-known/n3xus-law>; rel="blocked-by"', 'cache-control': 'no-store' });
        res.end('{"error":{"code":"N3XUS_LAW","message":"refused by the peer"}}');
      } else if (req.url === '/v1/teapot') {
        res.writeHead(418, { 'content-type': 'application/json' }).end('{"error":{"code":"TEAPOT","message":"short and stout"}}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url, body: raw ? JSON.parse(raw) : null }));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen })));
}

describe.skipIf(missingServers !== '')('federation-gateway', () => {
  let svc: RunningService;
  let peer: Awaited<ReturnType<typeof echoPeer>>;
  beforeAll(async () => {
    peer = await echoPeer();
    const downUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    ({ svc } = await startTestService(federationGateway, { service: 'federation-gateway', databaseUrl: await freshDatabase(), redisUrl, peers: { echo: peer.url, 'down-peer': downUrl } }));
    await svc.ready;
  });
  afterAll(async () => {
    await svc?.close();
    await new Promise((r) => peer?.server.close(r));
  });

  it('lists the routes it serves', async () => {
    const { body } = await call(svc.url, 'GET', '/v1/routes');
    expect(body.routes).toEqual([
      { peer: 'echo', prefix: '/v1/route/echo/' },
      { peer: 'down-peer', prefix: '/v1/route/down-peer/' },
    ]);
  });

  it('forwards method, path, query and JSON body, adding the handshake and the request id', async () => {
    const res = await call(svc.url, 'PATCH', '/v1/route/echo/v1/items/did%3An3xus%3Aabc?x=1&y=a%20b', { name: 'n' }, { ...lawful, 'x-request-id': 'trace-123' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-n3xus-routed-by')).toBe('federation-gateway');
    expect(res.body).toEqual({ method: 'PATCH', url: '/v1/items/did%3An3xus%3Aabc?x=1&y=a%20b', body: { name: 'n' } });
    const seen = peer.seen.at(-1)!;
    expect(seen.headers['x-n3xus-handshake']).toBe(N3XUS_LAW);
    expect(seen.headers['x-request-id']).toBe('trace-123');

    const get = await call(svc.url, 'GET', '/v1/route/echo/health');
    expect(get.body).toEqual({ method: 'GET', url: '/health', body: null });
    expect((await call(svc.url, 'DELETE', '/v1/route/echo/')).body).toMatchObject({ method: 'DELETE', url: '/' });
  });

  it("returns the peer's status, body and Location (rewritten to the gateway)", async () => {
    const created = await call(svc.url, 'POST', '/v1/route/echo/v1/created', {});
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 7 });
    expect(created.headers.get('location')).toBe('/v1/route/echo/v1/things/7');
    expect((await call(svc.url, 'GET', '/v1/route/echo/v1/empty')).status).toBe(204);
    const text = await call(svc.url, 'GET', '/v1/route/echo/v1/text');
    expect(text.body).toBe('plain words');
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const teapot = await call(svc.url, 'GET', '/v1/route/echo/v1/teapot');
    expect(teapot.status).toBe(418);
    expect(teapot.body.error.code).toBe('TEAPOT');
  });

  it("passes a peer's 451 through whole: status, body, Link and Cache-Control", async () => {
    const res = await call(svc.url, 'GET', '/v1/route/echo/v1/refused');
    expect(res.status).toBe(451);
    expect(res.body).toEqual({ error: { code: 'N3XUS_LAW', message: 'refused by the peer' } });
    expect(res.headers.get('link')).toBe('</.well-known/n3xus-law>; rel="blocked-by"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-n3xus-routed-by')).toBe('federation-gateway');
  });

  it('refuses callers without the handshake (451) before routing anything', async () => {
    const before = peer.seen.length;
    const res = await call(svc.url, 'GET', '/v1/route/echo/v1/x', undefined, {});
    expect(res.status).toBe(451);
    expect(peer.seen.length).toBe(before);
  });

  it('answers 404 for a peer it does not route, 502 for a peer that is down, 400 for dot segments', async () => {
    const unknown = await call(svc.url, 'GET', '/v1/route/nowhere/v1/x');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('UNKNOWN_PEER');
    const down = await call(svc.url, 'POST', '/v1/route/down-peer/v1/x', { a: 1 });
    expect(down.status).toBe(502);
    expect(down.body.error.code).toBe('PEER_UNAVAILABLE');
    expect(down.headers.get('x-n3xus-routed-by')).toBe('federation-gateway');
    // fetch() would normalise the dot segments away; node:http sends the path as written.
    const dots = await new Promise<number | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port: svc.port, path: '/v1/route/echo/v1/%2E%2E/admin', headers: lawful }, (res) => resolve(res.resume().statusCode)).on('error', reject).end();
    });
    expect(dots).toBe(400);
    expect((await call(svc.url, 'POST', '/v1/route/echo/v1/x', '{"broken"')).status).toBe(400);
  });
});
