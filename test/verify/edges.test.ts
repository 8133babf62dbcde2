/**
 * `verify --full` checks every declared call: real kit services in this process, each calling its peers through its
 * own calls route, against the test run's PostgreSQL and Redis.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService, ServiceDefinition } from '@n3xus/kit';
import consentManager from '../../services/consent-manager/app.ts';
import contentRegistry from '../../services/content-registry/app.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import licensingEngine from '../../services/licensing-engine/app.ts';
import type { EdgeResult } from '../../src/verify/edges.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import type { CheckResult, ServiceResult, VerifyReport } from '../../src/verify/types.ts';
import { verifyFleet as verifyWithOptions, type VerifyOptions } from '../../src/verify/verify.ts';
import { freePort } from '../support/local-servers.ts';
import { freshDatabase, missingServers, postgresUrl, redisUrl } from '../support/servers.ts';
import { startTestService } from '../support/service.ts';
import { portOf, writeFleetFile, type FleetEntry } from './support.ts';

const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cache-'));
const verifyFleet = (options: VerifyOptions) => verifyWithOptions({ cacheDir, docker: 'off', ...options });
const serviceOf = (report: VerifyReport, name: string): ServiceResult => report.services.find((s) => s.name === name)!;
const check = (report: VerifyReport, service: string, name: CheckResult['name']): CheckResult => {
  const found = serviceOf(report, service)?.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check for ${service} in the report`);
  return found;
};
const edgesOf = (c: CheckResult): EdgeResult[] => c.details!.edges as EdgeResult[];
const peersEnv = (peers: Record<string, string>) => ({ N3XUS_PEERS: Object.entries(peers).map(([k, v]) => `${k}=${v}`).join(',') });

describe.skipIf(missingServers !== '')(`verify --full checks every declared call ${missingServers}`, () => {
  const running: RunningService[] = [];
  let databaseUrl: string;
  let infra: FleetEntry[];

  const start = async (definition: ServiceDefinition, service: string, peers: Record<string, string> = {}) => {
    const { svc } = await startTestService(definition, { service, databaseUrl, redisUrl, peers });
    running.push(svc);
    await svc.ready;
    return svc;
  };
  const entry = (name: string, svc: RunningService, category: string, peers?: Record<string, string>): FleetEntry => ({
    name, stage: 'domain', group: 'domain-test', category, port: svc.port, ...(peers ? { environment: peersEnv(peers) } : {}),
  });

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    infra = [
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
    ];
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()));
  });

  describe('a healthy little fleet: identity ← content ← licensing, identity ← consent', () => {
    let report: VerifyReport;
    let file: string;
    beforeAll(async () => {
      const identity = await start(identityRegistry, 'identity-registry');
      const content = await start(contentRegistry, 'content-registry', { 'identity-registry': identity.url });
      const licensing = await start(licensingEngine, 'licensing-engine', { 'content-registry': content.url });
      const consent = await start(consentManager, 'consent-manager', { 'identity-registry': identity.url });
      file = await writeFleetFile([
        ...infra,
        entry('identity-registry', identity, 'identity'),
        entry('content-registry', content, 'content', { 'identity-registry': identity.url }),
        entry('licensing-engine', licensing, 'licensing', { 'content-registry': content.url }),
        entry('consent-manager', consent, 'consent', { 'identity-registry': identity.url }),
      ]);
      report = await verifyFleet({ fleetFile: file, mode: 'full', threshold: 100 });
    });

    it('verifies every declared edge as passed, at 100 %, with no false alarm', () => {
      const notPassed = report.services.flatMap((s) => s.checks.filter((c) => c.status !== 'pass').map((c) => `${s.name} ${c.name}: ${c.message}`));
      expect(notPassed).toEqual([]);
      expect(report.services.flatMap((s) => s.checks.flatMap((c) => c.warnings ?? []))).toEqual([]);
      expect(report).toMatchObject({ operationalPercent: 100, passed: true });
    });

    it('runs a calls check on each service that declares peers, one edge per declared peer, and on no other', () => {
      const withCalls = report.services.filter((s) => s.checks.some((c) => c.name === 'calls')).map((s) => s.name);
      expect(withCalls).toEqual(['content-registry', 'licensing-engine', 'consent-manager']);
      const edges = withCalls.flatMap((name) => edgesOf(check(report, name, 'calls')));
      expect(edges.map((e) => `${e.caller} → ${e.callee}`)).toEqual(['content-registry → identity-registry', 'licensing-engine → content-registry', 'consent-manager → identity-registry']);
      for (const edge of edges) expect(edge).toMatchObject({ passed: true, status: 200, breaker: 'closed', latencyMs: expect.any(Number) });
      expect(check(report, 'licensing-engine', 'calls')).toMatchObject({ required: true, message: expect.stringMatching(/^licensing-engine reached every declared peer, with the handshake, through its circuit breaker: content-registry [\d.]+ ms$/) });
    });

    it('is not run in sample mode', async () => {
      const sample = await verifyFleet({ fleetFile: file, mode: 'sample', sampleSize: 4 });
      expect(sample.services.flatMap((s) => s.checks.map((c) => c.name))).not.toContain('calls');
    });
  });

  describe('a declared call whose callee is stopped', () => {
    let file: string;
    beforeAll(async () => {
      const identity = await start(identityRegistry, 'identity-registry');
      const consent = await start(consentManager, 'consent-manager', { 'identity-registry': identity.url });
      const content = await start(contentRegistry, 'content-registry', { 'identity-registry': identity.url });
      file = await writeFleetFile([
        ...infra,
        entry('identity-registry', identity, 'identity'),
        entry('consent-manager', consent, 'consent', { 'identity-registry': identity.url }),
        entry('content-registry', content, 'content', { 'identity-registry': identity.url }),
      ]);
      await identity.close();
    });

    it("fails the caller's calls check, naming caller, callee and the callee's side, caused by the callee", async () => {
      const report = await verifyFleet({ fleetFile: file, mode: 'full' });
      expect(check(report, 'identity-registry', 'health')).toMatchObject({ status: 'fail', code: 'unreachable' });
      const calls = check(report, 'consent-manager', 'calls');
      expect(calls).toMatchObject({ status: 'fail', code: 'call-failed', causedBy: 'identity-registry' });
      expect(calls.message).toBe(
        '1 of 1 declared call failed: consent-manager → identity-registry (callee side): identity-registry is unreachable from consent-manager (connection refused (ECONNREFUSED)) (verify cannot reach identity-registry either)',
      );
      expect(edgesOf(calls)).toEqual([{ caller: 'consent-manager', callee: 'identity-registry', passed: false, side: 'callee', latencyMs: expect.any(Number), breaker: 'closed', problem: expect.any(String) }]);
      expect(serviceOf(report, 'consent-manager').operational).toBe(false);
      // Both callers are consequences of one root cause, not three unrelated failures.
      expect(renderSummary(report)).toContain('root causes:\n  identity-registry failed: 2 services fail because of it (consent-manager, content-registry)');
    });

    it("once the caller's circuit opens, the caller's side is named (it no longer calls), still caused by the callee", async () => {
      // Each verify makes three attempts per call; the caller's breaker opens at five consecutive failures.
      await verifyFleet({ fleetFile: file, mode: 'full' });
      const report = await verifyFleet({ fleetFile: file, mode: 'full' });
      const calls = check(report, 'consent-manager', 'calls');
      expect(calls).toMatchObject({ status: 'fail', code: 'call-failed', causedBy: 'identity-registry' });
      expect(edgesOf(calls)[0]).toMatchObject({ side: 'caller', breaker: 'open' });
      expect(calls.message).toContain("consent-manager → identity-registry (caller side): consent-manager's circuit breaker to identity-registry is open after earlier failed calls, so it did not call (circuit open: the call was not made)");
    });
  });

  describe('a caller that cannot reach a callee verify reaches fine', () => {
    it('names the edge as failing between them, and blames neither end as a root cause', async () => {
      const identity = await start(identityRegistry, 'identity-registry');
      const closed = await freePort();
      // The caller was given a wrong address for its peer; the fleet file declares the right one.
      const consent = await start(consentManager, 'consent-manager', { 'identity-registry': `http://127.0.0.1:${closed}` });
      const file = await writeFleetFile([
        ...infra,
        entry('identity-registry', identity, 'identity'),
        entry('consent-manager', consent, 'consent', { 'identity-registry': identity.url }),
      ]);
      const report = await verifyFleet({ fleetFile: file, mode: 'full' });
      expect(serviceOf(report, 'identity-registry').operational).toBe(true);
      const calls = check(report, 'consent-manager', 'calls');
      expect(calls).toMatchObject({ status: 'fail', code: 'call-failed' });
      expect(calls.causedBy).toBeUndefined();
      expect(calls.message).toBe(
        '1 of 1 declared call failed: consent-manager → identity-registry (callee side): identity-registry is unreachable from consent-manager (connection refused (ECONNREFUSED)), while verify reaches identity-registry itself: the address consent-manager has for it, or the network between them, is wrong',
      );
      const summary = renderSummary(report);
      expect(summary).toMatch(/✗ consent-manager +calls: 1 of 1 declared call failed: consent-manager → identity-registry \(callee side\): identity-registry is unreachable from consent-manager/);
      expect(summary).not.toContain('root causes');
    });

    it('a caller that points its peer at another service: the caller side, named', async () => {
      const identity = await start(identityRegistry, 'identity-registry');
      const content = await start(contentRegistry, 'content-registry', { 'identity-registry': identity.url });
      // licensing-engine's address for content-registry is identity-registry's.
      const licensing = await start(licensingEngine, 'licensing-engine', { 'content-registry': identity.url });
      const file = await writeFleetFile([
        ...infra,
        entry('identity-registry', identity, 'identity'),
        entry('content-registry', content, 'content', { 'identity-registry': identity.url }),
        entry('licensing-engine', licensing, 'licensing', { 'content-registry': content.url }),
      ]);
      const report = await verifyFleet({ fleetFile: file, mode: 'full' });
      expect(check(report, 'content-registry', 'calls').status).toBe('pass');
      const calls = check(report, 'licensing-engine', 'calls');
      expect(calls).toMatchObject({ status: 'fail', code: 'call-failed' });
      expect(calls.causedBy).toBeUndefined();
      expect(calls.message).toBe(
        '1 of 1 declared call failed: licensing-engine → content-registry (caller side): "identity-registry" answered at the address licensing-engine has for content-registry: its N3XUS_PEERS points content-registry at another service',
      );
    });

    it('a peer the fleet file declares but the running caller was not given: the caller side', async () => {
      const identity = await start(identityRegistry, 'identity-registry');
      const consent = await start(consentManager, 'consent-manager');
      const file = await writeFleetFile([
        ...infra,
        entry('identity-registry', identity, 'identity'),
        entry('consent-manager', consent, 'consent', { 'identity-registry': identity.url }),
      ]);
      const report = await verifyFleet({ fleetFile: file, mode: 'full' });
      expect(check(report, 'consent-manager', 'calls')).toMatchObject({
        status: 'fail',
        code: 'call-failed',
        message: '1 of 1 declared call failed: consent-manager → identity-registry (caller side): consent-manager does not declare identity-registry (not in its N3XUS_PEERS), though the fleet file gives it',
      });
    });
  });
});
