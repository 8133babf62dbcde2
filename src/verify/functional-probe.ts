/**
 * The functional check (issue 18): what a service does with its own data, through its own API, not what it says
 * about itself. A kit service with resources gets a record verify owns written, read back and compared, read again
 * (the kit caches reads by id in Redis), deleted, and confirmed gone; a record left by an interrupted run is removed
 * first. identity-registry and attestation-service get the same round trip on their real operation (register a DID
 * and resolve it; sign an attestation and verify it), the few others a probe of their real operation that leaves
 * nothing behind. Decisions and wording are in functional.ts; this file only asks.
 */
import { RESOURCES_PATH } from '../../services/_kit/src/kit-routes.ts';
import type { Ask } from './ask.ts';
import {
  buildRecord,
  describeAnswer,
  firstDifference,
  isLeftover,
  isLeftoverAttestation,
  isLeftoverDid,
  markerOf,
  pickResource,
  shown,
  verifyClaim,
  VERIFY_DID_CONTROLLER,
  VERIFY_SUBJECT,
  type DescribedResource,
  type FunctionalStep,
} from './functional.ts';
import type { HttpResponse } from '../http/client.ts';
import { failureCode, header, isFailure, type Answer } from './judge.ts';
import type { CheckCode, CheckResult, VerifyTarget } from './types.ts';

/** A step that did not go as expected: why, and the code the check fails with. */
class StepFailed extends Error {
  constructor(readonly step: FunctionalStep, message: string, readonly code: CheckCode) {
    super(message);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function json(answer: Answer): unknown {
  if (isFailure(answer)) return undefined;
  try {
    return JSON.parse(answer.body) as unknown;
  } catch {
    return undefined;
  }
}

const asRecord = (value: unknown): Record<string, unknown> | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);

/** Runs requests as named steps, timing each, and throws {@link StepFailed} for an answer with the wrong status. */
class Steps {
  readonly ms: Partial<Record<FunctionalStep, number>> = {};
  constructor(private readonly ask: Ask, private readonly base: string, private readonly headers: Record<string, string>) {}

  async send(step: FunctionalStep, method: 'GET' | 'POST' | 'DELETE', path: string, expected: readonly number[], body?: unknown): Promise<HttpResponse> {
    const answer = await this.ask(`${this.base}${path}`, {
      method,
      headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    this.ms[step] = round((this.ms[step] ?? 0) + answer.durationMs);
    if (isFailure(answer)) throw new StepFailed(step, `${step}: ${method} ${path}: ${answer.message}`, failureCode(answer.kind));
    if (!expected.includes(answer.status)) {
      throw new StepFailed(step, `${step}: ${method} ${path} ${describeAnswer(answer)}; expected ${expected[0]}`, 'functional-failed');
    }
    return answer;
  }

  fail(step: FunctionalStep, message: string): never {
    throw new StepFailed(step, `${step}: ${message}`, 'functional-failed');
  }
}

/** The outcome of a probe that went through: what it did, and measurements. */
interface Done {
  message: string;
  details?: Record<string, unknown>;
}

/**
 * What a round trip writes and reads on one service: where verify's own records are listed (to remove those an
 * interrupted run left), what it writes, where the record is read and removed, and how what was read is compared.
 */
interface RoundTrip {
  /** GET path listing the candidates for leftovers, newest first. */
  list: string;
  leftover: (item: unknown, now: number) => boolean;
  /** The id of a listed item, or of the write's answer. */
  idOf: (item: Record<string, unknown> | undefined) => string | undefined;
  write: { path: string; body: unknown };
  byId: (id: string) => string;
  /** Why what was read is not what was written (`gave title "x"; … was sent "y"`), or undefined. */
  difference: (read: unknown, id: string, written: Record<string, unknown>) => string | undefined;
  /** The service caches reads by id in Redis: read a second time, through the cache. */
  cached: boolean;
  /** More to check on the written record, between the reads and the delete (sign, then verify). */
  between?: (steps: Steps, written: Record<string, unknown>, id: string) => Promise<string>;
  /** `wrote a /v1/x record, read it back`, what the report says was done before the delete. */
  did: string;
  /** `deleted it`, the delete as the service names it. */
  deleted: string;
}

/**
 * Write, read and compare, read again, delete, confirm gone, on a service's own API. The record is deleted in a
 * `finally` once written, whatever failed after.
 */
async function roundTrip(steps: Steps, trip: RoundTrip): Promise<Done> {
  // Newest first: a run interrupted within the last hundred writes is found; nothing but verify's own is deleted, and
  // not a record of a run that may still be going (see LEFTOVER_MIN_AGE_MS).
  const list = await steps.send('list', 'GET', trip.list, [200]);
  const listed = asRecord(json(list));
  if (!Array.isArray(listed?.items)) steps.fail('list', `GET ${trip.list} answered 200 without an items list`);
  // Ages are taken on the service's clock (its Date header), which also stamped the records.
  const now = Date.parse(header(list.headers, 'date') ?? '') || Date.now();
  const leftovers = listed.items.filter((item) => trip.leftover(item, now)).flatMap((item) => trip.idOf(asRecord(item)) ?? []);
  for (const id of leftovers) await steps.send('sweep', 'DELETE', trip.byId(id), [204, 404]);

  const written = asRecord(json(await steps.send('write', 'POST', trip.write.path, [201], trip.write.body)));
  const id = trip.idOf(written);
  if (id === undefined) steps.fail('write', `POST ${trip.write.path} answered 201 without the record's id`);
  let deleted = false;
  try {
    const byId = trip.byId(id);
    const compare = (step: FunctionalStep, answer: Answer) => {
      const difference = trip.difference(json(answer), id, written!);
      if (difference) steps.fail(step, `GET ${byId} ${difference}`);
    };
    compare('compare', await steps.send('read', 'GET', byId, [200]));
    const again = trip.cached ? await steps.send('cache-read', 'GET', byId, [200]) : undefined;
    if (again) compare('cache-read', again);
    const between = trip.between ? `, ${await trip.between(steps, written!, id)}` : '';
    await steps.send('delete', 'DELETE', byId, [204]);
    deleted = true;
    const gone = await steps.send('gone', 'GET', byId, [200, 404]);
    if (gone.status === 200) steps.fail('gone', `GET ${byId} after DELETE answered 200 with the record; expected 404 (the delete did nothing)`);
    const cache = again ? header(again.headers, 'x-cache') : undefined;
    return {
      message: `${trip.did}${again ? ` twice${cache === undefined ? '' : ` (cache ${cache})`}` : ''}${between}, ${trip.deleted} and saw it gone${leftovers.length > 0 ? `; removed ${leftovers.length} left by an interrupted run` : ''}`,
      details: { resource: trip.write.path, ...(cache === undefined ? {} : { cache }), ...(leftovers.length > 0 ? { removedLeftovers: leftovers.length } : {}) },
    };
  } finally {
    // Best effort when a step failed before the delete: the record is verify's, and must not stay.
    if (!deleted) await steps.send('delete', 'DELETE', trip.byId(id), [204, 404]).catch(() => {});
  }
}

/** `gave title "x"; identity-registry was sent "y"`, the first field read back otherwise than it was sent. */
function differs(sent: Record<string, unknown>, read: unknown, service: string): string | undefined {
  const difference = firstDifference(sent, read);
  return difference && `gave ${difference.field} ${shown(difference.got)}; ${service} was sent ${shown(difference.sent)}`;
}

/** The kit's resource API, on the first resource with a field for the marker. */
function kitRoundTrip(resources: readonly DescribedResource[], marker: string, service: string): RoundTrip | undefined {
  const picked = pickResource(resources);
  if (picked === undefined) return undefined;
  const { path, schema } = picked.resource;
  const sent = buildRecord(schema, marker)!;
  return {
    list: `${path}?limit=100`,
    leftover: (item, now) => isLeftover(item, schema, marker, now),
    idOf: (item) => (typeof item?.id === 'string' ? item.id : undefined),
    write: { path, body: sent },
    byId: (id) => `${path}/${encodeURIComponent(id)}`,
    difference: (read, id) => differs({ ...sent, id }, read, service),
    cached: true,
    did: `wrote a ${path} record, read it back`,
    deleted: 'deleted it',
  };
}

/** identity-registry: register a DID, resolve it (its resolutions are cached), remove it. */
const didRoundTrip: RoundTrip = {
  list: `/v1/dids?controller=${encodeURIComponent(VERIFY_DID_CONTROLLER)}&limit=100`,
  leftover: isLeftoverDid,
  idOf: (item) => {
    const did = asRecord(item?.didDocument)?.id;
    return typeof did === 'string' ? did : undefined;
  },
  write: { path: '/v1/dids', body: { controller: VERIFY_DID_CONTROLLER } },
  byId: (did) => `/v1/dids/${encodeURIComponent(did)}`,
  difference: (read, did) => differs({ id: did, controller: VERIFY_DID_CONTROLLER, verificationMethod: [] }, asRecord(read)?.didDocument, 'identity-registry'),
  cached: true,
  did: 'registered a DID, resolved it',
  deleted: 'removed it',
};

/** attestation-service: sign an attestation, read it back, verify its signature (and a tampered copy's), withdraw it. */
function attestationRoundTrip(marker: string): RoundTrip {
  const claim = verifyClaim(marker);
  return {
    list: `/v1/attestations?subject=${encodeURIComponent(VERIFY_SUBJECT)}&limit=100`,
    leftover: (item, now) => isLeftoverAttestation(item, marker, now),
    idOf: (item) => (typeof item?.id === 'string' ? item.id : undefined),
    write: { path: '/v1/attestations', body: { subject: VERIFY_SUBJECT, claim } },
    byId: (id) => `/v1/attestations/${encodeURIComponent(id)}`,
    // As signed: the payload holds what was sent, and the signature is the one the write answered with.
    difference: (read, id, written) => differs({ id, payload: { ...asRecord(written.payload), id, subject: VERIFY_SUBJECT, claim }, signature: written.signature }, read, 'attestation-service'),
    cached: false,
    between: async (steps, written, id) => {
      const valid = asRecord(json(await steps.send('compare', 'POST', '/v1/verify', [200], { attestationId: id })));
      if (valid?.valid !== true) steps.fail('compare', `POST /v1/verify of the attestation it signed answered ${shown(valid)}; expected valid true`);
      const tampered = { payload: { ...asRecord(written.payload), claim: { verify: `${marker}x` } }, signature: written.signature };
      const forged = asRecord(json(await steps.send('compare', 'POST', '/v1/verify', [200], tampered)));
      if (forged?.valid !== false) steps.fail('compare', `POST /v1/verify of a tampered copy answered ${shown(forged)}; expected valid false`);
      return 'verified its signature (a tampered copy did not verify)';
    },
    did: 'signed an attestation, read it back',
    deleted: 'withdrew it',
  };
}

/** Services without kit resources whose real operation can be taken back: the round trip on that operation. */
const ROUND_TRIPS: Record<string, (marker: string) => RoundTrip> = {
  'identity-registry': () => didRoundTrip,
  'attestation-service': attestationRoundTrip,
};

/**
 * The other services without resources, each by its real operation. None of them can take back what it is given (no
 * DELETE, or a DELETE that only deactivates), and verify must leave every table as it found it, so each probe reads
 * through the same database path instead of writing: it still fails when the data routes do.
 */
const SPECIAL: Record<string, (steps: Steps, runId: string) => Promise<Done>> = {
  // Append-only: an event cannot be taken back. The read of a verify-owned topic goes through the events table.
  'event-bus': async (steps, runId) => {
    const path = `/v1/topics/n3xus-verify.${runId}/events?limit=1`;
    const body = asRecord(json(await steps.send('read', 'GET', path, [200])));
    if (!Array.isArray(body?.items)) steps.fail('read', `GET ${path} answered 200 without an items list`);
    return { message: `read-only (its events cannot be deleted): GET ${path} answered from its events table`, details: { readOnly: true } };
  },
  // Its DELETE only deactivates (the webhook row stays, for the delivery log): listing reads the webhooks table.
  'webhook-dispatcher': async (steps) => {
    const body = asRecord(json(await steps.send('read', 'GET', '/v1/webhooks?limit=1', [200])));
    if (!Array.isArray(body?.items)) steps.fail('read', 'GET /v1/webhooks?limit=1 answered 200 without an items list');
    return { message: 'read-only (a webhook is deactivated, never deleted): listed its webhooks', details: { readOnly: true } };
  },
  // Append-only hash chain: a record written there stays forever. Walking the chain reads every record.
  'audit-trail': async (steps) => {
    const chain = asRecord(json(await steps.send('read', 'GET', '/v1/verify-chain', [200])));
    if (chain?.valid !== true) steps.fail('compare', `GET /v1/verify-chain answered ${shown(chain)}; expected valid true`);
    return { message: `read-only (its hash chain is append-only): the chain of ${String(chain!.length)} records verifies`, details: { readOnly: true, chainLength: chain!.length } };
  },
  // The constitution is seeded by a migration: an empty one is a broken schema.
  'v-supercore': async (steps) => {
    const rules = asRecord(json(await steps.send('read', 'GET', '/v1/constitution', [200])))?.rules;
    if (!Array.isArray(rules) || rules.length === 0) steps.fail('compare', `GET /v1/constitution answered ${shown(rules)} as its rules; expected the seeded rules`);
    return { message: `read-only (an amendment cannot be withdrawn): its constitution has ${(rules as unknown[]).length} rules`, details: { readOnly: true } };
  },
  // Stores nothing: its routing table is all its own state (routing itself is the `route` check).
  'federation-gateway': async (steps) => {
    const routes = asRecord(json(await steps.send('read', 'GET', '/v1/routes', [200])))?.routes;
    if (!Array.isArray(routes)) steps.fail('read', `GET /v1/routes answered ${shown(routes)} as its routes; expected a list`);
    return { message: `stores no data: its routing table lists ${(routes as unknown[]).length} peers`, details: { readOnly: true } };
  },
};

/**
 * The functional check of one service. `runId` (16 hex digits) names this run in the marker of what it writes, so
 * that the next run can tell verify's leftovers from anything a user stored.
 */
export async function checkFunctional(ask: Ask, target: VerifyTarget, runId: string, headers: Record<string, string>): Promise<CheckResult> {
  const steps: Steps = new Steps(ask, target.url, headers);
  const took = () => Object.values(steps.ms).reduce((sum, ms) => sum + ms, 0);
  const marker = markerOf(runId);
  try {
    const described = asRecord(json(await steps.send('describe', 'GET', RESOURCES_PATH, [200])));
    if (!Array.isArray(described?.resources)) steps.fail('describe', `GET ${RESOURCES_PATH} answered 200 without a resources list`);
    const resources = described.resources.filter((r): r is DescribedResource => typeof asRecord(r)?.path === 'string' && asRecord(asRecord(r)?.schema) !== undefined);
    const trip = kitRoundTrip(resources, marker, target.name) ?? ROUND_TRIPS[target.name]?.(marker);
    const done = trip ? await roundTrip(steps, trip) : await SPECIAL[target.name]?.(steps, runId);
    if (done === undefined) {
      return { name: 'functional', status: 'not-run', required: false, code: 'dependency-failed', message: `not run: ${target.name} declares no resource verify can write and has no probe of its own`, durationMs: round(took()), details: { steps: steps.ms } };
    }
    return { name: 'functional', status: 'pass', required: true, message: `${done.message} in ${Math.round(took())} ms`, durationMs: round(took()), details: { ...done.details, steps: steps.ms } };
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    return { name: 'functional', status: 'fail', required: true, code: error.code, message: error.message, durationMs: round(took()), details: { step: error.step, steps: steps.ms } };
  }
}
