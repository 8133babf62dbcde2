import { createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import attestationService from '../../services/attestation-service/app.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call, referenceCanonicalJson } from '../support/http.ts';


describe.skipIf(missingServers !== '')('attestation-service', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  const start = async () => {
    ({ svc, logs } = await startTestService(attestationService, { service: 'attestation-service', databaseUrl, redisUrl }));
    await svc.ready;
  };
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    await start();
  });
  afterAll(() => svc?.close());

  it('generates its Ed25519 key pair on first start and publishes the public key as a JWK', async () => {
    expect(logs.find((l) => l.event === 'signing_key_ready')).toMatchObject({ generated: true });
    const { status, body } = await call(svc.url, 'GET', '/v1/keys/current');
    expect(status).toBe(200);
    expect(body).toMatchObject({ algorithm: 'Ed25519', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: body.keyId } });
    expect(body.publicKeyJwk).not.toHaveProperty('d');
  });

  it('signs an attestation that an independent Ed25519 check accepts', async () => {
    const key = (await call(svc.url, 'GET', '/v1/keys/current')).body;
    const claim = { amount: 1250.5, currency: 'USD', parties: ['did:n3xus:a', 'did:n3xus:b'], nested: { z: 1, a: null } };
    const created = await call(svc.url, 'POST', '/v1/attestations', { subject: 'tx-42', claim });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ keyId: key.keyId, alg: 'EdDSA', payload: { id: created.body.id, subject: 'tx-42', claim, keyId: key.keyId } });
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKeyJwk.x }, format: 'jwk' });
    expect(verify(null, Buffer.from(referenceCanonicalJson(created.body.payload)), publicKey, Buffer.from(created.body.signature, 'base64url'))).toBe(true);

    const fetched = await call(svc.url, 'GET', `/v1/attestations/${created.body.id}`);
    expect(fetched.body).toEqual(created.body);
  });

  it('verifies by id and by payload, and says valid:false for anything tampered with', async () => {
    const { body: att } = await call(svc.url, 'POST', '/v1/attestations', { subject: 'did:n3xus:abc', claim: { role: 'creator' } });
    expect((await call(svc.url, 'POST', '/v1/verify', { attestationId: att.id })).body).toMatchObject({ valid: true, keyId: att.keyId });
    // Key order does not matter: the canonical form is what was signed.
    const reordered = Object.fromEntries(Object.entries(att.payload as Record<string, unknown>).reverse());
    expect((await call(svc.url, 'POST', '/v1/verify', { payload: reordered, signature: att.signature })).body.valid).toBe(true);

    const tampered = { ...att.payload, claim: { role: 'admin' } };
    expect((await call(svc.url, 'POST', '/v1/verify', { payload: tampered, signature: att.signature })).body.valid).toBe(false);
    const otherSig = (await call(svc.url, 'POST', '/v1/attestations', { subject: 'x', claim: {} })).body.signature;
    expect((await call(svc.url, 'POST', '/v1/verify', { payload: att.payload, signature: otherSig })).body.valid).toBe(false);
    expect((await call(svc.url, 'POST', '/v1/verify', { payload: att.payload, signature: 'not base64!' })).body.valid).toBe(false);
    expect((await call(svc.url, 'POST', '/v1/verify', { payload: { ...att.payload, keyId: 'unknown' }, signature: att.signature })).body).toMatchObject({ valid: false, reason: 'unknown key' });

    // Tampering with the stored record is caught too.
    await svc.ctx.db.query(`UPDATE attestations SET payload = replace(payload, 'creator', 'admin') WHERE id = $1`, [att.id]);
    expect((await call(svc.url, 'POST', '/v1/verify', { attestationId: att.id })).body.valid).toBe(false);
  });

  it('lists the attestations about one subject, newest first, and refuses a list without one', async () => {
    const subject = `list-${Date.now()}`;
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await call(svc.url, 'POST', '/v1/attestations', { subject, claim: { i } })).body.id as string);
    await call(svc.url, 'POST', '/v1/attestations', { subject: `${subject}-other`, claim: {} });
    const listed = await call(svc.url, 'GET', `/v1/attestations?subject=${encodeURIComponent(subject)}&limit=2`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([made[2], made[1]]);
    expect(listed.body.items[0]).toMatchObject({ payload: { subject, claim: { i: 2 } }, createdAt: expect.stringMatching(/^\d{4}-/) });
    for (const query of ['', '?subject=', '?limit=5']) {
      const refused = await call(svc.url, 'GET', `/v1/attestations${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error.code).toBe('INVALID_SUBJECT');
    }
  });

  it('withdraws an attestation: it is gone, and verifying it by id answers 404', async () => {
    const { body: att } = await call(svc.url, 'POST', '/v1/attestations', { subject: 'withdrawn', claim: {} });
    expect((await call(svc.url, 'DELETE', `/v1/attestations/${att.id}`)).status).toBe(204);
    expect((await call(svc.url, 'GET', `/v1/attestations/${att.id}`)).status).toBe(404);
    expect((await call(svc.url, 'POST', '/v1/verify', { attestationId: att.id })).status).toBe(404);
    expect((await call(svc.url, 'DELETE', `/v1/attestations/${att.id}`)).status).toBe(404);
    expect((await call(svc.url, 'DELETE', '/v1/attestations/not-an-id')).status).toBe(404);
  });

  it('answers unknown ids with 404 and bad input with 400', async () => {
    expect((await call(svc.url, 'GET', '/v1/attestations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call(svc.url, 'GET', '/v1/attestations/nope')).status).toBe(404);
    expect((await call(svc.url, 'POST', '/v1/verify', { attestationId: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    const bad: Array<[string, unknown]> = [
      ['/v1/attestations', '{"subject":'],
      ['/v1/attestations', { subject: '', claim: {} }],
      ['/v1/attestations', { subject: 'x', claim: 'not an object' }],
      ['/v1/attestations', { subject: 'x' }],
      ['/v1/attestations', { subject: 'x', claim: {}, signature: 'forged' }],
      ['/v1/verify', {}],
      ['/v1/verify', { attestationId: 'nope' }],
      ['/v1/verify', { payload: {}, signature: 7 }],
    ];
    for (const [path, body] of bad) {
      const res = await call(svc.url, 'POST', path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.code).toMatch(/^(MALFORMED_JSON|VALIDATION_FAILED)$/);
    }
  });

  it('keeps its key and attestations across a restart without re-applying migrations', async () => {
    const key = (await call(svc.url, 'GET', '/v1/keys/current')).body.keyId;
    const { body: att } = await call(svc.url, 'POST', '/v1/attestations', { subject: 'restart', claim: { n: 1 } });
    await svc.close();
    await start();
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual([]);
    expect(logs.find((l) => l.event === 'signing_key_ready')).toMatchObject({ keyId: key, generated: false });
    expect((await call(svc.url, 'GET', '/v1/keys/current')).body.keyId).toBe(key);
    expect((await call(svc.url, 'POST', '/v1/verify', { attestationId: att.id })).body.valid).toBe(true);
  });
});
