import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import auditTrail from '../../services/audit-trail/app.ts';
import eventBus from '../../services/event-bus/app.ts';
import federationGateway from '../../services/federation-gateway/app.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { eventually, freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call } from '../support/http.ts';

/** Real services talking to each other over HTTP and Redis, sharing one database as the fleet does (one schema each). */
describe.skipIf(missingServers !== '')('inter-service', () => {
  let databaseUrl: string;
  const running: RunningService[] = [];
  let bus: RunningService, dispatcher: RunningService, audit: RunningService, identity: RunningService, gateway: RunningService;
  let dispatcherLogs: LogLines;

  const start = async (definition: Parameters<typeof startTestService>[0], service: string, peers: Record<string, string> = {}) => {
    const started = await startTestService(definition, { service, databaseUrl, redisUrl, peers });
    running.push(started.svc);
    await started.svc.ready;
    return started;
  };
  const startDispatcher = async () => {
    ({ svc: dispatcher, logs: dispatcherLogs } = await start(webhookDispatcher, 'webhook-dispatcher', { 'event-bus': bus.url, 'audit-trail': audit.url }));
    await eventually(() => dispatcherLogs.some((l) => l.event === 'subscribed'));
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    ({ svc: bus } = await start(eventBus, 'event-bus'));
    ({ svc: audit } = await start(auditTrail, 'audit-trail'));
    ({ svc: identity } = await start(identityRegistry, 'identity-registry'));
    ({ svc: gateway } = await start(federationGateway, 'federation-gateway', { 'identity-registry': identity.url }));
    await startDispatcher();
  });
  afterAll(async () => {
    await Promise.all(running.map((svc) => svc.close()));
  });

  it('an event published on event-bus is delivered by webhook-dispatcher and recorded by audit-trail', async () => {
    const topic = `inter.${randomBytes(4).toString('hex')}`;
    const hook = await call(dispatcher.url, 'POST', '/v1/webhooks', { topic, url: `${audit.url}/v1/ingest/events` });
    expect(hook.status).toBe(201);

    const published = await call(bus.url, 'POST', `/v1/topics/${topic}/events`, { payload: { orderId: 'o-1', total: 99.5 } });
    expect(published.status).toBe(201);
    const eventId = published.body.id as string;

    const record = await eventually(async () => {
      const res = await call(audit.url, 'GET', `/v1/ingest/events/${eventId}`);
      return res.status === 200 && res.body;
    }, 15_000, 100);
    expect(record).toMatchObject({ actor: 'event-bus', action: 'event', subject: topic, eventId, detail: { payload: { orderId: 'o-1', total: 99.5 }, publishedAt: published.body.publishedAt } });

    const [delivery] = (await call(dispatcher.url, 'GET', `/v1/deliveries?eventId=${eventId}`)).body.items;
    expect(delivery).toMatchObject({ webhookId: hook.body.id, status: 'delivered', attempts: 1, lastStatus: 201 });
    expect((await call(audit.url, 'GET', '/v1/verify-chain')).body.valid).toBe(true);
  });

  it('an event published while webhook-dispatcher is down is caught up from event-bus after it starts', async () => {
    const topic = `inter.${randomBytes(4).toString('hex')}`;
    await call(dispatcher.url, 'POST', '/v1/webhooks', { topic, url: `${audit.url}/v1/ingest/events` });
    await dispatcher.close();

    const { body: event } = await call(bus.url, 'POST', `/v1/topics/${topic}/events`, { payload: 'while you were out' });
    expect(event.published).toBe(true); // published to nobody: pub/sub alone would lose it
    await startDispatcher();

    const record = await eventually(async () => {
      const res = await call(audit.url, 'GET', `/v1/ingest/events/${event.id}`);
      return res.status === 200 && res.body;
    }, 15_000, 100);
    expect(record.detail.payload).toBe('while you were out');
  });

  it('federation-gateway creates and resolves a DID on identity-registry, adding the handshake', async () => {
    const created = await call(gateway.url, 'POST', '/v1/route/identity-registry/v1/dids', {});
    expect(created.status).toBe(201);
    expect(created.headers.get('x-n3xus-routed-by')).toBe('federation-gateway');
    const did = created.body.didDocument.id as string;
    expect(created.headers.get('location')).toBe(`/v1/route/identity-registry/v1/dids/${encodeURIComponent(did)}`);

    const resolved = await call(gateway.url, 'GET', `/v1/route/identity-registry/v1/dids/${encodeURIComponent(did)}`);
    expect(resolved.status).toBe(200);
    expect(resolved.body.didDocument).toEqual(created.body.didDocument);
    const unknown = await call(gateway.url, 'GET', '/v1/route/identity-registry/v1/dids/did:n3xus:1111111111111111111111');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
  });

  it('federation-gateway: 451 without the handshake, 404 for an unknown peer, 502 once the peer is stopped', async () => {
    expect((await call(gateway.url, 'POST', '/v1/route/identity-registry/v1/dids', {}, {})).status).toBe(451);
    expect((await call(gateway.url, 'GET', '/v1/route/attestation-service/v1/keys/current')).status).toBe(404);
    await identity.close();
    const down = await call(gateway.url, 'GET', '/v1/route/identity-registry/v1/dids/did:n3xus:1111111111111111111111');
    expect(down.status).toBe(502);
    expect(down.body.error.code).toBe('PEER_UNAVAILABLE');
  });
});
