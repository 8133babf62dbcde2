import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { N3XUS_LAW, type RunningService } from '@n3xus/kit';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { eventually, freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call, type Json } from '../support/http.ts';

const topicName = () => `hooks.${randomBytes(4).toString('hex')}`;

/**
 * A webhook receiver on 127.0.0.1: `/ok` answers 200, `/flaky/<key>` 503 twice then 200, `/bad` 400, and `/down`
 * 503 until `down` is set to false.
 */
function receiver(): Promise<{ server: Server; url: string; hits: Array<{ path: string; headers: IncomingHttpHeaders; body: Json }>; state: { down: boolean } }> {
  const hits: Array<{ path: string; headers: IncomingHttpHeaders; body: Json }> = [];
  const counts = new Map<string, number>();
  const state = { down: true };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = req.url!;
      hits.push({ path, headers: req.headers, body: JSON.parse(raw) });
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      let status = 200;
      if (path.startsWith('/flaky/')) status = n <= 2 ? 503 : 200;
      else if (path === '/bad') status = 400;
      else if (path === '/down') status = state.down ? 503 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'no');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, state })));
}

describe.skipIf(missingServers !== '')('webhook-dispatcher', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let publisher: Redis;

  const start = async () => {
    ({ svc, logs } = await startTestService(webhookDispatcher, { service: 'webhook-dispatcher', databaseUrl, redisUrl }));
    await svc.ready;
    await eventually(() => logs.some((l) => l.event === 'subscribed'));
  };
  /** Publishes an envelope as event-bus would, on the unprefixed channel. */
  const publish = async (topic: string, payload: unknown, id: string = randomUUID()) => {
    const envelope = { id, topic, payload, publishedAt: new Date().toISOString() };
    await publisher.publish(`n3xus:events:${topic}`, JSON.stringify(envelope));
    return envelope;
  };
  const register = async (topic: string, path: string) => (await call(svc.url, 'POST', '/v1/webhooks', { topic, url: hooks.url + path })).body;
  const deliveriesOf = async (eventId: string) => (await call(svc.url, 'GET', `/v1/deliveries?eventId=${eventId}`)).body.items as Json[];
  const settled = (eventId: string) => eventually(async () => {
    const items = await deliveriesOf(eventId);
    return items.length > 0 && items.every((d) => d.status !== 'pending') && items;
  }, 20_000, 100);

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    hooks = await receiver();
    publisher = new Redis(redisUrl);
    await start();
  });
  afterAll(async () => {
    await svc?.close();
    publisher?.disconnect();
    await new Promise((r) => hooks?.server.close(r));
  });

  it('registers, lists, reads and deletes (deactivates) webhooks', async () => {
    const topic = topicName();
    const created = await call(svc.url, 'POST', '/v1/webhooks', { topic, url: `${hooks.url}/ok` });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ topic, url: `${hooks.url}/ok`, active: true });
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${created.body.id}`);
    expect((await call(svc.url, 'GET', '/v1/webhooks')).body.items.map((w: Json) => w.id)).toContain(created.body.id);
    expect((await call(svc.url, 'DELETE', `/v1/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await call(svc.url, 'GET', `/v1/webhooks/${created.body.id}`)).body.active).toBe(false);
  });

  it('delivers an event to the active webhooks of its topic, with the handshake and event id', async () => {
    const topic = topicName();
    const hook = await register(topic, '/ok');
    const deleted = await register(topic, '/ok?deleted');
    await call(svc.url, 'DELETE', `/v1/webhooks/${deleted.id}`);
    const elsewhere = await register(topicName(), '/ok?elsewhere');

    const envelope = await publish(topic, { hello: 'world' });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ eventId: envelope.id, webhookId: hook.id, status: 'delivered', attempts: 1, lastStatus: 200, lastError: null });
    expect(delivery.log).toEqual([expect.objectContaining({ attempt: 1, status: 200, error: null })]);
    expect((await deliveriesOf(envelope.id)).length).toBe(1);

    const hit = hooks.hits.find((h) => h.headers['x-n3xus-event-id'] === envelope.id)!;
    expect(hit.path).toBe('/ok');
    expect(hit.body).toEqual(envelope);
    expect(hit.headers['x-n3xus-handshake']).toBe(N3XUS_LAW);
    expect(hit.headers['x-n3xus-delivery-attempt']).toBe('1');
    expect(hooks.hits.some((h) => h.path.includes('deleted') || h.path.includes('elsewhere'))).toBe(false);
    expect(elsewhere.id).toBeDefined();
  });

  it('retries with backoff: fails twice, then is delivered on the third attempt', async () => {
    const topic = topicName();
    await register(topic, `/flaky/${topic}`);
    const envelope = await publish(topic, { n: 1 });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
    expect(delivery.log.map((a: Json) => a.status)).toEqual([503, 503, 200]);
    expect(delivery.log[0].error).toMatch(/^HTTP 503/);
    expect(hooks.hits.filter((h) => h.path === `/flaky/${topic}`).map((h) => h.headers['x-n3xus-delivery-attempt'])).toEqual(['1', '2', '3']);
  });

  it('does not retry a 400: failed after one attempt', async () => {
    const topic = topicName();
    await register(topic, '/bad');
    const envelope = await publish(topic, { n: 2 });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 400, lastError: 'HTTP 400: no', deliveredAt: null });
    expect(delivery.log).toHaveLength(1);
  });

  it('does not deliver a redelivered event twice, and ignores malformed messages', async () => {
    const topic = topicName();
    await register(topic, '/ok');
    const envelope = await publish(topic, 'once');
    await settled(envelope.id);
    await publish(topic, 'once', envelope.id);
    await publisher.publish(`n3xus:events:${topic}`, 'not json');
    await publisher.publish(`n3xus:events:${topic}`, JSON.stringify({ id: 'nope', topic }));
    await eventually(() => logs.filter((l) => l.event === 'event_ignored').length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await deliveriesOf(envelope.id)).toHaveLength(1);
    expect(hooks.hits.filter((h) => h.headers['x-n3xus-event-id'] === envelope.id)).toHaveLength(1);
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const bad: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/webhooks', '{"topic"', 400, 'MALFORMED_JSON'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'ftp://example.com/x' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'not a url' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'Bad Topic', url: 'http://example.com' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'http://example.com', active: 'yes' }, 400, 'VALIDATION_FAILED'],
      ['GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000', undefined, 404, 'NOT_FOUND'],
      ['DELETE', '/v1/webhooks/nope', undefined, 404, 'NOT_FOUND'],
      ['GET', '/v1/deliveries?eventId=nope', undefined, 400, 'INVALID_QUERY'],
      ['GET', '/v1/deliveries?status=lost', undefined, 400, 'INVALID_QUERY'],
      ['GET', '/v1/deliveries/00000000-0000-4000-8000-000000000000', undefined, 404, 'NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of bad) {
      const res = await call(svc.url, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
  });

  it('resumes pending deliveries after a restart, without re-applying migrations', async () => {
    const topic = topicName();
    await register(topic, '/down');
    const envelope = await publish(topic, { resume: true });
    await eventually(async () => (await deliveriesOf(envelope.id))[0]?.attempts >= 1);
    await svc.close(); // mid-retry: the delivery must stay pending

    const direct = new pg.Client({ connectionString: databaseUrl });
    await direct.connect();
    try {
      const { rows } = await direct.query('SELECT status, attempts FROM webhook_dispatcher.deliveries WHERE event_id = $1', [envelope.id]);
      expect(rows[0].status).toBe('pending');
    } finally {
      await direct.end();
    }

    hooks.state.down = false;
    await start();
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual([]);
    expect(logs.find((l) => l.event === 'deliveries_resumed')).toMatchObject({ count: 1 });
    const [delivery] = await settled(envelope.id);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery.log.at(-1)).toMatchObject({ status: 200 });
  });
});
