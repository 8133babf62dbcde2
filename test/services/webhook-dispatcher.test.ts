import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { N3XUS_LAW, parseHostList, type KitConfig, type RunningService } from '@n3xus/kit';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { eventually, freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call, type Json } from '../support/http.ts';

const topicName = () => `hooks.${randomBytes(4).toString('hex')}`;

/** What a failing target answers: it must reach the service log, never the API. */
const REPLY_EXCERPT = 'internal detail of the target: db password hunter2';

interface Hit { path: string; headers: IncomingHttpHeaders; raw: string; body: Json }

/**
 * A webhook receiver on 127.0.0.1: `/ok` answers 200, `/flaky/<key>` 503 twice then 200, `/bad` 400, and `/down`
 * 503 until `down` is set to false; a failure's body is {@link REPLY_EXCERPT}.
 */
function receiver(): Promise<{ server: Server; url: string; port: number; hits: Hit[]; state: { down: boolean } }> {
  const hits: Hit[] = [];
  const counts = new Map<string, number>();
  const state = { down: true };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = req.url!;
      hits.push({ path, headers: req.headers, raw, body: JSON.parse(raw) });
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      let status = 200;
      if (path.startsWith('/flaky/')) status = n <= 2 ? 503 : 200;
      else if (path === '/bad') status = 400;
      else if (path === '/down') status = state.down ? 503 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : REPLY_EXCERPT);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, port, hits, state });
    }),
  );
}

/** Checks an X-N3XUS-Signature value independently of the service: `t=<unix s>,v1=<hex HMAC-SHA256(secret, t.body)>`. */
function signatureValid(header: unknown, secret: string, raw: string): boolean {
  const match = typeof header === 'string' ? /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) && Math.abs(Date.now() / 1000 - Number(match[1])) < 300;
}

describe.skipIf(missingServers !== '')('webhook-dispatcher', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  /** An operator's external host (listed in N3XUS_WEBHOOK_ALLOWED_HOSTS), and a stand-in fleet service (a peer). */
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let fleet: Awaited<ReturnType<typeof receiver>>;
  let publisher: Redis;

  /** The dispatcher's configuration: audit-trail is a peer; the operator lists the receiver and, wrongly, metadata hosts. */
  const config = (): Partial<KitConfig> => ({
    peers: { 'audit-trail': fleet.url },
    webhookAllowedHosts: parseHostList(`127.0.0.1:${hooks.port},localhost:${hooks.port},169.254.169.254,metadata.google.internal,metadata,[fe80::1]:8080,[fd00:ec2::254]`, 'N3XUS_WEBHOOK_ALLOWED_HOSTS'),
  });
  const startDispatcher = async (database: string, overrides: Partial<KitConfig>) => {
    const started = await startTestService(webhookDispatcher, { service: 'webhook-dispatcher', databaseUrl: database, redisUrl, ...overrides });
    await started.svc.ready;
    await eventually(() => started.logs.some((l) => l.event === 'subscribed'));
    return started;
  };
  const start = async () => {
    ({ svc, logs } = await startDispatcher(databaseUrl, config()));
  };
  /** Publishes an envelope as event-bus would, on the unprefixed channel. */
  const publish = async (topic: string, payload: unknown, id: string = randomUUID()) => {
    const envelope = { id, topic, payload, publishedAt: new Date().toISOString() };
    await publisher.publish(`n3xus:events:${topic}`, JSON.stringify(envelope));
    return envelope;
  };
  const register = async (topic: string, path: string, base = hooks.url) => (await call(svc.url, 'POST', '/v1/webhooks', { topic, url: base + path })).body;
  const deliveriesOf = async (eventId: string) => (await call(svc.url, 'GET', `/v1/deliveries?eventId=${eventId}`)).body.items as Json[];
  const settled = (eventId: string) => eventually(async () => {
    const items = await deliveriesOf(eventId);
    return items.length > 0 && items.every((d) => d.status !== 'pending') && items;
  }, 20_000, 100);

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    hooks = await receiver();
    fleet = await receiver();
    publisher = new Redis(redisUrl);
    await start();
  });
  afterAll(async () => {
    await svc?.close();
    publisher?.disconnect();
    await new Promise((r) => hooks?.server.close(r));
    await new Promise((r) => fleet?.server.close(r));
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

  it('returns a webhook\'s secret once, in the creation answer, and never in a GET', async () => {
    const created = await call(svc.url, 'POST', '/v1/webhooks', { topic: topicName(), url: `${hooks.url}/ok` });
    const { secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const other = await call(svc.url, 'POST', '/v1/webhooks', { topic: topicName(), url: `${hooks.url}/ok` });
    expect(other.body.secret).not.toBe(secret);
    for (const path of [`/v1/webhooks/${created.body.id}`, '/v1/webhooks?limit=100']) {
      const res = await fetch(svc.url + path, { headers: { 'x-n3xus-handshake': N3XUS_LAW } });
      const text = await res.text();
      expect(res.status, path).toBe(200);
      expect(text, path).toContain(created.body.id);
      expect(text, path).not.toContain(secret);
      expect(text, path).not.toMatch(/secret|whsec_/);
    }
  });

  it('refuses at creation, with 400 naming the host, a target that is neither a fleet service nor listed, and link-local or metadata hosts even when listed', async () => {
    const before = (await call(svc.url, 'GET', '/v1/webhooks?limit=100')).body.items.length;
    const refused: Array<[string, RegExp]> = [
      ['http://hooks.example.com/x', /"hooks\.example\.com" is not allowed: .*fleet service this dispatcher calls \(audit-trail\).*N3XUS_WEBHOOK_ALLOWED_HOSTS/],
      ['https://10.1.2.3:8443/x', /"10\.1\.2\.3:8443" is not allowed/],
      [`http://127.0.0.1.nip.io:${hooks.port}/x`, /is not allowed/],
      ['http://169.254.169.254/latest/meta-data/', /"169\.254\.169\.254" is a link-local or cloud metadata address: never allowed, even when listed/],
      ['http://2852039166/latest/meta-data/', /"169\.254\.169\.254" is a link-local/],
      ['http://metadata.google.internal/computeMetadata/v1/', /"metadata\.google\.internal" is a link-local or cloud metadata/],
      ['http://METADATA./x', /"metadata" is a link-local or cloud metadata/],
      ['http://[fe80::1]:8080/x', /"\[fe80::1\]:8080" is a link-local/],
      ['http://[fd00:ec2::254]/x', /"\[fd00:ec2::254\]" is a link-local or cloud metadata/],
      ['http://[::ffff:169.254.169.254]/x', /is a link-local or cloud metadata/],
    ];
    for (const [url, message] of refused) {
      const res = await call(svc.url, 'POST', '/v1/webhooks', { topic: topicName(), url });
      expect(res.status, url).toBe(400);
      expect(res.body.error, url).toEqual({ code: 'TARGET_NOT_ALLOWED', message: expect.stringMatching(message) });
    }
    expect((await call(svc.url, 'GET', '/v1/webhooks?limit=100')).body.items.length).toBe(before);
  });

  it('delivers to an operator\'s host signed with the webhook\'s secret, with the event id, and without the handshake', async () => {
    const topic = topicName();
    const hook = await register(topic, '/ok');
    const byName = await register(topic, '/ok?by-name', `http://localhost:${hooks.port}`);
    const deleted = await register(topic, '/ok?deleted');
    await call(svc.url, 'DELETE', `/v1/webhooks/${deleted.id}`);
    const elsewhere = await register(topicName(), '/ok?elsewhere');

    const envelope = await publish(topic, { hello: 'world' });
    const deliveries = await eventually(async () => {
      const items = await settled(envelope.id);
      return items.length === 2 && items;
    });
    for (const webhook of [hook, byName]) {
      expect(deliveries.find((d: Json) => d.webhookId === webhook.id)).toMatchObject({ eventId: envelope.id, status: 'delivered', attempts: 1, lastStatus: 200, lastError: null });
    }
    expect(deliveries[0].log).toEqual([expect.objectContaining({ attempt: 1, status: 200, error: null })]);

    const hits = hooks.hits.filter((h) => h.headers['x-n3xus-event-id'] === envelope.id);
    expect(hits.map((h) => h.path).sort()).toEqual(['/ok', '/ok?by-name']);
    for (const hit of hits) {
      const secret = hit.path === '/ok' ? hook.secret : byName.secret;
      expect(hit.body).toEqual(envelope);
      expect(signatureValid(hit.headers['x-n3xus-signature'], secret, hit.raw), String(hit.headers['x-n3xus-signature'])).toBe(true);
      expect(signatureValid(hit.headers['x-n3xus-signature'], secret, hit.raw.replace('world', 'WORLD'))).toBe(false);
      expect(hit.headers['x-n3xus-handshake']).toBeUndefined();
      expect(hit.headers['x-n3xus-delivery-attempt']).toBe('1');
    }
    expect(hooks.hits.some((h) => h.path.includes('deleted') || h.path.includes('elsewhere'))).toBe(false);
    expect(elsewhere.id).toBeDefined();
  });

  it('delivers to a fleet service (a peer) with the handshake, which the N3XUS LAW requires there, signed the same way', async () => {
    const topic = topicName();
    const hook = await register(topic, '/v1/ingest/events', fleet.url);
    expect(hook.secret).toMatch(/^whsec_/);
    const envelope = await publish(topic, { to: 'audit-trail' });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 });
    const hit = fleet.hits.find((h) => h.headers['x-n3xus-event-id'] === envelope.id)!;
    expect(hit.path).toBe('/v1/ingest/events');
    expect(hit.headers['x-n3xus-handshake']).toBe(N3XUS_LAW);
    expect(signatureValid(hit.headers['x-n3xus-signature'], hook.secret, hit.raw)).toBe(true);
  });

  it('retries with backoff: fails twice, then is delivered on the third attempt', async () => {
    const topic = topicName();
    await register(topic, `/flaky/${topic}`);
    const envelope = await publish(topic, { n: 1 });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
    expect(delivery.log.map((a: Json) => a.status)).toEqual([503, 503, 200]);
    expect(delivery.log[0].error).toBe('target answered 503');
    expect(hooks.hits.filter((h) => h.path === `/flaky/${topic}`).map((h) => h.headers['x-n3xus-delivery-attempt'])).toEqual(['1', '2', '3']);
  });

  it('does not retry a 400: failed after one attempt', async () => {
    const topic = topicName();
    await register(topic, '/bad');
    const envelope = await publish(topic, { n: 2 });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 400, lastError: 'target answered 400', deliveredAt: null });
    expect(delivery.log).toHaveLength(1);
  });

  it('shows a failed attempt only by its class: what the target answered goes to the service log, not to GET /v1/deliveries', async () => {
    const topic = topicName();
    const hook = await register(topic, '/bad');
    const envelope = await publish(topic, { n: 3 });
    const [delivery] = await settled(envelope.id);
    expect(delivery).toMatchObject({ status: 'failed', lastError: 'target answered 400' });
    for (const path of [`/v1/deliveries?eventId=${envelope.id}`, `/v1/deliveries/${delivery.id}`, '/v1/deliveries?status=failed&limit=100']) {
      const text = await (await fetch(svc.url + path, { headers: { 'x-n3xus-handshake': N3XUS_LAW } })).text();
      expect(text, path).toContain(delivery.id);
      expect(text, path).not.toContain('hunter2');
    }
    const logged = logs.find((l) => l.event === 'delivery_attempt_failed' && l.deliveryId === delivery.id);
    expect(logged).toMatchObject({ webhookId: hook.id, status: 400, error: 'target answered 400', detail: REPLY_EXCERPT, target: hooks.url });
  });

  it('classes a target that does not answer as connection refused, the reason in the log only', async () => {
    const closed = await receiver();
    await new Promise((r) => closed.server.close(r)); // nothing listens on its port any more
    const { svc: other, logs: otherLogs } = await startDispatcher(await freshDatabase(), { webhookAllowedHosts: parseHostList(`127.0.0.1:${closed.port}`, 'N3XUS_WEBHOOK_ALLOWED_HOSTS') });
    try {
      const topic = topicName();
      await call(other.url, 'POST', '/v1/webhooks', { topic, url: `${closed.url}/gone` });
      const envelope = await publish(topic, { n: 4 });
      const delivery = await eventually(async () => {
        const [d] = (await call(other.url, 'GET', `/v1/deliveries?eventId=${envelope.id}`)).body.items as Json[];
        return d?.attempts >= 1 && d;
      });
      expect(delivery.log[0]).toMatchObject({ status: null, error: 'connection refused' });
      expect(JSON.stringify(delivery)).not.toContain('ECONNREFUSED');
      expect(otherLogs.find((l) => l.event === 'delivery_attempt_failed')).toMatchObject({ error: 'connection refused', detail: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await other.close();
    }
  });

  it('fails a delivery whose target is no longer allowed, without sending a request', async () => {
    const database = await freshDatabase();
    const allowed = await startDispatcher(database, { webhookAllowedHosts: parseHostList(`127.0.0.1:${hooks.port}`, 'N3XUS_WEBHOOK_ALLOWED_HOSTS') });
    const topic = topicName();
    const created = await call(allowed.svc.url, 'POST', '/v1/webhooks', { topic, url: `${hooks.url}/ok?revoked` });
    expect(created.status).toBe(201);
    await allowed.svc.close();

    // The operator took the host off the list and restarted the service.
    const { svc: restarted, logs: restartedLogs } = await startDispatcher(database, { webhookAllowedHosts: [] });
    try {
      const envelope = await publish(topic, { n: 5 });
      const delivery = await eventually(async () => {
        const [d] = (await call(restarted.url, 'GET', `/v1/deliveries?eventId=${envelope.id}`)).body.items as Json[];
        return d?.status === 'failed' && d;
      });
      expect(delivery).toMatchObject({ attempts: 1, lastStatus: null, lastError: 'target not allowed' });
      expect(delivery.log).toEqual([expect.objectContaining({ attempt: 1, status: null, error: 'target not allowed' })]);
      expect(hooks.hits.some((h) => h.path === '/ok?revoked')).toBe(false);
      expect(restartedLogs.find((l) => l.event === 'delivery_refused')).toMatchObject({ reason: expect.stringContaining('is not allowed') });
    } finally {
      await restarted.close();
    }
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

  it('gives the webhooks made before signatures a secret each, and rewrites the reply excerpts stored before to their class', async () => {
    const database = await freshDatabase();
    const before = await startTestService({ migrations: webhookDispatcher.migrations!.slice(0, 1) }, { service: 'webhook-dispatcher', databaseUrl: database });
    await before.svc.ready;
    await before.svc.close();
    const direct = new pg.Client({ connectionString: database });
    await direct.connect();
    try {
      const hooksMade = await direct.query<{ id: string }>("INSERT INTO webhook_dispatcher.webhooks (topic, url) VALUES ('old.a', 'http://a.example/x'), ('old.b', 'http://b.example/x') RETURNING id");
      const webhookId = hooksMade.rows[0]!.id;
      const { rows: [delivery] } = await direct.query<{ id: string }>(
        "INSERT INTO webhook_dispatcher.deliveries (event_id, webhook_id, topic, envelope, status, attempts, last_status, last_error) VALUES ($1, $2, 'old.a', '{}', 'failed', 2, NULL, 'connect ECONNREFUSED 10.0.0.7:8080') RETURNING id",
        [randomUUID(), webhookId],
      );
      await direct.query(
        "INSERT INTO webhook_dispatcher.delivery_attempts (delivery_id, attempt, status, error, duration_ms) VALUES ($1, 1, 500, 'HTTP 500: hunter2 in a stack trace', 3), ($1, 2, NULL, 'connect ECONNREFUSED 10.0.0.7:8080', 1)",
        [delivery!.id],
      );

      const { svc: migrated } = await startDispatcher(database, {});
      try {
        const secrets = (await direct.query<{ secret: string }>('SELECT secret FROM webhook_dispatcher.webhooks')).rows.map((r) => r.secret);
        expect(secrets).toHaveLength(2);
        for (const secret of secrets) expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
        expect(new Set(secrets).size).toBe(2);
        const shown = (await call(migrated.url, 'GET', `/v1/deliveries/${delivery!.id}`)).body;
        expect(shown).toMatchObject({ lastError: 'connection refused', log: [{ status: 500, error: 'target answered 500' }, { status: null, error: 'connection refused' }] });
        expect(JSON.stringify(shown)).not.toMatch(/hunter2|10\.0\.0\.7/);
      } finally {
        await migrated.close();
      }
    } finally {
      await direct.end();
    }
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const bad: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/webhooks', '{"topic"', 400, 'MALFORMED_JSON'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'ftp://example.com/x' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'not a url' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'Bad Topic', url: 'http://example.com' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'http://example.com', active: 'yes' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/webhooks', { topic: 'ok', url: 'http://example.com' }, 400, 'TARGET_NOT_ALLOWED'],
      ['GET', '/v1/webhooks/%E0%A4%A', undefined, 400, 'MALFORMED_URI'],
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
