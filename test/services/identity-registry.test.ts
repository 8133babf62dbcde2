import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import identityRegistry from '../../services/identity-registry/app.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call } from '../support/http.ts';

/** The W3C DID Core example Ed25519 key, as base58btc multibase. */
const KEY = 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

describe.skipIf(missingServers !== '')('identity-registry', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  const start = async () => {
    ({ svc, logs } = await startTestService(identityRegistry, { service: 'identity-registry', databaseUrl, redisUrl }));
    await svc.ready;
  };
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    await start();
  });
  afterAll(() => svc?.close());

  it('creates a self-controlled did:n3xus with a W3C-shaped document', async () => {
    const { status, body, headers } = await call(svc.url, 'POST', '/v1/dids');
    expect(status).toBe(201);
    const did = body.didDocument.id as string;
    expect(did).toMatch(/^did:n3xus:[1-9A-HJ-NP-Za-km-z]{16,44}$/);
    expect(body.didDocument).toMatchObject({ '@context': expect.arrayContaining(['https://www.w3.org/ns/did/v1']), controller: did, verificationMethod: [] });
    expect(body.didDocumentMetadata.created).toMatch(/^\d{4}-/);
    expect(headers.get('location')).toBe(`/v1/dids/${encodeURIComponent(did)}`);
  });

  it('creates a DID with a key and a controller, resolves it, and caches the resolution with a TTL', async () => {
    const created = await call(svc.url, 'POST', '/v1/dids', { publicKeyMultibase: KEY, controller: 'did:web:example.com' });
    expect(created.status).toBe(201);
    const did = created.body.didDocument.id as string;
    expect(created.body.didDocument).toMatchObject({
      controller: 'did:web:example.com',
      verificationMethod: [{ id: `${did}#key-1`, type: 'Ed25519VerificationKey2020', controller: did, publicKeyMultibase: KEY }],
      authentication: [`${did}#key-1`],
      assertionMethod: [`${did}#key-1`],
    });

    const first = await call(svc.url, 'GET', `/v1/dids/${did}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(first.body.didDocument).toEqual(created.body.didDocument);
    const second = await call(svc.url, 'GET', `/v1/dids/${encodeURIComponent(did)}`);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    const ttl = await svc.ctx.cache.client!.ttl(`did:${did}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('tells an unknown DID (404) from one that is not a did:n3xus (400)', async () => {
    const unknown = await call(svc.url, 'GET', '/v1/dids/did:n3xus:1111111111111111111111');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    expect((await call(svc.url, 'GET', '/v1/dids/did:web:example.com')).body.error.code).toBe('UNSUPPORTED_DID_METHOD');
    const notDid = await call(svc.url, 'GET', '/v1/dids/hello');
    expect(notDid.status).toBe(400);
    expect(notDid.body.error.code).toBe('INVALID_DID');
    expect((await call(svc.url, 'GET', '/v1/dids/did:n3xus:0OIl')).status).toBe(400);
  });

  it('lists the DIDs of one controller, newest first, and refuses a list without one', async () => {
    const controller = `did:web:list-${Date.now()}.example`;
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await call(svc.url, 'POST', '/v1/dids', { controller })).body.didDocument.id as string);
    await call(svc.url, 'POST', '/v1/dids', { controller: 'did:web:someone-else.example' });
    const listed = await call(svc.url, 'GET', `/v1/dids?controller=${encodeURIComponent(controller)}&limit=2`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((r: { didDocument: { id: string } }) => r.didDocument.id)).toEqual([made[2], made[1]]);
    expect(listed.body.items[0].didDocumentMetadata.created).toMatch(/^\d{4}-/);
    const rest = await call(svc.url, 'GET', `/v1/dids?controller=${encodeURIComponent(controller)}&limit=2&offset=2`);
    expect(rest.body.items.map((r: { didDocument: { id: string } }) => r.didDocument.id)).toEqual([made[0]]);
    for (const query of ['', '?controller=alice', '?limit=5']) {
      const refused = await call(svc.url, 'GET', `/v1/dids${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error.code).toBe('INVALID_CONTROLLER');
    }
  });

  it('removes a DID: it no longer resolves, from PostgreSQL or from the cache', async () => {
    const did = (await call(svc.url, 'POST', '/v1/dids')).body.didDocument.id as string;
    await call(svc.url, 'GET', `/v1/dids/${did}`);
    expect((await call(svc.url, 'GET', `/v1/dids/${did}`)).headers.get('x-cache')).toBe('hit');
    const removed = await call(svc.url, 'DELETE', `/v1/dids/${encodeURIComponent(did)}`);
    expect(removed.status).toBe(204);
    expect(await svc.ctx.cache.client!.exists(`did:${did}`)).toBe(0);
    expect((await call(svc.url, 'GET', `/v1/dids/${did}`)).status).toBe(404);
    const again = await call(svc.url, 'DELETE', `/v1/dids/${did}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('NOT_FOUND');
    expect((await call(svc.url, 'DELETE', '/v1/dids/hello')).status).toBe(400);
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const cases: unknown[] = ['{nope', { publicKeyMultibase: 'abc' }, { publicKeyMultibase: 42 }, { controller: 'alice' }, { extra: true }, [], 'null'];
    for (const body of cases) {
      const res = await call(svc.url, 'POST', '/v1/dids', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toMatch(/^(MALFORMED_JSON|VALIDATION_FAILED)$/);
    }
    expect((await call(svc.url, 'POST', '/v1/dids', {}, {})).status).toBe(451);
  });

  it('keeps its DIDs across a restart without re-applying migrations', async () => {
    const did = (await call(svc.url, 'POST', '/v1/dids')).body.didDocument.id as string;
    await svc.close();
    await start();
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual([]);
    await svc.ctx.cache.delete(`did:${did}`); // resolve from PostgreSQL, not from the cache
    const res = await call(svc.url, 'GET', `/v1/dids/${did}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('miss');
  });
});
