import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLS_PATH, HANDSHAKE_HEADER, N3XUS_LAW, PING_DEADLINE_MS, PING_PATH, PING_TIMEOUT_MS, defineService, type CallsReport, type RunningService } from '@n3xus/kit';
import { freePort } from '../support/local-servers.ts';
import { rawRequest, statusOf } from '../support/raw-http.ts';
import { lawful, startTestService } from '../support/service.ts';

const plain = defineService({});

/** A real HTTP server that records every request it gets and answers with `answer` (a peer the test controls). */
async function recordingPeer(answer: (path: string) => { status: number; body: unknown }) {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const { status, body: out } = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const report = async (res: Response): Promise<CallsReport> => (await res.json()) as CallsReport;

describe('the kit ping route', () => {
  let svc: RunningService;
  beforeAll(async () => {
    ({ svc } = await startTestService(plain, { service: 'ping-test' }));
  });
  afterAll(() => svc.close());

  it('answers {service} with the handshake, and 451 without it or with a wrong one', async () => {
    const ok = await fetch(`${svc.url}${PING_PATH}`, { headers: lawful });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ service: 'ping-test' });
    expect((await fetch(`${svc.url}${PING_PATH}`)).status).toBe(451);
    expect((await fetch(`${svc.url}${PING_PATH}`, { headers: { [HANDSHAKE_HEADER]: '55-45-18' } })).status).toBe(451);
  });
});

describe('the declared calls, made on demand (real kit services)', () => {
  const running: RunningService[] = [];
  let ledger: RunningService;
  let registry: RunningService;
  let caller: RunningService;
  let decoy: Awaited<ReturnType<typeof recordingPeer>>;
  let recorder: Awaited<ReturnType<typeof recordingPeer>>;

  beforeAll(async () => {
    ({ svc: ledger } = await startTestService(plain, { service: 'ledger' }));
    ({ svc: registry } = await startTestService(plain, { service: 'registry' }));
    running.push(ledger, registry);
    // The recorder is a declared peer that answers the ping as itself; the decoy is declared by nobody.
    recorder = await recordingPeer(() => ({ status: 200, body: { service: 'recorder' } }));
    decoy = await recordingPeer(() => ({ status: 200, body: { service: 'decoy' } }));
    ({ svc: caller } = await startTestService(plain, { service: 'caller', peers: { ledger: ledger.url, registry: registry.url, recorder: recorder.url } }));
    running.push(caller);
  });
  afterAll(async () => {
    await Promise.all([...running.map((s) => s.close()), decoy.close(), recorder.close()]);
  });

  it('calls every declared peer on its protected ping route, through the breaker, and answers 200', async () => {
    const res = await fetch(`${caller.url}${CALLS_PATH}`, { headers: lawful });
    expect(res.status).toBe(200);
    const body = await report(res);
    expect(body.service).toBe('caller');
    expect(body.peers.map((p) => p.peer)).toEqual(['ledger', 'registry', 'recorder']);
    for (const peer of body.peers) {
      expect(peer).toEqual({ peer: peer.peer, reached: true, status: 200, answeredBy: peer.peer, latencyMs: expect.any(Number), breaker: 'closed' });
    }
    // The call carried the handshake (the kit peers answered their protected route) and nothing of the request.
    const last = recorder.seen.at(-1)!;
    expect(last).toMatchObject({ method: 'GET', url: PING_PATH, body: '' });
    expect(last.headers[HANDSHAKE_HEADER]).toBe(N3XUS_LAW);
  });

  it('calls one declared peer by name', async () => {
    const res = await fetch(`${caller.url}${CALLS_PATH}/registry`, { headers: lawful });
    expect(res.status).toBe(200);
    expect((await report(res)).peers).toEqual([expect.objectContaining({ peer: 'registry', reached: true, status: 200, breaker: 'closed' })]);
  });

  it('is behind the law: 451 without the handshake, and no call is made', async () => {
    const before = recorder.seen.length;
    for (const path of [CALLS_PATH, `${CALLS_PATH}/recorder`]) {
      const res = await fetch(`${caller.url}${path}`);
      expect(res.status).toBe(451);
      expect(res.headers.get('link')).toBe('</.well-known/n3xus-law>; rel="blocked-by"');
    }
    expect(recorder.seen.length).toBe(before);
  });

  it('refuses an undeclared peer with 404 and a clear error, without calling anyone', async () => {
    const before = recorder.seen.length;
    const res = await fetch(`${caller.url}${CALLS_PATH}/decoy`, { headers: lawful });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'UNKNOWN_PEER', message: '"decoy" is not a peer caller declares (N3XUS_PEERS); it calls only ledger, registry, recorder.' } });
    expect(decoy.seen).toEqual([]);
    expect(recorder.seen.length).toBe(before);
  });

  it('is no proxy: no path, URL, query, method, header or body of the request ever reaches a peer', async () => {
    const before = recorder.seen.length;
    const decoyHost = new URL(decoy.url).host;
    const attempts = [
      `${CALLS_PATH}/..%2F..%2Fmetrics`,
      `${CALLS_PATH}/%2e%2e`,
      `${CALLS_PATH}/recorder%2F..%2Fmetrics`,
      `${CALLS_PATH}/recorder%2Fv1%2Fsecrets`,
      `${CALLS_PATH}/${encodeURIComponent(decoy.url)}`,
      `${CALLS_PATH}/${encodeURIComponent(`${decoy.url}/x`)}`,
      `${CALLS_PATH}/${decoyHost}`,
      `${CALLS_PATH}/__proto__`,
      `${CALLS_PATH}/constructor`,
      `${CALLS_PATH}/hasOwnProperty`,
      `${CALLS_PATH}/recorder/v1/secrets`,
      `${CALLS_PATH}/recorder/..%2F..%2Fmetrics`,
    ];
    for (const path of attempts) {
      const res = await fetch(`${caller.url}${path}`, { headers: lawful });
      expect(res.status, path).toBe(404);
    }
    // Sent raw, so that no client normalises the dot segments or the absolute-form target away first.
    const rawTargets = [`${CALLS_PATH}/../../metrics`, `${CALLS_PATH}/recorder/../../metrics`, `${decoy.url}/x`, `${decoy.url}${CALLS_PATH}/recorder`];
    for (const target of rawTargets) {
      const raw = await rawRequest(caller.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${HANDSHAKE_HEADER}: ${N3XUS_LAW}\r\nConnection: close\r\n\r\n`);
      // An absolute-form target is served as its path: a call to the recorder's ping, never a request to the decoy.
      expect([200, 404], target).toContain(statusOf(raw));
    }
    // Other methods, a query and a body: still only the ping, with nothing of the request.
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${caller.url}${CALLS_PATH}/recorder`, { method, headers: { ...lawful, 'content-type': 'application/json' }, body: '{"path":"/v1/secrets"}' });
      expect(res.status, method).toBe(404);
    }
    const viaQuery = await fetch(`${caller.url}${CALLS_PATH}/recorder?path=/v1/secrets&url=${encodeURIComponent(decoy.url)}`, { headers: { ...lawful, 'x-forward-me': 'yes', authorization: 'Bearer t' } });
    expect(viaQuery.status).toBe(200);

    expect(decoy.seen).toEqual([]);
    const made = recorder.seen.slice(before);
    expect(made.length).toBeGreaterThanOrEqual(1);
    for (const request of made) {
      expect(request).toMatchObject({ method: 'GET', url: PING_PATH, body: '' });
      expect(request.headers['x-forward-me']).toBeUndefined();
      expect(request.headers.authorization).toBeUndefined();
    }
  });
});

describe('declared calls that fail, reported per peer', () => {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  let healthy: RunningService;

  beforeAll(async () => {
    ({ svc: healthy } = await startTestService(plain, { service: 'healthy' }));
    running.push(healthy);
  });
  afterAll(async () => {
    await Promise.all([...running.map((s) => s.close()), ...closers.map((c) => c())]);
  });

  const callerOf = async (service: string, peers: Record<string, string>) => {
    const { svc } = await startTestService(plain, { service, peers });
    running.push(svc);
    return svc;
  };

  it('a peer that refuses connections: 502, not reached, why, and the other peer still reached', async () => {
    const closed = await freePort();
    const caller = await callerOf('caller-a', { healthy: healthy.url, gone: `http://127.0.0.1:${closed}` });
    const res = await fetch(`${caller.url}${CALLS_PATH}`, { headers: lawful });
    expect(res.status).toBe(502);
    const body = await report(res);
    expect(body.peers.find((p) => p.peer === 'healthy')).toMatchObject({ reached: true, status: 200 });
    const gone = body.peers.find((p) => p.peer === 'gone')!;
    expect(gone).toEqual({ peer: 'gone', reached: false, latencyMs: expect.any(Number), breaker: 'closed', error: 'connection refused (ECONNREFUSED)' });
  });

  it("opens the caller's circuit to a dead peer, then reports the call not made", async () => {
    const closed = await freePort();
    const caller = await callerOf('caller-b', { gone: `http://127.0.0.1:${closed}` });
    // Three attempts per call, five failures open the circuit: the second call opens it.
    const breakers: string[] = [];
    for (let i = 0; i < 3; i++) breakers.push((await report(await fetch(`${caller.url}${CALLS_PATH}/gone`, { headers: lawful }))).peers[0]!.breaker);
    expect(breakers).toEqual(['closed', 'open', 'open']);
    const last = (await report(await fetch(`${caller.url}${CALLS_PATH}/gone`, { headers: lawful }))).peers[0]!;
    expect(last).toMatchObject({ reached: false, breaker: 'open', error: 'circuit open: the call was not made' });
    expect(last.status).toBeUndefined();
  });

  it('a peer that refuses the handshake (451), one that fails (500), and another service on the address', async () => {
    const refusing = await recordingPeer(() => ({ status: 451, body: { error: { code: 'N3XUS_LAW', message: 'no' } } }));
    const failing = await recordingPeer(() => ({ status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } }));
    const impostor = await recordingPeer(() => ({ status: 200, body: { service: 'someone-else' } }));
    closers.push(refusing.close, failing.close, impostor.close);
    const caller = await callerOf('caller-c', { refusing: refusing.url, failing: failing.url, impostor: impostor.url });
    const res = await fetch(`${caller.url}${CALLS_PATH}`, { headers: lawful });
    expect(res.status).toBe(502);
    const byPeer = Object.fromEntries((await report(res)).peers.map((p) => [p.peer, p]));
    expect(byPeer.refusing).toMatchObject({ reached: false, status: 451, error: 'answered 451' });
    expect(refusing.seen).toHaveLength(1); // a 4xx is the answer: not retried
    expect(byPeer.failing).toMatchObject({ reached: false, status: 500, error: 'answered 500' });
    expect(failing.seen).toHaveLength(3); // a 5xx is retried, as every idempotent call of the service is
    expect(byPeer.impostor).toMatchObject({ reached: false, status: 200, answeredBy: 'someone-else', error: '"someone-else" answered instead' });
  });

  it('a peer that hangs is reported within the whole call\'s deadline, which stays under verify\'s 2 s', async () => {
    let hits = 0;
    const server = createServer(() => {
      hits += 1; // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const caller = await callerOf('caller-d', { hung: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const started = performance.now();
    const res = await fetch(`${caller.url}${CALLS_PATH}`, { headers: lawful });
    const took = performance.now() - started;
    expect(res.status).toBe(502);
    expect((await report(res)).peers[0]).toMatchObject({ peer: 'hung', reached: false, breaker: 'closed', error: `no answer in time (${PING_TIMEOUT_MS} ms per attempt, ${PING_DEADLINE_MS} ms in all)` });
    expect(took).toBeGreaterThanOrEqual(PING_DEADLINE_MS - 50);
    expect(took).toBeLessThan(2000);
    expect(hits).toBe(2); // the first attempt's 1 s, a retry cut short by the deadline, and no third
  });

  it('a peer that closes the connection without answering: the socket\'s reason, not fetch\'s "fetch failed"', async () => {
    const server = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const caller = await callerOf('caller-e', { closing: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const res = await fetch(`${caller.url}${CALLS_PATH}`, { headers: lawful });
    expect(res.status).toBe(502);
    expect((await report(res)).peers[0]).toMatchObject({ peer: 'closing', reached: false, error: 'other side closed' });
  });

  it('a service that declares no peer answers 200 with none, and 404 for any name', async () => {
    const res = await fetch(`${healthy.url}${CALLS_PATH}`, { headers: lawful });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service: 'healthy', peers: [] });
    const one = await fetch(`${healthy.url}${CALLS_PATH}/anyone`, { headers: lawful });
    expect(one.status).toBe(404);
    expect(((await one.json()) as { error: { message: string } }).error.message).toBe('"anyone" is not a peer healthy declares (N3XUS_PEERS); it declares none.');
  });
});
