/**
 * verify's functional check (issue 18) against real servers: real kit services on the test run's PostgreSQL and
 * Redis, and real kit services behind a proxy that lies (test/fixtures/lying-service), each wrong in one way while its
 * /ready reports PostgreSQL and Redis up.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService, ServiceDefinition } from '@n3xus/kit';
import attestationService from '../../services/attestation-service/app.ts';
import auditTrail from '../../services/audit-trail/app.ts';
import eventBus from '../../services/event-bus/app.ts';
import featureFlags from '../../services/feature-flags/app.ts';
import federationGateway from '../../services/federation-gateway/app.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import transcoder from '../../services/v-transcoder/app.ts';
import supercore from '../../services/v-supercore/app.ts';
import webhookDispatcher from '../../services/webhook-dispatcher/app.ts';
import { describeResources, schemaName } from '../../services/_kit/src/index.ts';
import { buildRecord, LEFTOVER_MIN_AGE_MS, markerOf, verifyClaim, VERIFY_DID_CONTROLLER, VERIFY_SUBJECT } from '../../src/verify/functional.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import { verifyFleet as verifyWithOptions, type VerifyOptions } from '../../src/verify/verify.ts';
import type { CheckResult, VerifyReport } from '../../src/verify/types.ts';
import { startLyingProxy, type Lie } from '../fixtures/lying-service/lying.ts';
import { freePort } from '../support/local-servers.ts';
import { freshDatabase, missingServers, postgresUrl, redisUrl } from '../support/servers.ts';
import { lawful, startTestService } from '../support/service.ts';
import { portOf, writeFleetFile, type FleetEntry } from './support.ts';

const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cache-'));
const verifyFleet = (options: VerifyOptions) => verifyWithOptions({ cacheDir, docker: 'off', ...options });
const functional = (report: VerifyReport, service: string): CheckResult => {
  const found = report.services.find((s) => s.name === service)?.checks.find((c) => c.name === 'functional');
  if (!found) throw new Error(`no functional check for ${service} in the report`);
  return found;
};
const json = { ...lawful, 'content-type': 'application/json' };

/** The healthy fleet: two services with resources, and every service whose functional probe is its own. */
const HEALTHY: Array<[string, ServiceDefinition, string]> = [
  ['feature-flags', featureFlags, 'flags'],
  ['v-transcoder', transcoder, 'media'],
  ['identity-registry', identityRegistry, 'identity'],
  ['attestation-service', attestationService, 'attestation'],
  ['audit-trail', auditTrail, 'compliance'],
  ['v-supercore', supercore, 'governance'],
  ['event-bus', eventBus, 'infrastructure'],
  ['webhook-dispatcher', webhookDispatcher, 'integration'],
  ['federation-gateway', federationGateway, 'federation'],
];
/** The tables the full mode's event-delivery flow writes to, which cannot take it back (see inter-service.ts). */
const EVENT_DELIVERY_TABLES = ['event_bus.events', 'webhook_dispatcher.webhooks', 'webhook_dispatcher.deliveries', 'webhook_dispatcher.delivery_attempts', 'audit_trail.records'];

describe.skipIf(missingServers !== '')(`the functional check against real servers ${missingServers}`, () => {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  const svc: Record<string, RunningService> = {};
  let databaseUrl: string;
  let infra: FleetEntry[];
  let healthyFile: string;
  let full: VerifyReport;

  /** Rows in every table of the healthy services' schemas, by `schema.table`. */
  const rowCounts = async (): Promise<Record<string, number>> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const schemas = HEALTHY.map(([name]) => schemaName(name));
      const { rows } = await client.query<{ table_schema: string; table_name: string }>(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        [schemas],
      );
      const counts: Record<string, number> = {};
      for (const { table_schema, table_name } of rows) {
        counts[`${table_schema}.${table_name}`] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table_schema}"."${table_name}"`)).rows[0]!.n);
      }
      return counts;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    for (const [name, definition] of HEALTHY) {
      const peers: Record<string, string> = name === 'federation-gateway' ? { 'identity-registry': svc['identity-registry']!.url } : name === 'webhook-dispatcher' ? { 'event-bus': svc['event-bus']!.url, 'audit-trail': svc['audit-trail']!.url } : {};
      ({ svc: svc[name] } = await startTestService(definition, { service: name, databaseUrl, redisUrl, peers }));
      running.push(svc[name]);
    }
    await Promise.all(running.map((s) => s.ready));
    infra = [
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
    ];
    const peersEnv = (peers: Record<string, string>) => ({ N3XUS_PEERS: Object.entries(peers).map(([k, v]) => `${k}=${v}`).join(',') });
    healthyFile = await writeFleetFile([
      ...infra,
      ...HEALTHY.map(([name, , category]): FleetEntry => ({
        name,
        stage: 'domain',
        group: 'domain',
        category,
        port: svc[name]!.port,
        ...(name === 'federation-gateway' ? { environment: peersEnv({ 'identity-registry': svc['identity-registry']!.url }) } : {}),
        // Where the event-delivery flow tells the dispatcher audit-trail is (see internalUrl).
        ...(name === 'webhook-dispatcher' ? { environment: peersEnv({ 'event-bus': svc['event-bus']!.url, 'audit-trail': svc['audit-trail']!.url }) } : {}),
      })),
    ]);
  });

  afterAll(async () => {
    await Promise.all([...closers.map((close) => close()), ...running.map((s) => s.close())]);
  });

  describe('a healthy fleet', () => {
    let before: Record<string, number>;
    let afterFull: Record<string, number>;
    beforeAll(async () => {
      before = await rowCounts();
      full = await verifyFleet({ fleetFile: healthyFile, mode: 'full', threshold: 100 });
      afterFull = await rowCounts();
    });

    it('verifies at 100 % in full mode with every functional check passed: no false alarm', () => {
      const notPassed = full.services.flatMap((s) => s.checks.filter((c) => c.status !== 'pass').map((c) => `${s.name} ${c.name}: ${c.message}`));
      expect(notPassed).toEqual([]);
      expect(full).toMatchObject({ operationalPercent: 100, passed: true, functional: { ran: true } });
      expect(full.services.filter((s) => s.kind === 'service').map((s) => functional(full, s.name).status)).toEqual(HEALTHY.map(() => 'pass'));
    });

    it('writes, reads back twice (the second from the Redis cache), deletes and sees gone, timing each step', () => {
      const check = functional(full, 'feature-flags');
      expect(check.message).toMatch(/^wrote a \/v1\/flags record, read it back twice \(cache hit\), deleted it and saw it gone in \d+ ms$/);
      expect(check.details).toMatchObject({ resource: '/v1/flags', cache: 'hit' });
      const steps = check.details!.steps as Record<string, number>;
      expect(Object.keys(steps)).toEqual(['describe', 'list', 'write', 'read', 'cache-read', 'delete', 'gone']);
      for (const ms of Object.values(steps)) expect(ms).toBeGreaterThanOrEqual(0);
      expect(functional(full, 'v-transcoder').details).toMatchObject({ resource: '/v1/profiles' });
    });

    it('registers a DID and resolves it twice (cache hit), then removes it and sees it gone', () => {
      const check = functional(full, 'identity-registry');
      expect(check.message).toMatch(/^registered a DID, resolved it twice \(cache hit\), removed it and saw it gone in \d+ ms$/);
      expect(Object.keys(check.details!.steps as object)).toEqual(['describe', 'list', 'write', 'read', 'cache-read', 'delete', 'gone']);
    });

    it('signs an attestation, reads it back, verifies it (and not a tampered copy), then withdraws it', () => {
      const check = functional(full, 'attestation-service');
      expect(check.message).toMatch(/^signed an attestation, read it back, verified its signature \(a tampered copy did not verify\), withdrew it and saw it gone in \d+ ms$/);
      expect(Object.keys(check.details!.steps as object)).toEqual(['describe', 'list', 'write', 'read', 'compare', 'delete', 'gone']);
    });

    it('probes each other service without resources by its own operation, read-only, since what it is given it cannot take back', () => {
      expect(functional(full, 'audit-trail').message).toMatch(/^read-only \(its hash chain is append-only\): the chain of \d+ records verifies/);
      expect(functional(full, 'v-supercore').message).toMatch(/its constitution has \d+ rules/);
      expect(functional(full, 'event-bus').details).toMatchObject({ readOnly: true });
      expect(functional(full, 'webhook-dispatcher').details).toMatchObject({ readOnly: true });
      expect(functional(full, 'federation-gateway').message).toMatch(/^stores no data: its routing table lists 1 peers/);
    });

    it('leaves every table as it found it; only the event-delivery flow of --full writes, to its own tables', () => {
      const unchanged = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([table]) => !EVENT_DELIVERY_TABLES.includes(table)));
      expect(Object.keys(before)).toContain('feature_flags.flags');
      expect(unchanged(afterFull)).toEqual(unchanged(before));
    });

    it('a sample of every service runs the functional checks, and leaves every table exactly as it was', async () => {
      const counts = await rowCounts();
      const sample = await verifyFleet({ fleetFile: healthyFile, mode: 'sample', sampleSize: HEALTHY.length });
      expect(sample.passed).toBe(true);
      expect(sample.services.filter((s) => s.kind === 'service').map((s) => functional(sample, s.name).status)).toEqual(HEALTHY.map(() => 'pass'));
      expect(await rowCounts()).toEqual(counts);
    });

    it("removes a record an interrupted run left, and touches no user's record that resembles one, nor a running verify's", async () => {
      const flags = `${svc['feature-flags']!.url}/v1/flags`;
      const schema = describeResources(featureFlags.resources!)[0]!.schema;
      const leftover = buildRecord(schema, markerOf('00000000deadbeef'))!;
      const post = async (body: unknown) => ((await (await fetch(flags, { method: 'POST', headers: json, body: JSON.stringify(body) })).json()) as { id: string }).id;
      const leftoverId = await post(leftover);
      // Another verify's record, written a moment ago: that run may still be reading it back.
      const inFlightId = await post(buildRecord(schema, markerOf('00000000cafef00d'))!);
      const users = [await post({ ...leftover, rolloutPercent: 8 }), await post({ ...leftover, key: 'n3xus-verify: my note' }), await post({ ...leftover, description: 'mine' })];
      // The interrupted run's record (and the look-alikes) were written longer ago than any run keeps its record.
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`UPDATE feature_flags.flags SET created_at = now() - make_interval(secs => $2) WHERE id = ANY($1)`, [[leftoverId, ...users], LEFTOVER_MIN_AGE_MS / 1000 + 60]);
      } finally {
        await client.end();
      }
      try {
        const report = await verifyFleet({ fleetFile: healthyFile, mode: 'sample', sampleSize: HEALTHY.length });
        const check = functional(report, 'feature-flags');
        expect(check).toMatchObject({ status: 'pass', details: { removedLeftovers: 1 } });
        expect(check.message).toContain('removed 1 left by an interrupted run');
        expect((await fetch(`${flags}/${leftoverId}`, { headers: lawful })).status).toBe(404);
        for (const id of [inFlightId, ...users]) expect((await fetch(`${flags}/${id}`, { headers: lawful })).status).toBe(200);
      } finally {
        for (const id of [leftoverId, inFlightId, ...users]) await fetch(`${flags}/${id}`, { method: 'DELETE', headers: lawful });
      }
    });

    it("removes a DID and an attestation an interrupted run left, and no user's nor a running verify's", async () => {
      const identity = svc['identity-registry']!.url;
      const attest = svc['attestation-service']!.url;
      const post = async (url: string, body: unknown) => (await (await fetch(url, { method: 'POST', headers: json, body: JSON.stringify(body) })).json()) as { id?: string; didDocument?: { id: string } };
      const did = async (body: unknown) => (await post(`${identity}/v1/dids`, body)).didDocument!.id;
      const attestation = async (body: unknown) => (await post(`${attest}/v1/attestations`, body)).id!;
      const leftoverDid = await did({ controller: VERIFY_DID_CONTROLLER });
      const inFlightDid = await did({ controller: VERIFY_DID_CONTROLLER });
      const userDids = [await did({ controller: 'did:web:example.com' }), await did({ controller: VERIFY_DID_CONTROLLER, publicKeyMultibase: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' })];
      const leftoverAttestation = await attestation({ subject: VERIFY_SUBJECT, claim: verifyClaim(markerOf('00000000deadbeef')) });
      const inFlightAttestation = await attestation({ subject: VERIFY_SUBJECT, claim: verifyClaim(markerOf('00000000cafef00d')) });
      const userAttestations = [await attestation({ subject: VERIFY_SUBJECT, claim: { ...verifyClaim(markerOf('00000000deadbeef')), mine: true } }), await attestation({ subject: 'tx-1', claim: verifyClaim(markerOf('00000000deadbeef')) })];
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const age = LEFTOVER_MIN_AGE_MS / 1000 + 60;
        await client.query(`UPDATE identity_registry.dids SET created_at = now() - make_interval(secs => $2) WHERE did = ANY($1)`, [[leftoverDid, ...userDids], age]);
        await client.query(`UPDATE attestation_service.attestations SET created_at = now() - make_interval(secs => $2) WHERE id = ANY($1)`, [[leftoverAttestation, ...userAttestations], age]);
      } finally {
        await client.end();
      }
      try {
        const report = await verifyFleet({ fleetFile: healthyFile, mode: 'sample', sampleSize: HEALTHY.length });
        for (const service of ['identity-registry', 'attestation-service']) {
          expect(functional(report, service), service).toMatchObject({ status: 'pass', details: { removedLeftovers: 1 } });
        }
        const status = async (url: string) => (await fetch(url, { headers: lawful })).status;
        expect(await status(`${identity}/v1/dids/${leftoverDid}`)).toBe(404);
        for (const id of [inFlightDid, ...userDids]) expect(await status(`${identity}/v1/dids/${id}`), id).toBe(200);
        expect(await status(`${attest}/v1/attestations/${leftoverAttestation}`)).toBe(404);
        for (const id of [inFlightAttestation, ...userAttestations]) expect(await status(`${attest}/v1/attestations/${id}`), id).toBe(200);
      } finally {
        for (const id of [leftoverDid, inFlightDid, ...userDids]) await fetch(`${identity}/v1/dids/${id}`, { method: 'DELETE', headers: lawful });
        for (const id of [leftoverAttestation, inFlightAttestation, ...userAttestations]) await fetch(`${attest}/v1/attestations/${id}`, { method: 'DELETE', headers: lawful });
      }
    });

    it('--no-functional writes nothing, and the report and the summary say the check was off', async () => {
      const counts = await rowCounts();
      const report = await verifyFleet({ fleetFile: healthyFile, mode: 'full', functional: false });
      expect(report.functional).toEqual({ ran: false, reason: '--no-functional' });
      expect(report.services.flatMap((s) => s.checks.map((c) => c.name))).not.toContain('functional');
      expect(renderSummary(report)).toContain('functional checks: not run (--no-functional); nothing was written to the services');
      const unchanged = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([table]) => !EVENT_DELIVERY_TABLES.includes(table)));
      expect(unchanged(await rowCounts())).toEqual(unchanged(counts));
    });
  });

  describe('services whose /ready says all is well while their data routes are wrong in one way', () => {
    let report: VerifyReport;
    const LIARS: Lie[] = ['writes-fail', 'reads-lie', 'deletes-ignored'];
    beforeAll(async () => {
      const entries: FleetEntry[] = [...infra];
      for (const lie of LIARS) {
        // The kit service is named after its entry: /health must name it, and it gets a schema of its own.
        const { svc: real } = await startTestService(featureFlags, { service: lie, databaseUrl, redisUrl });
        running.push(real);
        await real.ready;
        const proxy = await startLyingProxy({ upstream: real.url, lie });
        closers.push(proxy.close);
        entries.push({ name: lie, stage: 'domain', group: 'domain', category: lie, port: proxy.port });
      }
      report = await verifyFleet({ fleetFile: await writeFleetFile(entries, 'functional-liars'), mode: 'full' });
    });

    it('each passes health, the law and readiness: only the functional check finds it out', () => {
      for (const lie of LIARS) {
        const checks = report.services.find((s) => s.name === lie)!.checks;
        expect(checks.map((c) => `${c.name}:${c.status}`), lie).toEqual(['health:pass', 'law:pass', 'readiness:pass', 'functional:fail']);
        expect(report.services.find((s) => s.name === lie)!.operational).toBe(false);
      }
    });

    it('writes that fail are named for the write step, with the status and the error code of the body', () => {
      expect(functional(report, 'writes-fail')).toMatchObject({
        code: 'functional-failed',
        message: 'write: POST /v1/flags answered 503 NOT_READY: The service schema is not migrated yet; try again shortly; expected 201',
        details: { step: 'write' },
      });
    });

    it('reads that return something else are named for the comparison, with the field that differs', () => {
      const check = functional(report, 'reads-lie');
      expect(check).toMatchObject({ code: 'functional-failed', details: { step: 'compare' } });
      expect(check.message).toMatch(/^compare: GET \/v1\/flags\/[0-9a-f-]{36} gave key "n3xus-verify:[0-9a-f]{16}-changed"; reads-lie was sent "n3xus-verify:[0-9a-f]{16}"$/);
    });

    it('deletes that silently do nothing are named for the read after the delete', () => {
      const check = functional(report, 'deletes-ignored');
      expect(check).toMatchObject({ code: 'functional-failed', details: { step: 'gone' } });
      expect(check.message).toMatch(/^gone: GET \/v1\/flags\/[0-9a-f-]{36} after DELETE answered 200 with the record; expected 404 \(the delete did nothing\)$/);
    });

    it('a failed read still deletes the record verify wrote', async () => {
      const listed = (await (await fetch(`${report.services.find((s) => s.name === 'reads-lie')!.url}/v1/flags?limit=100`, { headers: lawful })).json()) as { items: unknown[] };
      expect(listed.items).toEqual([]);
    });
  });

  it('PostgreSQL down is the root cause of the failed functional check too, grouped with readiness', async () => {
    const closed = await freePort();
    const { svc: dbDown } = await startTestService(featureFlags, { service: 'db-down', databaseUrl: `postgres://n3xus:n3xus@127.0.0.1:${closed}/n3xus`, redisUrl });
    running.push(dbDown);
    const file = await writeFleetFile([{ ...infra[0]!, port: closed }, infra[1]!, { name: 'db-down', stage: 'domain', group: 'domain', category: 'c', port: dbDown.port }]);
    const report = await verifyFleet({ fleetFile: file, mode: 'full', timeoutMs: 800 });
    const check = functional(report, 'db-down');
    expect(check).toMatchObject({ status: 'fail', code: 'functional-failed', causedBy: 'postgres', details: { step: 'list' } });
    expect(check.message).toMatch(/^list: GET \/v1\/flags\?limit=100 answered 503 NOT_READY: /);
    expect(renderSummary(report)).toContain('postgres failed: 1 service fails because of it (db-down)');
  });

  it('a service that did not answer its health check is not functionally checked', async () => {
    const closed = await freePort();
    const file = await writeFleetFile([...infra, { name: 'stopped', stage: 'domain', group: 'domain', category: 'c', port: closed }]);
    const report = await verifyFleet({ fleetFile: file, mode: 'full', timeoutMs: 800 });
    expect(functional(report, 'stopped')).toMatchObject({ status: 'not-run', message: 'not run: stopped did not answer GET /health' });
  });
});
