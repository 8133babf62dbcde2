import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService, ServiceDefinition } from '@n3xus/kit';
import auditTrail from '../../services/audit-trail/app.ts';
import eventBus from '../../services/event-bus/app.ts';
import federationGateway from '../../services/federation-gateway/app.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import regulatoryReporting from '../../services/regulatory-reporting/app.ts';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { verifyFleet as verifyWithOptions, type VerifyOptions } from '../../src/verify/verify.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import type { CheckResult, ServiceResult, VerifyReport } from '../../src/verify/types.ts';
import { freePort } from '../support/local-servers.ts';
import { freshDatabase, missingServers, postgresUrl, redisUrl } from '../support/servers.ts';
import { startTestService } from '../support/service.ts';
import { lawlessServer, malformedServer, portOf, slowServer, writeFleetFile, type FleetEntry } from './support.ts';

const check = (report: VerifyReport, service: string, name: CheckResult['name']): CheckResult => {
  const found = report.services.find((s) => s.name === service)?.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check for ${service} in the report`);
  return found;
};
// Parsed fleet files are cached in a directory of this run, not the user's.
const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cache-'));
const verifyFleet = (options: VerifyOptions) => verifyWithOptions({ cacheDir, ...options });
const serviceOf = (report: VerifyReport, name: string): ServiceResult => report.services.find((s) => s.name === name)!;

describe.skipIf(missingServers !== '')(`verify against real servers ${missingServers}`, () => {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  const svc: Record<string, RunningService> = {};
  let databaseUrl: string;
  let infra: FleetEntry[];
  let healthyEntries: FleetEntry[];
  let healthyFile: string;

  const start = async (definition: ServiceDefinition, service: string, options: { peers?: Record<string, string>; databaseUrl?: string } = {}) => {
    const { svc: started } = await startTestService(definition, { service, databaseUrl: options.databaseUrl ?? databaseUrl, redisUrl, peers: options.peers ?? {} });
    running.push(started);
    return started;
  };
  const entry = (name: string, stage: FleetEntry['stage'], group: string, category: string, environment?: Record<string, string>): FleetEntry => ({
    name, stage, group, category, port: svc[name]!.port, ...(environment ? { environment } : {}),
  });

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    svc['identity-registry'] = await start(identityRegistry, 'identity-registry');
    svc['audit-trail'] = await start(auditTrail, 'audit-trail');
    svc['event-bus'] = await start(eventBus, 'event-bus');
    const gatewayPeers = { 'identity-registry': svc['identity-registry'].url };
    svc['federation-gateway'] = await start(federationGateway, 'federation-gateway', { peers: gatewayPeers });
    const reportingPeers = { 'audit-trail': svc['audit-trail'].url };
    svc['regulatory-reporting'] = await start(regulatoryReporting, 'regulatory-reporting', { peers: reportingPeers });
    // The dispatcher delivers to its peers only: audit-trail is one, as in the catalog.
    const dispatcherPeers = { 'event-bus': svc['event-bus'].url, 'audit-trail': svc['audit-trail'].url };
    svc['webhook-dispatcher'] = await start(webhookDispatcher, 'webhook-dispatcher', { peers: dispatcherPeers });
    await Promise.all(running.map((s) => s.ready));

    infra = [
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
    ];
    const peersEnv = (peers: Record<string, string>) => ({ N3XUS_PEERS: Object.entries(peers).map(([k, v]) => `${k}=${v}`).join(',') });
    healthyEntries = [
      ...infra,
      entry('identity-registry', 'federation', 'federation', 'identity'),
      entry('federation-gateway', 'federation', 'federation', 'federation', peersEnv(gatewayPeers)),
      entry('audit-trail', 'compliance', 'compliance', 'compliance'),
      entry('regulatory-reporting', 'compliance', 'compliance', 'compliance', peersEnv(reportingPeers)),
      entry('event-bus', 'extended', 'ext-infrastructure', 'infrastructure'),
      entry('webhook-dispatcher', 'extended', 'ext-integration', 'integration', peersEnv(dispatcherPeers)),
    ];
    healthyFile = await writeFleetFile(healthyEntries);
  });

  afterAll(async () => {
    await Promise.all([...running.map((s) => s.close()), ...closers.map((close) => close())]);
  });

  describe('a healthy fleet', () => {
    let report: VerifyReport;
    beforeAll(async () => {
      report = await verifyFleet({ fleetFile: healthyFile, mode: 'full', docker: 'off', threshold: 100 });
    });

    it('verifies at 100 % in full mode and passes a threshold of 100', () => {
      expect(report).toMatchObject({ operationalPercent: 100, passed: true, counts: { services: 8, operational: 8, failed: 0 } });
    });

    it('passes every check it ran, with no warning: no false alarm', () => {
      const notPassed = report.services.flatMap((s) => s.checks.filter((c) => c.status !== 'pass').map((c) => `${s.name} ${c.name}: ${c.message}`));
      expect(notPassed).toEqual([]);
      expect(report.services.flatMap((s) => s.checks.flatMap((c) => c.warnings ?? []))).toEqual([]);
    });

    it('ran health, law and readiness on each service, and the protocol check on PostgreSQL and Redis', () => {
      for (const service of report.services.filter((s) => s.kind === 'service')) {
        expect(service.checks.map((c) => c.name).slice(0, 3)).toEqual(['health', 'law', 'readiness']);
      }
      expect(serviceOf(report, 'postgres').checks.map((c) => c.name)).toEqual(['protocol']);
      expect(check(report, 'postgres', 'protocol').message).toMatch(/^PostgreSQL answered the protocol handshake/);
      expect(check(report, 'redis', 'protocol').message).toMatch(/^Redis answered PING/);
      expect(check(report, 'audit-trail', 'readiness').details).toMatchObject({ postgresMs: expect.any(Number), redisMs: expect.any(Number) });
    });

    it('routes a request through federation-gateway to identity-registry and back', () => {
      expect(check(report, 'federation-gateway', 'route')).toMatchObject({ status: 'pass', details: { peer: 'identity-registry' } });
    });

    it('sees an event published on event-bus delivered by webhook-dispatcher to audit-trail', async () => {
      const delivery = check(report, 'webhook-dispatcher', 'event-delivery');
      expect(delivery.status).toBe('pass');
      const eventId = delivery.details!.eventId as string;
      const recorded = await fetch(`${svc['audit-trail']!.url}/v1/ingest/events/${eventId}`, { headers: { 'x-n3xus-handshake': '55-45-17' } });
      expect(recorded.status).toBe(200);
      // The webhook verify registered is deactivated afterwards: no live subscription is left behind.
      const hooks = (await (await fetch(`${svc['webhook-dispatcher']!.url}/v1/webhooks?limit=100`, { headers: { 'x-n3xus-handshake': '55-45-17' } })).json()) as { items: Array<{ topic: string; active: boolean }> };
      expect(hooks.items.filter((h) => h.topic.startsWith('n3xus-verify.') && h.active)).toEqual([]);
    });

    it('sampling checks PostgreSQL, Redis and one service per category, without the inter-service flows', async () => {
      const sample = await verifyFleet({ fleetFile: healthyFile, mode: 'sample', docker: 'off' });
      const names = sample.services.map((s) => s.name);
      // compliance has two services, audit-trail and regulatory-reporting: the seed draws one of them.
      expect(names.filter((n) => n !== 'audit-trail' && n !== 'regulatory-reporting')).toEqual(['postgres', 'redis', 'identity-registry', 'federation-gateway', 'event-bus', 'webhook-dispatcher']);
      expect(names.filter((n) => n === 'audit-trail' || n === 'regulatory-reporting')).toHaveLength(1);
      expect(sample.sample).toEqual({ seed: expect.any(Number), size: 5 });
      expect(sample.operationalPercent).toBe(100);
      expect(sample.services.flatMap((s) => s.checks.map((c) => c.name))).not.toContain('event-delivery');
    });

    it('--bench adds latency percentiles per service, slowest first, without changing the verdict', async () => {
      const bench = await verifyFleet({ fleetFile: healthyFile, mode: 'sample', docker: 'off', bench: true, benchRequests: 8 });
      expect(bench.passed).toBe(true);
      expect(bench.latency).toHaveLength(5);
      for (const s of bench.latency!) expect(s).toMatchObject({ requests: 8, errors: 0, p50Ms: expect.any(Number) });
      const p95s = bench.latency!.map((s) => s.p95Ms);
      expect(p95s).toEqual([...p95s].sort((a, b) => b - a));
      expect(check(bench, 'event-bus', 'latency')).toMatchObject({ status: 'pass', required: false });
    });
  });

  describe('servers that misbehave, each failed for the right reason', () => {
    let report: VerifyReport;
    let closedPort: number;
    let dbDownPort: number;
    beforeAll(async () => {
      const lawless = await lawlessServer('lawless');
      const slow = await slowServer('slow', 3_000);
      const malformed = await malformedServer();
      closers.push(lawless.close, slow.close, malformed.close);
      closedPort = await freePort();
      const stopped = await freePort();
      const dbDown = await start(identityRegistry, 'db-down', { databaseUrl: `postgres://n3xus:n3xus@127.0.0.1:${closedPort}/n3xus` });
      dbDownPort = dbDown.port;
      const file = await writeFleetFile([
        ...infra,
        entry('identity-registry', 'federation', 'federation', 'identity'),
        entry('audit-trail', 'compliance', 'compliance', 'compliance'),
        { name: 'lawless', stage: 'domain', group: 'domain-bad', category: 'a', port: lawless.port },
        { name: 'stopped', stage: 'domain', group: 'domain-bad', category: 'b', port: stopped },
        { name: 'db-down', stage: 'domain', group: 'domain-bad', category: 'c', port: dbDown.port },
        { name: 'slow', stage: 'domain', group: 'domain-bad', category: 'd', port: slow.port },
        { name: 'malformed', stage: 'domain', group: 'domain-bad', category: 'e', port: malformed.port },
      ]);
      report = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off', timeoutMs: 800 });
    });

    it('a server answering 200 to everything fails the law check: the law is not enforced', () => {
      expect(check(report, 'lawless', 'health').status).toBe('pass');
      expect(check(report, 'lawless', 'law')).toMatchObject({
        status: 'fail',
        code: 'law-not-enforced',
        message: 'GET /metrics without a handshake answered 200; expected 451 (the law is not enforced)',
      });
      expect(serviceOf(report, 'lawless').operational).toBe(false);
    });

    it('a stopped server fails health as unreachable, and its other checks count as not run', () => {
      expect(check(report, 'stopped', 'health')).toMatchObject({ status: 'fail', code: 'unreachable', message: 'GET /health: connection refused' });
      expect(check(report, 'stopped', 'law')).toMatchObject({ status: 'not-run', message: 'not run: stopped did not answer GET /health' });
      expect(check(report, 'stopped', 'readiness').status).toBe('not-run');
    });

    it('a service whose database is unreachable is alive and lawful but fails readiness, naming PostgreSQL', () => {
      expect(check(report, 'db-down', 'health').status).toBe('pass');
      expect(check(report, 'db-down', 'law').status).toBe('pass');
      const readiness = check(report, 'db-down', 'readiness');
      expect(readiness).toMatchObject({ status: 'fail', code: 'dependency-down' });
      expect(readiness.message).toMatch(/^GET \/ready answered 503: PostgreSQL down \(.*ECONNREFUSED.*\)$/);
    });

    it('a database the service reports down while verify finds the fleet\'s PostgreSQL up is no shared root cause', () => {
      expect(check(report, 'db-down', 'readiness').causedBy).toBeUndefined();
    });

    it('PostgreSQL down is one root cause: the services not ready because of it are marked and grouped under it', async () => {
      // The same service, in a fleet whose PostgreSQL is the address it cannot reach.
      const file = await writeFleetFile([
        { ...infra[0]!, port: closedPort },
        infra[1]!,
        { name: 'db-down', stage: 'domain', group: 'domain-bad', category: 'c', port: dbDownPort },
      ]);
      const cascade = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off', timeoutMs: 800 });
      expect(check(cascade, 'postgres', 'protocol')).toMatchObject({ status: 'fail', code: 'unreachable' });
      expect(check(cascade, 'postgres', 'protocol').causedBy).toBeUndefined();
      expect(check(cascade, 'db-down', 'readiness')).toMatchObject({ status: 'fail', code: 'dependency-down', causedBy: 'postgres' });
      const text = renderSummary(cascade);
      expect(text).toContain('root causes:\n  postgres failed: 1 service fails because of it (db-down)');
      expect(text).not.toMatch(/✗ db-down/);
    });

    it('a server slower than the timeout fails health with a timeout', () => {
      expect(check(report, 'slow', 'health')).toMatchObject({ status: 'fail', code: 'timeout', message: 'GET /health: no answer within 800 ms, nor within 1600 ms when asked again' });
    });

    it('a health answer that is not JSON is reported as malformed, not a crash', () => {
      expect(check(report, 'malformed', 'health')).toMatchObject({ status: 'fail', code: 'malformed', message: expect.stringContaining('"OK", which is not a JSON object') });
    });

    it('the healthy services of the same fleet still pass: no false alarm', () => {
      for (const name of ['postgres', 'redis', 'identity-registry', 'audit-trail']) expect(serviceOf(report, name).operational).toBe(true);
    });

    it('scores 4 of 9 operational and fails the default gate', () => {
      expect(report).toMatchObject({ operationalPercent: 44.4, passed: false, threshold: 90, counts: { services: 9, operational: 4, failed: 5 } });
    });
  });

  describe('inter-service flows that break', () => {
    it('an event webhook-dispatcher cannot deliver fails event-delivery, with the delivery log', async () => {
      // A dispatcher (with a database of its own) that reaches audit-trail on a closed port: its deliveries cannot arrive.
      const closed = await freePort();
      const peers = { 'event-bus': svc['event-bus']!.url, 'audit-trail': `http://127.0.0.1:${closed}` };
      const misdirected = await start(webhookDispatcher, 'webhook-dispatcher', { peers, databaseUrl: await freshDatabase() });
      await misdirected.ready;
      const dispatcher = healthyEntries.find((e) => e.name === 'webhook-dispatcher')!;
      const file = await writeFleetFile([
        ...healthyEntries.filter((e) => e.name !== 'webhook-dispatcher'),
        { ...dispatcher, port: misdirected.port, environment: { N3XUS_PEERS: Object.entries(peers).map(([k, v]) => `${k}=${v}`).join(',') } },
      ]);
      const report = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off', deliveryWaitMs: 1_000 });
      const delivery = check(report, 'webhook-dispatcher', 'event-delivery');
      expect(delivery).toMatchObject({ status: 'fail', code: 'not-delivered' });
      expect(delivery.message).toMatch(/was not recorded by audit-trail within 1\d{3} ms \(audit-trail last answered 404 .*\); delivery pending after \d attempt\(s\), last error: .*/);
      expect(serviceOf(report, 'webhook-dispatcher').operational).toBe(false);
      expect(serviceOf(report, 'audit-trail').operational).toBe(true);
    });

    it('a gateway whose peer is down fails the route check with 502', async () => {
      const closed = await freePort();
      const gateway = await start(federationGateway, 'federation-gateway', { peers: { 'identity-registry': `http://127.0.0.1:${closed}` } });
      const file = await writeFleetFile([{ name: 'federation-gateway', stage: 'federation', group: 'federation', category: 'federation', port: gateway.port, environment: { N3XUS_PEERS: `identity-registry=http://127.0.0.1:${closed}` } }]);
      const report = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off' });
      expect(check(report, 'federation-gateway', 'health').status).toBe('pass');
      expect(check(report, 'federation-gateway', 'route')).toMatchObject({ status: 'fail', code: 'route-failed', message: expect.stringContaining('answered 502, it could not reach identity-registry') });
    });

    it('the event delivery flow is not run when event-bus does not answer, and counts as not passed', async () => {
      const closed = await freePort();
      const file = await writeFleetFile(healthyEntries.map((e) => (e.name === 'event-bus' ? { ...e, port: closed } : e)));
      const report = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off' });
      expect(check(report, 'webhook-dispatcher', 'event-delivery')).toMatchObject({ status: 'not-run', message: 'not run: event-bus did not answer GET /health', causedBy: 'event-bus' });
      expect(serviceOf(report, 'webhook-dispatcher').operational).toBe(false);
    });
  });
});
