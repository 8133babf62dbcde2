import { afterAll, beforeAll, expect, it } from 'vitest';
import { defineService, f, N3XUS_LAW, type ReadyBody, type RunningService } from '@n3xus/kit';
import { freePort } from '../support/local-servers.ts';
import { eventually, missingServers, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';
import { describeUnless } from '../support/skip-or-fail.ts';

const notes = defineService({ resources: { notes: { title: f.text() } } });

async function ready(svc: RunningService, headers: Record<string, string> = {}): Promise<{ status: number; vary: string | null; text: string; body: ReadyBody }> {
  const res = await fetch(`${svc.url}/ready`, { headers });
  const text = await res.text();
  return { status: res.status, vary: res.headers.get('vary'), text, body: JSON.parse(text) as ReadyBody };
}

describeUnless(missingServers, 'readiness: up or down for anyone, the details only with the handshake', () => {
  let svc: RunningService;

  beforeAll(async () => {
    // Nothing listens on the port: PostgreSQL's check and the migrations fail with a driver error to hide.
    const databaseUrl = `postgres://n3xus:secret-password@127.0.0.1:${await freePort()}/n3xus`;
    ({ svc } = await startTestService(notes, { service: 'readiness-test', databaseUrl, redisUrl }));
    await eventually(async () => (await ready(svc, lawful)).body.migrations?.error);
  });
  afterAll(() => svc?.close());

  it('without the handshake says only the status of each dependency: no error text, latency, circuit or migrations', async () => {
    const { status, body, text, vary } = await ready(svc);
    expect(status).toBe(503);
    expect(body).toEqual({ status: 'degraded', service: 'readiness-test', checks: { postgres: { status: 'down' }, redis: { status: 'up' } } });
    expect(text).not.toMatch(/ECONNREFUSED|unavailable|error|latency|circuit|127\.0\.0\.1|n3xus/i);
    expect(vary).toMatch(/x-n3xus-handshake/i);
  });

  it('with a wrong handshake says no more than without one', async () => {
    const { body } = await ready(svc, { 'x-n3xus-handshake': `${N3XUS_LAW}-not` });
    expect(body.checks.postgres).toEqual({ status: 'down' });
    expect(body.migrations).toBeUndefined();
  });

  it('with the handshake gives the details: the error, latency and circuit of each check, and the migrations', async () => {
    const { status, body } = await ready(svc, lawful);
    expect(status).toBe(503);
    expect(body.checks.postgres).toMatchObject({ status: 'down', error: expect.stringContaining('ECONNREFUSED'), latencyMs: expect.any(Number), circuit: expect.any(String) });
    expect(body.checks.redis).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    expect(body.migrations).toMatchObject({ complete: false, error: expect.any(String) });
  });
});
