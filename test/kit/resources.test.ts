import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import transcoder from '../../services/v-transcoder/app.ts';
import { rawRequest, statusOf } from '../support/raw-http.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';

const json = { ...lawful, 'content-type': 'application/json' };
const profile = { name: 'web-1080p', codec: 'h264', bitrateKbps: 4500 };

describe.skipIf(missingServers !== '')('a real service (v-transcoder) against a real PostgreSQL and Redis', () => {
  let db: string;
  let svc: RunningService;
  const url = (path: string) => `${svc.url}${path}`;
  const count = async () => ((await (await fetch(url('/v1/profiles?limit=100'), { headers: lawful })).json()) as { items: unknown[] }).items.length;

  beforeAll(async () => {
    db = await freshDatabase();
    ({ svc } = await startTestService(transcoder, { service: 'v-transcoder', databaseUrl: db, redisUrl }));
    await svc.ready;
  });
  afterAll(() => svc.close());

  it('migrated its own schema: one table per resource and the migrations log', async () => {
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'v_transcoder' ORDER BY 1");
      expect(tables.rows.map((r) => r.table_name)).toEqual(['profiles', 'schema_migrations', 'transcodes']);
      const applied = await client.query('SELECT id FROM v_transcoder.schema_migrations ORDER BY id');
      expect(applied.rows.map((r: { id: string }) => r.id)).toEqual(['resource:profiles', 'resource:transcodes']);
    } finally {
      await client.end();
    }
  });

  it('creates, reads (then from the Redis cache), lists, merges and deletes a record', async () => {
    const created = await fetch(url('/v1/profiles'), { method: 'POST', headers: json, body: JSON.stringify(profile) });
    expect(created.status).toBe(201);
    const record = (await created.json()) as { id: string; createdAt: string };
    expect(record).toMatchObject({ ...profile, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(created.headers.get('location')).toBe(`/v1/profiles/${record.id}`);

    const first = await fetch(url(`/v1/profiles/${record.id}`), { headers: lawful });
    expect(first.headers.get('x-cache')).toBe('miss');
    const second = await fetch(url(`/v1/profiles/${record.id}`), { headers: lawful });
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await second.json()).toEqual(await first.json());

    const patched = await fetch(url(`/v1/profiles/${record.id}`), { method: 'PATCH', headers: json, body: JSON.stringify({ bitrateKbps: 6000 }) });
    expect(await patched.json()).toMatchObject({ ...profile, bitrateKbps: 6000 });
    const afterPatch = await fetch(url(`/v1/profiles/${record.id}`), { headers: lawful });
    expect(afterPatch.headers.get('x-cache')).toBe('miss');
    expect(await afterPatch.json()).toMatchObject({ bitrateKbps: 6000 });

    const list = (await (await fetch(url('/v1/profiles'), { headers: lawful })).json()) as { items: Array<{ id: string }>; limit: number };
    expect(list.items.map((i) => i.id)).toContain(record.id);
    expect(list.limit).toBe(20);

    expect((await fetch(url(`/v1/profiles/${record.id}`), { method: 'DELETE', headers: lawful })).status).toBe(204);
    expect((await fetch(url(`/v1/profiles/${record.id}`), { headers: lawful })).status).toBe(404);
  });

  it('describes its resources behind the law: each path and the JSON Schema of its body, derived from the definition', async () => {
    expect((await fetch(url('/_n3xus/resources'))).status).toBe(451);
    const res = await fetch(url('/_n3xus/resources'), { headers: lawful });
    expect(res.status).toBe(200);
    const described = (await res.json()) as { service: string; resources: Array<{ name: string; path: string; schema: Record<string, unknown> }> };
    expect(described.service).toBe('v-transcoder');
    expect(described.resources.map((r) => [r.name, r.path])).toEqual([['profiles', '/v1/profiles'], ['transcodes', '/v1/transcodes']]);
    expect(described.resources[0]!.schema).toMatchObject({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
        codec: { type: 'string', enum: ['h264', 'h265', 'vp9', 'av1', 'aac', 'opus'] },
        bitrateKbps: { type: 'integer', minimum: 0 },
      },
      required: ['name', 'codec', 'bitrateKbps'],
    });
  });

  it('answers bad input with a 4xx JSON error and stores nothing', async () => {
    await fetch(url('/v1/profiles'), { method: 'POST', headers: json, body: JSON.stringify(profile) });
    const before = await count();
    const cases: Array<[string, RequestInit, number, string]> = [
      ['malformed JSON', { method: 'POST', headers: json, body: '{"name": "x",' }, 400, 'MALFORMED_JSON'],
      ['wrong types', { method: 'POST', headers: json, body: JSON.stringify({ ...profile, bitrateKbps: 'fast' }) }, 400, 'VALIDATION_FAILED'],
      ['unknown enum value', { method: 'POST', headers: json, body: JSON.stringify({ ...profile, codec: 'mp3' }) }, 400, 'VALIDATION_FAILED'],
      ['unknown field', { method: 'POST', headers: json, body: JSON.stringify({ ...profile, admin: true }) }, 400, 'VALIDATION_FAILED'],
      ['a JSON array', { method: 'POST', headers: json, body: '[1,2]' }, 400, 'VALIDATION_FAILED'],
      ['a bare JSON string', { method: 'POST', headers: json, body: '"x"' }, 400, 'MALFORMED_JSON'],
      ['no body', { method: 'POST', headers: lawful }, 400, 'VALIDATION_FAILED'],
      ['a body over 64 KB', { method: 'POST', headers: json, body: JSON.stringify({ ...profile, name: 'x'.repeat(70_000) }) }, 413, 'BODY_TOO_LARGE'],
      ['negative count', { method: 'POST', headers: json, body: JSON.stringify({ ...profile, bitrateKbps: -1 }) }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [label, init, status, code] of cases) {
      const res = await fetch(url('/v1/profiles'), init);
      expect(res.status, label).toBe(status);
      expect(await res.json(), label).toMatchObject({ error: { code, message: expect.any(String) } });
    }
    expect((await fetch(url('/v1/profiles/not-a-uuid'), { headers: lawful })).status).toBe(404);
    expect((await fetch(url('/v1/profiles/00000000-0000-4000-8000-000000000000'), { headers: lawful })).status).toBe(404);
    const badLimit = await fetch(url('/v1/profiles?limit=5000'), { headers: lawful });
    expect(badLimit.status).toBe(400);
    expect(await badLimit.json()).toMatchObject({ error: { code: 'INVALID_QUERY' } });
    expect((await fetch(url('/v1/nothing-here'), { headers: lawful })).status).toBe(404);
    expect(await count()).toBe(before);
  });

  it('answers a malformed percent-encoding in a route parameter with 400 and the kit error body, not 500', async () => {
    for (const path of ['/v1/profiles/%E0%A4%A', '/v1/profiles/%zz', '/v1/profiles/%']) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const res = await fetch(url(path), { method, headers: json, ...(method === 'PATCH' ? { body: '{}' } : {}) });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(await res.json(), `${method} ${path}`).toEqual({ error: { code: 'MALFORMED_URI', message: expect.stringContaining('percent-encoding') } });
      }
    }
    expect((await fetch(url('/health'))).status).toBe(200);
  });

  it('answers a lying Content-Length and a gzip body it cannot read with 4xx, and keeps running', async () => {
    const lying = await rawRequest(svc.port, `POST /v1/profiles HTTP/1.1\r\nHost: x\r\nX-N3XUS-Handshake: 55-45-17\r\nContent-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{"a":1}`, 1500);
    expect([0, 400]).toContain(statusOf(lying));
    const gz = await fetch(url('/v1/profiles'), { method: 'POST', headers: { ...json, 'content-encoding': 'gzip' }, body: 'not gzip' });
    expect(gz.status).toBe(400);
    expect((await fetch(url('/health'))).status).toBe(200);
  });

  it('keeps its data and does not re-apply migrations when restarted on the same database', async () => {
    const before = await count();
    await svc.close();
    let logs;
    ({ svc, logs } = await startTestService(transcoder, { service: 'v-transcoder', databaseUrl: db, redisUrl }));
    await svc.ready;
    expect(await count()).toBe(before);
    expect(logs.find((l) => l.event === 'migrated')).toMatchObject({ applied: [] });
  });
});
