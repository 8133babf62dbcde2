/**
 * Issue 17: rate limits per caller, on real kit services and the test run's real Redis. Each caller signs with its
 * own key (services/_kit/src/caller.ts); the callee limits each caller in its own bucket, refuses a forged
 * signature, and limits a call routed through federation-gateway by its original caller.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerKeyFromSeed, callerPublicKey, defineService, parseCallerKeys, signCall, type CallerKeys, type RunningService } from '@n3xus/kit';
import federationGateway from '../../services/federation-gateway/app.ts';
import { eventually, missingServers, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';

const seed = () => randomBytes(32).toString('base64url');
const seeds = { alpha: seed(), beta: seed(), observer: seed(), 'federation-gateway': seed() };
const callers = (): CallerKeys => ({
  keys: parseCallerKeys(Object.entries(seeds).map(([name, s]) => `${name}=${callerPublicKey(s)}`).join(','), 'N3XUS_CALLER_KEYS'),
  relays: new Set(['federation-gateway']),
});
const key = (name: keyof typeof seeds) => callerKeyFromSeed(name, seeds[name]);
const LIMIT = 4;
const target = defineService({
  routes(router) {
    router.get('/echo', (_req, res) => {
      res.json({ ok: true });
    });
  },
});

/** The rate-limit buckets of a service in Redis, by name (`rl:<bucket>`): KEYS patterns take no client prefix. */
async function buckets(svc: RunningService): Promise<string[]> {
  const prefix = svc.ctx.cache.prefix;
  return (await svc.ctx.cache.client!.keys(`${prefix}rl:*`)).map((k) => k.slice(prefix.length)).sort();
}

/** GET `path` on `base`, signed by `as` when given. */
async function get(base: string, path: string, as?: keyof typeof seeds, headers: Record<string, string> = {}) {
  const signed = as === undefined ? {} : { 'x-n3xus-caller': signCall(key(as), 'GET', path) };
  const res = await fetch(base + path, { headers: { ...lawful, ...signed, ...headers } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe.skipIf(missingServers !== '')(`rate limits per caller, on real Redis ${missingServers}`, () => {
  const running: RunningService[] = [];
  // A service name of its own per run: the buckets live in the shared test Redis under the service's prefix.
  const suffix = randomBytes(3).toString('hex');
  let svc: RunningService;
  let gateway: RunningService;
  let behind: RunningService;

  beforeAll(async () => {
    ({ svc } = await startTestService(target, { service: `limited-${suffix}`, redisUrl, rateLimitPerMinute: LIMIT, callers: callers() }));
    ({ svc: behind } = await startTestService(target, { service: `behind-${suffix}`, redisUrl, rateLimitPerMinute: LIMIT, callers: callers() }));
    ({ svc: gateway } = await startTestService(federationGateway, {
      service: 'federation-gateway',
      redisUrl,
      peers: { behind: behind.url },
      caller: key('federation-gateway'),
      callers: callers(),
    }));
    running.push(svc, behind, gateway);
    await Promise.all(running.map((s) => s.ready));
    // Until its Redis connection is up, a service counts in its in-memory insurance limiter, and the Redis bucket
    // starts afresh once it is: a caller could then get more than LIMIT calls in (seen in CI under load).
    await eventually(() => running.every((s) => s.ctx.cache.client?.status === 'ready'), 10_000, 20);
  });
  afterAll(() => Promise.all(running.map((s) => s.close())));

  it('gives two callers separate budgets: one spending all of its own leaves the other untouched', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await get(svc.url, '/v1/echo', 'alpha')).status).toBe(200);
    const over = await get(svc.url, '/v1/echo', 'alpha');
    expect(over.status).toBe(429);
    expect(over.body.error!.code).toBe('RATE_LIMITED');
    expect((await get(svc.url, '/v1/echo', 'beta')).status).toBe(200);
    // The unidentified client (this test's address) has a bucket of its own too.
    expect((await get(svc.url, '/v1/echo')).status).toBe(200);
    // The buckets are in Redis, under the service's prefix: shared by every replica.
    expect(await buckets(svc)).toEqual(expect.arrayContaining(['rl:caller:alpha', 'rl:caller:beta']));
  });

  it('answers a 429 with Retry-After, in whole seconds until the bucket refills', async () => {
    const over = await get(svc.url, '/v1/echo', 'alpha');
    expect(over.status).toBe(429);
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(60);
  });

  it("refuses a caller that forges another's identity, and spends the forger's address budget, not the victim's", async () => {
    const forged = signCall(key('alpha'), 'GET', '/v1/echo').replace('name=alpha', 'name=beta');
    const refused = await get(svc.url, '/v1/echo', undefined, { 'x-n3xus-caller': forged });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toEqual({ code: 'CALLER_REFUSED', message: 'The x-n3xus-caller header does not check: the signature of beta does not match the request.' });
    // A stranger's key, and a signature for another path, are refused the same way.
    const stranger = signCall(callerKeyFromSeed('gamma', seed()), 'GET', '/v1/echo');
    expect((await get(svc.url, '/v1/echo', undefined, { 'x-n3xus-caller': stranger })).status).toBe(401);
    expect((await get(svc.url, '/v1/echo', undefined, { 'x-n3xus-caller': signCall(key('beta'), 'GET', '/v1/other') })).status).toBe(401);
    expect((await get(svc.url, '/v1/echo', 'beta')).status).toBe(200);
    // Read by a caller of its own: this test's address has spent its budget on the refusals.
    const metrics = await (await fetch(`${svc.url}/metrics`, { headers: { ...lawful, 'x-n3xus-caller': signCall(key('observer'), 'GET', '/metrics') } })).text();
    expect(metrics).toMatch(/^n3xus_caller_refusals_total\{service="limited-[0-9a-f]+"\} 3$/m);
    expect(metrics).toMatch(/^n3xus_rate_limited_total\{bucket="caller",service="limited-[0-9a-f]+"\} 2$/m);
  });

  it("limits calls routed through federation-gateway by their original caller, not by the gateway", async () => {
    for (let i = 0; i < LIMIT; i++) expect((await get(gateway.url, '/v1/route/behind/v1/echo', 'alpha')).status).toBe(200);
    const over = await get(gateway.url, '/v1/route/behind/v1/echo', 'alpha');
    expect(over.status).toBe(429);
    // The peer's 429 comes back through the gateway; beta, through the same gateway, still has its whole budget.
    expect(over.body.error!.code).toBe('RATE_LIMITED');
    for (let i = 0; i < LIMIT; i++) expect((await get(gateway.url, '/v1/route/behind/v1/echo', 'beta')).status).toBe(200);
    // Unidentified clients of the gateway share one bucket at the peer, apart from the identified ones.
    expect((await get(gateway.url, '/v1/route/behind/v1/echo')).status).toBe(200);
    expect(await buckets(behind)).toEqual(['rl:anonymous-via:federation-gateway', 'rl:caller:alpha', 'rl:caller:beta']);
  });
});
