import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDSHAKE_HEADER, Logger, N3XUS_LAW, PeerUnavailableError, Peers } from '@n3xus/kit';
import { freePort } from '../support/local-servers.ts';
import { eventually } from '../support/servers.ts';

/** A real HTTP peer whose health the test switches, counting the requests that reach it. */
function flakyPeer() {
  const state = { healthy: false, hits: 0, lastHandshake: undefined as string | undefined };
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    state.lastHandshake = req.headers[HANDSHAKE_HEADER] as string | undefined;
    res.writeHead(state.healthy ? 200 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: state.healthy }));
  });
  return { state, server };
}

const quiet = new Logger('breaker-test', 'error', () => undefined);

describe('circuit breaker on calls to a peer (real HTTP server)', () => {
  const { state, server } = flakyPeer();
  let peers: Peers;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    peers = new Peers({ flaky: url }, N3XUS_LAW, quiet, { breakAfter: 3, halfOpenAfterMs: 300, maxAttempts: 1 });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('carries the handshake on every call (zero trust)', async () => {
    state.healthy = true;
    expect((await peers.call('flaky', '/x')).status).toBe(200);
    expect(state.lastHandshake).toBe(N3XUS_LAW);
  });

  it('opens after 3 consecutive failures and then fails fast without calling the peer', async () => {
    state.healthy = false;
    state.hits = 0;
    for (let i = 0; i < 3; i++) expect((await peers.call('flaky', '/x')).status).toBe(500);
    expect(peers.circuit('flaky')).toBe('open');
    await expect(peers.call('flaky', '/x')).rejects.toThrow(PeerUnavailableError);
    await expect(peers.call('flaky', '/x')).rejects.toThrow(/circuit open/);
    expect(state.hits).toBe(3);
  });

  it('lets one trial call through after the break and closes again when it succeeds', async () => {
    state.healthy = true;
    await eventually(async () => (await peers.call('flaky', '/x').catch(() => undefined))?.status === 200, 5000, 50);
    expect(peers.circuit('flaky')).toBe('closed');
  });

  it('reopens when the trial call fails', async () => {
    state.healthy = false;
    for (let i = 0; i < 3; i++) await peers.call('flaky', '/x');
    expect(peers.circuit('flaky')).toBe('open');
    await new Promise((r) => setTimeout(r, 350));
    expect((await peers.call('flaky', '/x')).status).toBe(500);
    expect(peers.circuit('flaky')).toBe('open');
  });
});

describe('retry with backoff', () => {
  it('retries an idempotent call and succeeds when the peer recovers within the attempts', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(hits < 3 ? 503 : 200).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const peers = new Peers({ p: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, N3XUS_LAW, quiet, { maxAttempts: 3, initialDelayMs: 10 });
      expect((await peers.call('p', '/')).status).toBe(200);
      expect(hits).toBe(3);
    } finally {
      server.close();
    }
  });

  it('never sends a POST twice', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(503).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const peers = new Peers({ p: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, N3XUS_LAW, quiet, { maxAttempts: 3, initialDelayMs: 10 });
      expect((await peers.call('p', '/', { method: 'POST', body: {} })).status).toBe(503);
      expect(hits).toBe(1);
    } finally {
      server.close();
    }
  });

  it('reports a peer that refuses connections as unavailable, naming it', async () => {
    const port = await freePort();
    const peers = new Peers({ gone: `http://127.0.0.1:${port}` }, N3XUS_LAW, quiet, { maxAttempts: 2, initialDelayMs: 10 });
    await expect(peers.call('gone', '/')).rejects.toThrow(/peer gone is unavailable/);
    await expect(peers.call('unknown', '/')).rejects.toThrow(/peer unknown is unavailable: not a configured peer/);
  });
});
