import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineService, f, type RunningService } from '@n3xus/kit';
import { eventually, freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const notes = defineService({ resources: { notes: { title: f.text() } } });
const json = { ...lawful, 'content-type': 'application/json' };

async function ready(svc: RunningService): Promise<{ status: number; body: { checks: Record<string, { status: string; circuit?: string }>; migrations: { complete: boolean } } }> {
  // With the handshake: the circuit and the migrations are the operator's view of readiness.
  const res = await fetch(`${svc.url}/ready`, { headers: lawful });
  return { status: res.status, body: (await res.json()) as never };
}

describe.skipIf(missingServers !== '')(`degradation with PostgreSQL or Redis unreachable ${missingServers}`, () => {
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let svc: RunningService;

  beforeAll(async () => {
    const db = await freshDatabase();
    pgProxy = await TcpProxy.forUrl(db).start();
    redisProxy = await TcpProxy.forUrl(redisUrl).start();
    ({ svc } = await startTestService(notes, { service: 'degrade-test', databaseUrl: pgProxy.url(db), redisUrl: redisProxy.url(redisUrl) }));
    await svc.ready;
  });
  afterAll(async () => {
    await svc.close();
    await pgProxy.stop();
    await redisProxy.stop();
  });

  it('is ready when both answer', async () => {
    const r = await ready(svc);
    expect(r.status).toBe(200);
    expect(r.body.checks.postgres!.status).toBe('up');
    expect(r.body.checks.redis!.status).toBe('up');
  });

  it('keeps serving from PostgreSQL while Redis is down, reports Redis down, and recovers when it returns', async () => {
    redisProxy.cut();
    const r = await ready(svc);
    expect(r.status).toBe(503);
    expect(r.body.checks.redis!.status).toBe('down');
    expect(r.body.checks.postgres!.status).toBe('up');
    const created = await fetch(`${svc.url}/v1/notes`, { method: 'POST', headers: json, body: JSON.stringify({ title: 'while redis is down' }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${svc.url}/v1/notes/${id}`, { headers: lawful });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-cache')).toBe('miss');
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
    redisProxy.restore();
    await eventually(async () => (await ready(svc)).status === 200, 20_000, 250);
  });

  it('answers 503 JSON while PostgreSQL is down, opens the circuit so calls fail fast, and closes it once PostgreSQL is back', async () => {
    pgProxy.cut();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${svc.url}/v1/notes`, { method: 'POST', headers: json, body: JSON.stringify({ title: `attempt ${i}` }) });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
    }
    const r = await ready(svc);
    expect(r.status).toBe(503);
    expect(r.body.checks.postgres).toMatchObject({ status: 'down', circuit: 'open' });
    // While the circuit is open, requests are failed without touching PostgreSQL at all.
    const attemptsBefore = pgProxy.refused;
    const res = await fetch(`${svc.url}/v1/notes`, { headers: lawful });
    expect(res.status).toBe(503);
    expect(pgProxy.refused).toBe(attemptsBefore);
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);

    pgProxy.restore();
    await eventually(async () => (await fetch(`${svc.url}/v1/notes`, { headers: lawful })).status === 200, 20_000, 250);
    expect((await ready(svc)).body.checks.postgres).toMatchObject({ status: 'up', circuit: 'closed' });
  });

  it('lost nothing: every record created before and during the outages is still there', async () => {
    const list = (await (await fetch(`${svc.url}/v1/notes?limit=100`, { headers: lawful })).json()) as { items: Array<{ title: string }> };
    expect(list.items.map((n) => n.title)).toEqual(['while redis is down']);
  });
});

describe.skipIf(missingServers !== '')('a service started while PostgreSQL is down', () => {
  it('is live at once, not ready, and migrates and becomes ready when PostgreSQL comes up', async () => {
    const db = await freshDatabase();
    const pgProxy = await TcpProxy.forUrl(db).start();
    pgProxy.cut();
    const { svc, logs } = await startTestService(notes, { service: 'late-db-test', databaseUrl: pgProxy.url(db), redisUrl });
    try {
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      const r = await ready(svc);
      expect(r.status).toBe(503);
      expect(r.body.migrations.complete).toBe(false);
      const early = await fetch(`${svc.url}/v1/notes`, { headers: lawful });
      expect(early.status).toBe(503);
      expect(await early.json()).toMatchObject({ error: { code: 'NOT_READY' } });
      pgProxy.restore();
      await svc.ready;
      expect((await ready(svc)).status).toBe(200);
      expect(logs.some((l) => l.event === 'migration_deferred')).toBe(true);
    } finally {
      await svc.close();
      await pgProxy.stop();
    }
  });
});

describe('no PostgreSQL or Redis configured at all', () => {
  it('stays up and says so in readiness', async () => {
    const { svc } = await startTestService(notes, { service: 'no-deps-test' });
    try {
      const r = await ready(svc);
      expect(r.status).toBe(503);
      expect(r.body.checks.postgres!.status).toBe('unconfigured');
      expect(r.body.checks.redis!.status).toBe('unconfigured');
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
    } finally {
      await svc.close();
    }
  });
});
