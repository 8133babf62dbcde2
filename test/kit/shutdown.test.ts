import { describe, expect, it } from 'vitest';
import { defineService } from '@n3xus/kit';
import { freshDatabase, missingServers } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';

describe.skipIf(missingServers !== '')('graceful shutdown', () => {
  it('finishes a request in flight, refuses new connections, then resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = defineService({
      routes(router) {
        router.get('/slow', async (_req, res) => {
          await gate;
          res.json({ done: true });
        });
      },
    });
    const { svc } = await startTestService(slow, { service: 'shutdown-test', shutdownGraceMs: 5000, databaseUrl: await freshDatabase() });
    await svc.ready;
    const inFlight = fetch(`${svc.url}/v1/slow`, { headers: lawful });
    await new Promise((r) => setTimeout(r, 100));
    const closing = svc.close();
    await expect(fetch(`${svc.url}/health`)).rejects.toThrow();
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closing;
  });
});
