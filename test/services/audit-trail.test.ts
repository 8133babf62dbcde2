import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import auditTrail from '../../services/audit-trail/app.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call, type Json, referenceCanonicalJson } from '../support/http.ts';

const expectedHash = (r: Json) =>
  createHash('sha256')
    .update(r.prevHash + referenceCanonicalJson({ id: r.id, actor: r.actor, action: r.action, subject: r.subject, detail: r.detail, eventId: r.eventId, createdAt: r.createdAt }))
    .digest('hex');

describe.skipIf(missingServers !== '')('audit-trail', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  const start = async () => {
    ({ svc, logs } = await startTestService(auditTrail, { service: 'audit-trail', databaseUrl, redisUrl }));
    await svc.ready;
  };
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    await start();
  });
  afterAll(() => svc?.close());

  it('chains each record to the previous one by sha256', async () => {
    const inputs = [
      { actor: 'did:n3xus:alice', action: 'login', subject: 'session' },
      { actor: 'did:n3xus:alice', action: 'transfer', subject: 'account:42', detail: { amount: 10.5, currency: 'EUR', tags: ['x', null] } },
      { actor: 'policy-engine', action: 'deny', subject: 'account:42', detail: { rule: 'ART-2-ZERO-TRUST' } },
    ];
    const records: Json[] = [];
    for (const input of inputs) {
      const res = await call(svc.url, 'POST', '/v1/records', input);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v1/records/${res.body.id}`);
      records.push(res.body);
    }
    expect(records[0].prevHash).toBe('0'.repeat(64));
    for (let i = 0; i < records.length; i += 1) {
      expect(records[i].hash).toBe(expectedHash(records[i]));
      if (i > 0) expect(records[i].prevHash).toBe(records[i - 1].hash);
    }
    expect(records[1].detail).toEqual(inputs[1]!.detail);
    expect((await call(svc.url, 'GET', `/v1/records/${records[1].id}`)).body).toEqual(records[1]);
    expect((await call(svc.url, 'GET', '/v1/records?limit=2')).body.items.map((r: Json) => r.id)).toEqual([records[2].id, records[1].id]);
    expect((await call(svc.url, 'GET', '/v1/verify-chain')).body).toEqual({ valid: true, length: 3, head: records[2].hash });
  });

  it('keeps the chain valid under concurrent appends', async () => {
    const before = (await call(svc.url, 'GET', '/v1/verify-chain')).body.length;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(svc.url, 'POST', '/v1/records', { actor: 'load', action: 'write', subject: `item:${i}` })));
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect((await call(svc.url, 'GET', '/v1/verify-chain')).body).toMatchObject({ valid: true, length: before + 20 });
  });

  it('ingests event envelopes once per event id', async () => {
    const envelope = { id: randomUUID(), topic: 'orders.created', payload: { orderId: 9 }, publishedAt: new Date().toISOString() };
    expect((await call(svc.url, 'GET', `/v1/ingest/events/${envelope.id}`)).status).toBe(404);
    const first = await call(svc.url, 'POST', '/v1/ingest/events', envelope);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ actor: 'event-bus', action: 'event', subject: 'orders.created', eventId: envelope.id, detail: { payload: { orderId: 9 }, publishedAt: envelope.publishedAt } });
    const again = await call(svc.url, 'POST', '/v1/ingest/events', envelope);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect((await call(svc.url, 'GET', `/v1/ingest/events/${envelope.id}`)).body).toEqual(first.body);
  });

  it('detects a record changed in storage', async () => {
    const { body: target } = await call(svc.url, 'POST', '/v1/records', { actor: 'treasury', action: 'pay', subject: 'invoice:1', detail: { amount: 100 } });
    await call(svc.url, 'POST', '/v1/records', { actor: 'treasury', action: 'close', subject: 'invoice:1' });
    await svc.ctx.db.query(`UPDATE records SET detail = '{"amount": 1}' WHERE id = $1`, [target.id]);
    const broken = (await call(svc.url, 'GET', '/v1/verify-chain')).body;
    expect(broken).toMatchObject({ valid: false, brokenAt: { id: target.id } });
    await svc.ctx.db.query(`UPDATE records SET detail = '{"amount": 100}' WHERE id = $1`, [target.id]);
    expect((await call(svc.url, 'GET', '/v1/verify-chain')).body.valid).toBe(true);
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const bad: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/records', '{"actor":', 400, 'MALFORMED_JSON'],
      ['POST', '/v1/records', { actor: 'a', action: 'b' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/records', { actor: 1, action: 'b', subject: 'c' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/records', { actor: 'a', action: 'b', subject: 'c', detail: 'text' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/records', { actor: 'a', action: 'b', subject: 'c', hash: 'forged' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/ingest/events', { id: 'nope', topic: 't', payload: 1, publishedAt: new Date().toISOString() }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/ingest/events', { id: randomUUID(), topic: 't', payload: 1, publishedAt: 'yesterday' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/ingest/events', { id: randomUUID(), topic: 't', publishedAt: new Date().toISOString() }, 400, 'VALIDATION_FAILED'],
      ['GET', '/v1/ingest/events/nope', undefined, 400, 'INVALID_EVENT_ID'],
      ['GET', '/v1/records/00000000-0000-4000-8000-000000000000', undefined, 404, 'NOT_FOUND'],
      ['GET', '/v1/records/nope', undefined, 404, 'NOT_FOUND'],
      ['GET', '/v1/records?offset=-1', undefined, 400, 'INVALID_QUERY'],
    ];
    for (const [method, path, body, status, code] of bad) {
      const res = await call(svc.url, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await call(svc.url, 'POST', '/v1/records', { actor: 'a', action: 'b', subject: 'c' }, {})).status).toBe(451);
  });

  it('keeps its chain across a restart without re-applying migrations', async () => {
    const before = (await call(svc.url, 'GET', '/v1/verify-chain')).body;
    await svc.close();
    await start();
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual([]);
    expect((await call(svc.url, 'GET', '/v1/verify-chain')).body).toEqual(before);
    const next = (await call(svc.url, 'POST', '/v1/records', { actor: 'a', action: 'b', subject: 'after-restart' })).body;
    expect(next.prevHash).toBe(before.head);
  });
});
