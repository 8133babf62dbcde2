import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HANDSHAKE_HEADER,
  LAW_LINK_PATH,
  MAX_HANDSHAKE_LENGTH,
  N3XUS_LAW,
  buildTimeLawCheckScript,
  defineService,
  handshakeFault,
  requestHandshakeFault,
  type RunningService,
} from '@n3xus/kit';
import { spawnSync } from 'node:child_process';
import { rawRequest, statusOf } from '../support/raw-http.ts';
import { lawful, startTestService } from '../support/service.ts';

describe('handshake check (pure)', () => {
  it('accepts exactly the law', () => {
    expect(handshakeFault(N3XUS_LAW)).toBeUndefined();
  });
  it.each([
    ['missing', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['wrong digits', '55-45-18', 'mismatch'],
    ['inner spaces', '55 -45-17', 'mismatch'],
    ['trailing no-break space', `${N3XUS_LAW}\u00a0`, 'mismatch'],
    ['en dashes', '55\u201345\u201317', 'mismatch'],
    ['full-width digits', '\uff15\uff15-45-17', 'mismatch'],
    ['doubled', `${N3XUS_LAW},${N3XUS_LAW}`, 'mismatch'],
    ['prefix only', '55-45', 'mismatch'],
    ['array', [N3XUS_LAW, N3XUS_LAW], 'repeated'],
    ['overlong', N3XUS_LAW + 'x'.repeat(MAX_HANDSHAKE_LENGTH), 'too-long'],
    ['a number', 554517, 'mismatch'],
  ])('refuses %s', (_label, value, fault) => {
    expect(handshakeFault(value)).toBe(fault);
  });
  it('refuses a header sent twice even when both copies are right', () => {
    const raw = [HANDSHAKE_HEADER, N3XUS_LAW, 'X-N3XUS-Handshake', N3XUS_LAW];
    expect(requestHandshakeFault({ [HANDSHAKE_HEADER]: `${N3XUS_LAW}, ${N3XUS_LAW}` }, raw)).toBe('repeated');
  });
});

describe('build-time law check script', () => {
  const run = (env: Record<string, string>) => {
    const script = buildTimeLawCheckScript();
    return spawnSync('sh', ['-c', script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  };
  it('passes with the right handshake', () => {
    expect(run({ N3XUS_HANDSHAKE: N3XUS_LAW }).status).toBe(0);
  });
  it('fails with a clear message when the handshake is missing', () => {
    const res = run({});
    expect(res.status).toBe(45);
    expect(res.stderr).toMatch(/N3XUS_HANDSHAKE is missing/);
  });
  it('fails when the handshake is wrong, without revealing the right one', () => {
    const res = run({ N3XUS_HANDSHAKE: '55-45-18' });
    expect(res.status).toBe(45);
    expect(res.stderr).toMatch(/N3XUS_HANDSHAKE is wrong/);
    expect(res.stderr).not.toContain(N3XUS_LAW);
  });
});

describe('request layer of the law (real HTTP server)', () => {
  let svc: RunningService;
  beforeAll(async () => {
    ({ svc } = await startTestService(defineService({}), { service: 'law-test' }));
  });
  afterAll(() => svc.close());

  const protectedPath = '/metrics';

  it('exempts /health: 200 without any handshake', async () => {
    const res = await fetch(`${svc.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', service: 'law-test' });
  });

  it('answers 451 with RFC 7725 Link, no-store and a small JSON body that leaks nothing', async () => {
    const res = await fetch(`${svc.url}${protectedPath}`);
    expect(res.status).toBe(451);
    expect(res.headers.get('link')).toBe(`<${LAW_LINK_PATH}>; rel="blocked-by"`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('x-powered-by')).toBeNull();
    const text = await res.text();
    expect(text).not.toContain(N3XUS_LAW);
    expect(text.length).toBeLessThan(300);
    expect(JSON.parse(text)).toEqual({ error: { code: 'N3XUS_LAW', message: expect.any(String) } });
  });

  it('passes a request with the right handshake (header name in any case)', async () => {
    expect((await fetch(`${svc.url}${protectedPath}`, { headers: lawful })).status).toBe(200);
    expect((await fetch(`${svc.url}${protectedPath}`, { headers: { 'X-N3XUS-HANDSHAKE': N3XUS_LAW } })).status).toBe(200);
  });

  it.each([
    ['a wrong value', '55-45-18'],
    ['inner whitespace', '55- 45-17'],
    ['a no-break space', `${N3XUS_LAW}\u00a0`],
    ['two values in one header', `${N3XUS_LAW}, ${N3XUS_LAW}`],
    ['an overlong value', 'x'.repeat(8000)],
  ])('answers 451 to %s', async (_label, value) => {
    const res = await fetch(`${svc.url}${protectedPath}`, { headers: { [HANDSHAKE_HEADER]: value } });
    expect(res.status).toBe(451);
  });

  it('answers 451 to the header sent twice, and stays up', async () => {
    const raw = await rawRequest(svc.port, `GET ${protectedPath} HTTP/1.1\r\nHost: x\r\nX-N3XUS-Handshake: ${N3XUS_LAW}\r\nx-n3xus-handshake: ${N3XUS_LAW}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(raw)).toBe(451);
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
  });

  it('survives odd requests: header over 16 KB, control characters, a garbage request line', async () => {
    expect(statusOf(await rawRequest(svc.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))).toBe(431);
    expect(statusOf(await rawRequest(svc.port, `GET / HTTP/1.1\r\nHost: x\r\nX-N3XUS-Handshake: 55\u0001-45-17\r\n\r\n`))).toBe(400);
    expect(statusOf(await rawRequest(svc.port, 'NOT HTTP AT ALL\r\n\r\n'))).toBe(400);
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
  });

  it('serves the law description at the Link target without a handshake', async () => {
    const res = await fetch(`${svc.url}${LAW_LINK_PATH}`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toMatch(/"55-45-17"/);
  });

  it('counts refusals in /metrics', async () => {
    const text = await (await fetch(`${svc.url}/metrics`, { headers: lawful })).text();
    expect(text).toMatch(/n3xus_law_refusals_total\{reason="missing",service="law-test"\} [1-9]/);
  });
});

describe('law refusals in the log (real HTTP server)', () => {
  it('logs the first refusal of a burst at once and sums up the rest by reason, not one line per request', async () => {
    const { svc, logs } = await startTestService(defineService({}), { service: 'refusal-log-test' });
    try {
      await fetch(`${svc.url}/metrics`);
      const wrong = await Promise.all(Array.from({ length: 30 }, () => fetch(`${svc.url}/metrics`, { headers: { [HANDSHAKE_HEADER]: '00-00-00' } })));
      expect(wrong.every((r) => r.status === 451)).toBe(true);
      const missing = await Promise.all(Array.from({ length: 9 }, () => fetch(`${svc.url}/metrics`)));
      expect(missing.every((r) => r.status === 451)).toBe(true);
      // A lawful request is still logged as a request.
      expect((await fetch(`${svc.url}/metrics`, { headers: lawful })).status).toBe(200);
      const first = logs.filter((l) => l.event === 'law_refused');
      expect(first).toEqual([expect.objectContaining({ reason: 'missing', path: '/metrics', status: 451 })]);
      expect(logs.filter((l) => l.event === 'request' && l.status === 451)).toEqual([]);
      expect(logs.filter((l) => l.event === 'request' && l.status === 200 && l.path === '/metrics')).toHaveLength(1);
    } finally {
      await svc.close();
    }
    // What the window counted is logged when the service stops, so no refusal goes unreported.
    expect(logs.filter((l) => l.event === 'law_refusals')).toEqual([expect.objectContaining({ count: 39, byReason: { mismatch: 30, missing: 9 } })]);
  });
});
