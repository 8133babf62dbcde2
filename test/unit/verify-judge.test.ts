import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/docker/inspect.ts';
import type { HttpResponse } from '../../src/http/client.ts';
import {
  blockedByTarget,
  checkError,
  header,
  judgeContainer,
  judgeEventDelivery,
  judgeHealth,
  judgeLaw,
  judgeProtocol,
  judgeReadiness,
  judgeRoute,
  notRun,
  preview,
  type Answer,
  type DeliveryObservation,
  type HttpFailure,
} from '../../src/verify/judge.ts';
import { handshakeVariants } from '../../src/verify/near-miss.ts';
import { LAW_REFUSAL_BODY, LAW_REFUSAL_HEADERS, N3XUS_LAW } from '../../services/_kit/src/law.ts';

const res = (status: number, body: unknown = '', headers: Record<string, string> = {}, durationMs = 2): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
  durationMs,
});
const refused: HttpFailure = { kind: 'refused', message: 'connection refused', durationMs: 1 };
const timedOut: HttpFailure = { kind: 'timeout', message: 'no answer within 300 ms', durationMs: 300 };
/** The kit's own 451, exactly as services/_kit sends it. */
const refusal = (): HttpResponse => res(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS });

describe('judgeHealth', () => {
  it('passes a 200 {status: ok} that names the expected service, with its latency', () => {
    const check = judgeHealth(res(200, { status: 'ok', service: 'audit-trail', uptimeSeconds: 12 }, {}, 3.2), 'audit-trail');
    expect(check).toMatchObject({ name: 'health', status: 'pass', required: true, details: { latencyMs: 3.2, uptimeSeconds: 12 } });
    expect(check.code).toBeUndefined();
  });

  it('fails a closed port as unreachable', () => {
    expect(judgeHealth(refused, 'x')).toMatchObject({ status: 'fail', code: 'unreachable', message: 'GET /health: connection refused' });
  });

  it('fails a service slower than the deadline as a timeout', () => {
    expect(judgeHealth(timedOut, 'x')).toMatchObject({ status: 'fail', code: 'timeout', message: 'GET /health: no answer within 300 ms' });
  });

  it('fails a body longer than the limit as malformed', () => {
    expect(judgeHealth({ kind: 'too-large', message: 'answer longer than 524288 bytes', durationMs: 5 }, 'x').code).toBe('malformed');
  });

  it('fails a non-200 answer as bad-status, and says the health endpoint must be exempt when it is 451', () => {
    expect(judgeHealth(res(503, { status: 'ok' }), 'x')).toMatchObject({ code: 'bad-status', message: expect.stringContaining('answered 503') });
    expect(judgeHealth(refusal(), 'x').message).toContain('must be exempt from the law');
  });

  it('fails a body that is not JSON as malformed, quoting its start', () => {
    const check = judgeHealth(res(200, 'OK', { 'content-type': 'text/plain' }), 'x');
    expect(check).toMatchObject({ status: 'fail', code: 'malformed' });
    expect(check.message).toContain('"OK", which is not a JSON object');
  });

  it('fails JSON that is not an object, or whose status is not "ok", as malformed', () => {
    expect(judgeHealth(res(200, '[1,2]'), 'x').code).toBe('malformed');
    expect(judgeHealth(res(200, 'null'), 'x').code).toBe('malformed');
    expect(judgeHealth(res(200, { status: 'degraded', service: 'x' }), 'x')).toMatchObject({ code: 'malformed', message: expect.stringContaining('"degraded"') });
  });

  it('fails another service answering on the port as wrong-service, naming both', () => {
    const check = judgeHealth(res(200, { status: 'ok', service: 'event-bus' }), 'audit-trail');
    expect(check).toMatchObject({ code: 'wrong-service' });
    expect(check.message).toContain('service "event-bus" answers there; expected "audit-trail"');
    expect(judgeHealth(res(200, { status: 'ok' }), 'audit-trail').code).toBe('wrong-service');
  });
});

describe('judgeLaw', () => {
  const lawful = (right: Answer = res(200, '# metrics', { 'content-type': 'text/plain' })) => ({ without: refusal(), wrong: refusal(), right });

  it("passes the kit's own refusals and a 2xx with the right handshake", () => {
    expect(judgeLaw(lawful(), N3XUS_LAW)).toMatchObject({ name: 'law', status: 'pass', required: true });
  });

  it('fails a server that answers 200 without a handshake as law-not-enforced', () => {
    const check = judgeLaw({ ...lawful(), without: res(200, { status: 'ok' }) }, N3XUS_LAW);
    expect(check).toMatchObject({ status: 'fail', code: 'law-not-enforced' });
    expect(check.message).toBe('GET /metrics without a handshake answered 200; expected 451 (the law is not enforced)');
  });

  it('fails a server that lets a wrong handshake through', () => {
    const check = judgeLaw({ ...lawful(), wrong: res(200) }, N3XUS_LAW);
    expect(check.code).toBe('law-not-enforced');
    expect(check.message).toContain('with a wrong handshake answered 200');
  });

  it('fails a 451 without the RFC 7725 blocked-by link', () => {
    const noLink = res(451, LAW_REFUSAL_BODY, { 'cache-control': 'no-store' });
    expect(judgeLaw({ ...lawful(), without: noLink }, N3XUS_LAW)).toMatchObject({ code: 'malformed', message: expect.stringContaining('rel="blocked-by"') });
    const otherRel = res(451, LAW_REFUSAL_BODY, { 'cache-control': 'no-store', link: '</x>; rel="help"' });
    expect(judgeLaw({ ...lawful(), without: otherRel }, N3XUS_LAW).code).toBe('malformed');
  });

  it('fails a 451 that may be cached', () => {
    const cached = res(451, LAW_REFUSAL_BODY, { link: LAW_REFUSAL_HEADERS.Link, 'cache-control': 'max-age=60' });
    expect(judgeLaw({ ...lawful(), wrong: cached }, N3XUS_LAW)).toMatchObject({ code: 'malformed', message: expect.stringContaining('no-store') });
  });

  it('fails a 451 that leaks the handshake in its body or a header, or names its framework', () => {
    const inBody = res(451, { error: { code: 'N3XUS_LAW', message: `send ${N3XUS_LAW}` } }, { ...LAW_REFUSAL_HEADERS });
    expect(judgeLaw({ ...lawful(), without: inBody }, N3XUS_LAW)).toMatchObject({ code: 'law-leak', message: expect.stringContaining('body carries the handshake') });
    const inHeader = res(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS, 'x-expected': N3XUS_LAW });
    expect(judgeLaw({ ...lawful(), without: inHeader }, N3XUS_LAW)).toMatchObject({ code: 'law-leak', message: expect.stringContaining('x-expected header') });
    const framework = res(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS, 'x-powered-by': 'Express' });
    expect(judgeLaw({ ...lawful(), without: framework }, N3XUS_LAW)).toMatchObject({ code: 'law-leak', message: expect.stringContaining('X-Powered-By: Express') });
  });

  it('fails a 451 whose body says more than the rule it enforces', () => {
    const chatty = res(451, { error: { ...LAW_REFUSAL_BODY.error, hint: 'ask ops' }, trace: 'abc' }, { ...LAW_REFUSAL_HEADERS });
    expect(judgeLaw({ ...lawful(), without: chatty }, N3XUS_LAW)).toMatchObject({ code: 'law-leak', message: expect.stringContaining('trace, error.hint') });
  });

  it('fails a 451 whose body is not the law refusal', () => {
    expect(judgeLaw({ ...lawful(), without: res(451, 'denied', { ...LAW_REFUSAL_HEADERS }) }, N3XUS_LAW).code).toBe('malformed');
    const otherCode = res(451, { error: { code: 'GEO_BLOCK', message: 'no' } }, { ...LAW_REFUSAL_HEADERS });
    expect(judgeLaw({ ...lawful(), without: otherCode }, N3XUS_LAW)).toMatchObject({ code: 'malformed', message: expect.stringContaining('"GEO_BLOCK"') });
  });

  it('fails a service that refuses the right handshake as law-refused', () => {
    expect(judgeLaw(lawful(refusal()), N3XUS_LAW)).toMatchObject({ code: 'law-refused', message: expect.stringContaining('with the right handshake was refused') });
  });

  it('fails a non-2xx with the right handshake as bad-status', () => {
    expect(judgeLaw(lawful(res(429)), N3XUS_LAW)).toMatchObject({ code: 'bad-status', message: expect.stringContaining('answered 429; expected 2xx') });
  });

  it('fails with the connection failure of whichever probe got no answer', () => {
    expect(judgeLaw({ ...lawful(), without: timedOut }, N3XUS_LAW)).toMatchObject({ code: 'timeout', message: 'GET /metrics without a handshake: no answer within 300 ms' });
    expect(judgeLaw(lawful(refused), N3XUS_LAW).code).toBe('unreachable');
  });

  describe('near misses and the Link target', () => {
    const variants = handshakeVariants(N3XUS_LAW);
    const metrics = () => res(200, '# metrics', { 'content-type': 'text/plain' });
    /** The kit's answers: 451 to every near miss, 2xx to every equal variant. */
    const kit = () => variants.map((variant) => ({ variant, answer: variant.expect === 'refused' ? refusal() : metrics() }));
    const linkOk = { path: '/.well-known/n3xus-law', answer: res(200, { law: 'N3XUS LAW 55-45-17' }) };

    it("passes the kit's answers, saying how many near misses were refused and equal variants accepted", () => {
      const check = judgeLaw({ ...lawful(), nearMisses: kit(), link: linkOk }, N3XUS_LAW);
      const refusedCount = variants.filter((v) => v.expect === 'refused').length;
      expect(check).toMatchObject({ status: 'pass', details: { nearMisses: { refused: refusedCount, equal: variants.length - refusedCount } } });
      expect(check.message).toContain(`451 to ${refusedCount} near misses, ${variants.length - refusedCount} equal variants accepted, its Link target answers 200`);
    });

    it('fails a near miss let through as law-near-miss, naming every one that passed and its kind', () => {
      const answers = kit().map((n) => (n.variant.kind === 'suffix' ? { ...n, answer: metrics() } : n));
      const check = judgeLaw({ ...lawful(), nearMisses: answers, link: linkOk }, N3XUS_LAW);
      expect(check).toMatchObject({ status: 'fail', code: 'law-near-miss' });
      expect(check.message).toBe('accepted 2 near misses of the handshake on GET /_n3xus/ping, each expected 451: suffix "55-45-170" (200); suffix "55-45-17;" (200) (the comparison is not exact)');
      expect(check.details).toEqual({ accepted: ['suffix "55-45-170" (200)', 'suffix "55-45-17;" (200)'] });
    });

    it('fails an equal variant refused with 451 as law-refused, saying HTTP makes it equal', () => {
      const answers = kit().map((n) => (n.variant.kind === 'header-case' ? { ...n, answer: refusal() } : n));
      const check = judgeLaw({ ...lawful(), nearMisses: answers }, N3XUS_LAW);
      expect(check).toMatchObject({ code: 'law-refused', message: expect.stringContaining('the equal variant header-case X-N3XUS-HANDSHAKE: "55-45-17" was refused with 451; HTTP makes it equal') });
    });

    it("judges a near miss's 451 like any refusal (a leak is a leak), and another status as not the law's refusal", () => {
      const leaky = res(451, { error: { code: 'N3XUS_LAW', message: `send ${N3XUS_LAW}` } }, { ...LAW_REFUSAL_HEADERS });
      const first = kit()[0]!;
      expect(judgeLaw({ ...lawful(), nearMisses: [{ ...first, answer: leaky }] }, N3XUS_LAW)).toMatchObject({ code: 'law-leak', message: expect.stringContaining('near miss prefix "x55-45-17" answered 451 but its body carries the handshake') });
      expect(judgeLaw({ ...lawful(), nearMisses: [{ ...first, answer: res(400) }] }, N3XUS_LAW)).toMatchObject({ code: 'bad-status', message: expect.stringContaining('answered 400; expected 451') });
      expect(judgeLaw({ ...lawful(), nearMisses: [{ ...first, answer: timedOut }] }, N3XUS_LAW).code).toBe('timeout');
    });

    it('fails a Link target that does not answer 200 without a handshake, or is not on the service', () => {
      expect(judgeLaw({ ...lawful(), link: { path: '/.well-known/n3xus-law', answer: refusal() } }, N3XUS_LAW)).toMatchObject({
        code: 'malformed',
        message: "the 451's Link target GET /.well-known/n3xus-law without a handshake answered 451; expected 200 (it tells a refused client what the law asks)",
      });
      expect(judgeLaw({ ...lawful(), link: { path: '/.well-known/n3xus-law', answer: refused } }, N3XUS_LAW).message).toContain('connection refused');
      expect(judgeLaw({ ...lawful(), link: { path: 'https://example.com/law', answer: metrics() } }, N3XUS_LAW)).toMatchObject({ code: 'malformed', message: expect.stringContaining('is not a path on the service') });
    });
  });

  it('blockedByTarget reads the target of a 451\'s blocked-by link', () => {
    expect(blockedByTarget(refusal())).toBe('/.well-known/n3xus-law');
    expect(blockedByTarget(res(451, '', { link: '<https://x.example/law>; rel=blocked-by' }))).toBe('https://x.example/law');
    expect(blockedByTarget(res(451))).toBeUndefined();
    expect(blockedByTarget(refused)).toBeUndefined();
  });
});

describe('judgeReadiness', () => {
  const ready = (postgres: object, redis: object, extra: object = {}) => ({ status: 'ready', service: 's', checks: { postgres, redis }, migrations: { applied: 1, pending: 0, complete: true }, ...extra });

  it('passes a 200 ready with both round trips up, keeping their latencies', () => {
    const check = judgeReadiness(res(200, ready({ status: 'up', latencyMs: 1.4 }, { status: 'up', latencyMs: 0.3 })));
    expect(check).toMatchObject({ status: 'pass', details: { postgresMs: 1.4, redisMs: 0.3 } });
    expect(check.message).toBe('PostgreSQL 1.4 ms, Redis 0.3 ms round trips');
  });

  it('fails a 503 naming the dependency that is down and why', () => {
    const body = { ...ready({ status: 'down', latencyMs: 2, circuit: 'open', error: 'connect ECONNREFUSED 127.0.0.1:1' }, { status: 'up', latencyMs: 0.2 }), status: 'degraded' };
    const check = judgeReadiness(res(503, body));
    expect(check).toMatchObject({ status: 'fail', code: 'dependency-down' });
    expect(check.message).toBe('GET /ready answered 503: PostgreSQL down (connect ECONNREFUSED 127.0.0.1:1)');
  });

  it('names an unconfigured dependency', () => {
    const check = judgeReadiness(res(503, { ...ready({ status: 'unconfigured' }, { status: 'unconfigured' }), status: 'degraded' }));
    expect(check.message).toBe('GET /ready answered 503: PostgreSQL not configured, Redis not configured');
  });

  it('fails a service whose dependencies are up but whose schema is not migrated as not-ready', () => {
    const body = { ...ready({ status: 'up' }, { status: 'up' }), status: 'degraded', migrations: { complete: false, error: 'permission denied for schema' } };
    expect(judgeReadiness(res(503, body))).toMatchObject({ code: 'not-ready', message: expect.stringContaining('migrations have not completed (permission denied for schema)') });
  });

  it('fails a readiness body that does not report the round trips as malformed', () => {
    expect(judgeReadiness(res(200, { status: 'ready' })).code).toBe('malformed');
    expect(judgeReadiness(res(200, 'ready')).code).toBe('malformed');
  });

  it('fails other statuses and no answer', () => {
    expect(judgeReadiness(res(404, {})).code).toBe('bad-status');
    expect(judgeReadiness(refused).code).toBe('unreachable');
  });
});

describe('judgeProtocol', () => {
  it("passes PostgreSQL's answer to an SSLRequest", () => {
    expect(judgeProtocol('postgres', { reply: 'N', durationMs: 1 }).status).toBe('pass');
    expect(judgeProtocol('postgres', { reply: 'S', durationMs: 1 }).status).toBe('pass');
  });

  it('fails another server on the PostgreSQL port', () => {
    expect(judgeProtocol('postgres', { reply: 'H', durationMs: 1 })).toMatchObject({ code: 'malformed', message: expect.stringContaining('is it PostgreSQL?') });
  });

  it('passes Redis answering PONG, and a password-protected Redis (NOAUTH, as the fleet ACL makes it) without a warning', () => {
    expect(judgeProtocol('redis', { reply: '+PONG', durationMs: 1 }).status).toBe('pass');
    const locked = judgeProtocol('redis', { reply: '-NOAUTH Authentication required.', durationMs: 1 });
    expect(locked).toMatchObject({ status: 'pass', message: expect.stringContaining('NOAUTH') });
    expect(locked.warnings).toBeUndefined();
  });

  it('fails Redis still loading, and a non-Redis reply', () => {
    expect(judgeProtocol('redis', { reply: '-LOADING Redis is loading', durationMs: 1 }).code).toBe('not-ready');
    expect(judgeProtocol('redis', { reply: 'HTTP/1.1 400', durationMs: 1 }).code).toBe('malformed');
  });

  it('fails a closed port as unreachable', () => {
    expect(judgeProtocol('redis', refused)).toMatchObject({ code: 'unreachable', message: 'Redis: connection refused' });
  });
});

describe('judgeContainer', () => {
  const container = (patch: Partial<ContainerInfo> = {}): ContainerInfo => ({
    id: 'abc',
    name: 'n3xus-audit-trail',
    image: 'n3xus/audit-trail:3.0',
    imageId: 'sha256:1',
    labels: {},
    status: 'running',
    running: true,
    exitCode: 0,
    health: 'healthy',
    lastHealthOutput: undefined,
    ports: {},
    ...patch,
  });

  it('passes a running, healthy container', () => {
    expect(judgeContainer(container(), 'audit-trail', 'n3xus')).toMatchObject({ status: 'pass', message: 'running, health healthy', details: { state: 'running', health: 'healthy' } });
  });

  it('fails a missing container, naming the labels it looked for', () => {
    expect(judgeContainer(undefined, 'audit-trail', 'p1')).toMatchObject({ code: 'container-missing', message: expect.stringContaining('n3xus.project=p1, n3xus.service=audit-trail') });
  });

  it('fails a stopped container with its exit code', () => {
    const check = judgeContainer(container({ status: 'exited', running: false, exitCode: 137, oomKilled: true, restartCount: 0 }), 'audit-trail', 'n3xus');
    expect(check).toMatchObject({ code: 'container-not-running', message: 'container n3xus-audit-trail is exited with exit code 137, killed for lack of memory' });
  });

  it('fails a restarting container, and an unhealthy one with its last health output', () => {
    expect(judgeContainer(container({ status: 'restarting', running: false, exitCode: 1, restartCount: 4 }), 'a', 'n').message).toBe(
      'container n3xus-audit-trail is restarting (last exit code 1, restarted 4 times)',
    );
    const unhealthy = judgeContainer(container({ health: 'unhealthy', lastHealthOutput: 'wget: server returned error: HTTP/1.1 503\n' }), 'a', 'n');
    expect(unhealthy).toMatchObject({ code: 'container-unhealthy', message: expect.stringContaining('HTTP/1.1 503') });
  });

  it('passes a container whose Docker health is still starting, without a warning, and warns of past restarts', () => {
    const starting = judgeContainer(container({ health: 'starting' }), 'a', 'n');
    expect(starting).toMatchObject({ status: 'pass', message: 'running, health starting (no Docker health check has run yet)' });
    expect(starting.warnings).toBeUndefined();
    const restarted = judgeContainer(container({ health: 'healthy', restartCount: 2 }), 'a', 'n');
    expect(restarted.status).toBe('pass');
    expect(restarted.warnings).toEqual(['the engine restarted it 2 times']);
  });

  it('passes a running container without a healthcheck', () => {
    expect(judgeContainer(container({ health: undefined }), 'a', 'n').message).toBe('running, no Docker healthcheck');
  });
});

describe('judgeRoute', () => {
  const routed = { 'x-n3xus-routed-by': 'federation-gateway' };
  const answers = (health: Answer, protectedRoute: Answer = res(200, '# metrics', routed)) => ({ gateway: 'federation-gateway', peer: 'identity-registry', health, protectedRoute });

  it("passes the peer's health and a protected route coming back through the gateway", () => {
    expect(judgeRoute(answers(res(200, { status: 'ok', service: 'identity-registry' }, routed)))).toMatchObject({ status: 'pass', details: { peer: 'identity-registry' } });
  });

  it('fails when the gateway cannot reach the peer (502), with its message', () => {
    const down = res(502, { error: { code: 'PEER_UNAVAILABLE', message: 'peer identity-registry is unavailable: fetch failed' } }, routed);
    expect(judgeRoute(answers(down))).toMatchObject({ code: 'route-failed', message: expect.stringContaining('answered 502, it could not reach identity-registry: peer identity-registry is unavailable') });
  });

  it('fails an answer that is not the peer, or not marked as routed', () => {
    expect(judgeRoute(answers(res(200, { status: 'ok', service: 'federation-gateway' }, routed))).code).toBe('route-failed');
    expect(judgeRoute(answers(res(200, { status: 'ok', service: 'identity-registry' }))).message).toContain('without X-N3XUS-Routed-By');
  });

  it('fails when the peer refuses the routed call: the gateway did not add the handshake', () => {
    const check = judgeRoute(answers(res(200, { status: 'ok', service: 'identity-registry' }, routed), res(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS, ...routed })));
    expect(check).toMatchObject({ code: 'route-failed', message: expect.stringContaining('did not present the handshake') });
  });

  it('fails when the gateway does not answer', () => {
    expect(judgeRoute(answers(timedOut)).code).toBe('timeout');
  });
});

describe('judgeEventDelivery', () => {
  const eventId = '0b7c6f3e-2d8a-4f6b-9c1d-3e5f7a9b1c2d';
  const base: DeliveryObservation = {
    bus: 'event-bus',
    dispatcher: 'webhook-dispatcher',
    audit: 'audit-trail',
    topic: 'n3xus-verify.abc',
    subscribe: res(201, { id: 'w1' }),
    publish: res(201, { id: eventId, published: true }),
    observed: res(200, { eventId, actor: 'event-bus' }),
    waitedMs: 42,
  };

  it('passes an event recorded by audit-trail, with the delivery time', () => {
    expect(judgeEventDelivery(base)).toMatchObject({ status: 'pass', details: { eventId, deliveredMs: 42 } });
  });

  it('fails when the webhook cannot be registered', () => {
    expect(judgeEventDelivery({ ...base, subscribe: res(400, { error: { code: 'INVALID_BODY', message: 'url: must be an http or https URL' } }) })).toMatchObject({
      code: 'not-delivered',
      message: 'webhook-dispatcher did not register the webhook for topic n3xus-verify.abc: 400 url: must be an http or https URL',
    });
    expect(judgeEventDelivery({ ...base, subscribe: refused }).code).toBe('unreachable');
    expect(judgeEventDelivery({ ...base, subscribe: res(201, {}) }).message).toContain("without the webhook's id");
  });

  it('fails when event-bus does not take the event', () => {
    expect(judgeEventDelivery({ ...base, publish: res(503, { error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'postgres is unavailable' } }) }).message).toBe(
      'event-bus did not accept an event on topic n3xus-verify.abc: 503 postgres is unavailable',
    );
  });

  it('fails an event audit-trail never recorded, with the delivery log', () => {
    const deliveries = res(200, { items: [{ status: 'failed', attempts: 5, lastError: 'HTTP 451: {"error":…}' }] });
    const check = judgeEventDelivery({ ...base, observed: res(404, { error: { code: 'NOT_FOUND', message: 'not received yet' } }), waitedMs: 5003, deliveries });
    expect(check).toMatchObject({ status: 'fail', code: 'not-delivered' });
    expect(check.message).toBe(
      `event ${eventId} published on event-bus was not recorded by audit-trail within 5003 ms (audit-trail last answered 404 not received yet); delivery failed after 5 attempt(s), last error: HTTP 451: {"error":…}`,
    );
    const none = judgeEventDelivery({ ...base, observed: res(404, {}), deliveries: res(200, { items: [] }) });
    expect(none.message).toContain('the dispatcher has no delivery of it');
  });

  it('does not take a record of another event for this one', () => {
    expect(judgeEventDelivery({ ...base, observed: res(200, { eventId: 'other' }) }).status).toBe('fail');
  });
});

describe('helpers', () => {
  it('notRun and checkError never pass', () => {
    expect(notRun('law', 'x did not answer')).toMatchObject({ status: 'not-run', code: 'dependency-failed', required: true, message: 'not run: x did not answer' });
    expect(checkError('health', new Error('boom'))).toMatchObject({ status: 'not-run', code: 'error', message: 'could not run: boom' });
  });

  it('header reads case-insensitively and joins repeats', () => {
    expect(header({ Link: 'a', 'set-cookie': ['x', 'y'] }, 'link')).toBe('a');
    expect(header({ 'set-cookie': ['x', 'y'] }, 'Set-Cookie')).toBe('x, y');
    expect(header({}, 'link')).toBeUndefined();
  });

  it('preview quotes, escapes and truncates', () => {
    expect(preview('')).toBe('an empty body');
    expect(preview('a\u0000b')).toBe('"a\\u0000b"');
    expect(preview('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…"`);
  });
});
