import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { N3XUS_LAW, type RunningService } from '@n3xus/kit';
import vSupercore from '../../services/v-supercore/app.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService, type LogLines } from '../support/service.ts';
import { call, type Json } from '../support/http.ts';

describe.skipIf(missingServers !== '')('v-supercore', () => {
  let databaseUrl: string;
  let svc: RunningService;
  let logs: LogLines;
  const start = async () => {
    ({ svc, logs } = await startTestService(vSupercore, { service: 'v-supercore', databaseUrl, redisUrl }));
    await svc.ready;
  };
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    await start();
  });
  afterAll(() => svc?.close());

  it('serves the seeded constitution in order, naming the law without stating the handshake', async () => {
    const { status, body } = await call(svc.url, 'GET', '/v1/constitution');
    expect(status).toBe(200);
    expect(body.rules.length).toBeGreaterThanOrEqual(5);
    expect(body.rules.map((r: Json) => r.position)).toEqual(body.rules.map((_: Json, i: number) => i + 1));
    const law = body.rules.find((r: Json) => r.code === 'N3XUS-LAW-55-45-17');
    expect(law.text).toMatch(/X-N3XUS-Handshake/);
    for (const rule of body.rules) expect(rule.text).not.toContain(N3XUS_LAW);
  });

  it('serves one rule by code, case-insensitively; unknown is 404 and malformed is 400', async () => {
    const rule = await call(svc.url, 'GET', '/v1/rules/art-2-zero-trust');
    expect(rule.status).toBe(200);
    expect(rule.body).toMatchObject({ code: 'ART-2-ZERO-TRUST', category: 'security' });
    expect((await call(svc.url, 'GET', '/v1/rules/ART-99-NOTHING')).body.error.code).toBe('NOT_FOUND');
    const bad = await call(svc.url, 'GET', '/v1/rules/no%20spaces%21');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_RULE_CODE');
  });

  it('refuses requests without the handshake (451)', async () => {
    expect((await call(svc.url, 'GET', '/v1/constitution', undefined, {})).status).toBe(451);
  });

  it('stores amendment proposals and lists them', async () => {
    const created = await call(svc.url, 'POST', '/v1/amendments', { ruleCode: 'art-5-amendment', title: 'Quorum', text: 'Ratification needs a quorum of two thirds.', proposedBy: 'did:n3xus:alice' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ruleCode: 'ART-5-AMENDMENT', status: 'proposed', proposedBy: 'did:n3xus:alice' });
    expect(created.headers.get('location')).toBe(`/v1/amendments/${created.body.id}`);
    const fresh = await call(svc.url, 'POST', '/v1/amendments', { title: 'Right to exit', text: 'A tenant may export its data at any time.', rationale: 'Portability.', proposedBy: 'bob' });
    expect(fresh.status).toBe(201);
    expect(fresh.body.ruleCode).toBeNull();

    const list = await call(svc.url, 'GET', '/v1/amendments?limit=10');
    expect(list.body.items.map((a: Json) => a.id)).toEqual([fresh.body.id, created.body.id]);
    expect((await call(svc.url, 'GET', `/v1/amendments/${created.body.id}`)).body.title).toBe('Quorum');
    expect((await call(svc.url, 'GET', '/v1/amendments/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call(svc.url, 'GET', '/v1/amendments/not-a-uuid')).status).toBe(404);
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const cases: Array<[unknown, number, string]> = [
      ['{"title":', 400, 'MALFORMED_JSON'],
      [{ title: 42, text: 'x', proposedBy: 'y' }, 400, 'VALIDATION_FAILED'],
      [{ title: 't', text: 'x' }, 400, 'VALIDATION_FAILED'],
      [{ title: 't', text: 'x', proposedBy: 'y', status: 'ratified' }, 400, 'VALIDATION_FAILED'],
      [{ title: ' ', text: 'x', proposedBy: 'y' }, 400, 'VALIDATION_FAILED'],
      [[1, 2], 400, 'VALIDATION_FAILED'],
      [{ ruleCode: 'ART-77-MISSING', title: 't', text: 'x', proposedBy: 'y' }, 422, 'UNKNOWN_RULE'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call(svc.url, 'POST', '/v1/amendments', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await call(svc.url, 'GET', '/v1/amendments?limit=1000')).status).toBe(400);
  });

  it('keeps its data across a restart without re-applying migrations', async () => {
    const before = (await call(svc.url, 'GET', '/v1/amendments')).body.items.length;
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual(['001-rules', '002-amendments']);
    await svc.close();
    await start();
    expect(logs.find((l) => l.event === 'migrated')?.applied).toEqual([]);
    expect((await call(svc.url, 'GET', '/v1/amendments')).body.items.length).toBe(before);
    expect((await call(svc.url, 'GET', '/v1/constitution')).body.rules.length).toBe(6);
  });
});
