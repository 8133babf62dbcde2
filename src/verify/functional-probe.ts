/**
 * The functional check (issue 18): what a service does with its own data, through its own API, not what it says
 * about itself. A kit service with resources gets a record verify owns written, read back and compared, read again
 * (the kit caches reads by id in Redis), deleted, and confirmed gone; a record left by an interrupted run is removed
 * first. The few services without resources get a probe of their real operation that leaves nothing behind.
 * Decisions and wording are in functional.ts; this file only asks.
 */
import { randomBytes } from 'node:crypto';
import { RESOURCES_PATH } from '../../services/_kit/src/kit-routes.ts';
import type { Ask } from './ask.ts';
import { buildRecord, describeAnswer, firstDifference, isLeftover, markerOf, pickResource, shown, type DescribedResource, type FunctionalStep } from './functional.ts';
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
 * Write, read and compare, read again, delete, confirm gone: the kit's resource API end to end, on the first resource
 * with a field for the marker. The record is deleted in a `finally` once written, whatever failed after.
 */
async function resourceRoundTrip(steps: Steps, resources: readonly DescribedResource[], marker: string, service: string): Promise<Done | undefined> {
  const picked = pickResource(resources);
  if (picked === undefined) return undefined;
  const { resource } = picked;
  const path = resource.path;
  // Newest first: a run interrupted within the last hundred writes is found; nothing but verify's own is deleted, and
  // not a record of a run that may still be going (see LEFTOVER_MIN_AGE_MS).
  const list = await steps.send('list', 'GET', `${path}?limit=100`, [200]);
  const listed = asRecord(json(list));
  if (!Array.isArray(listed?.items)) steps.fail('list', `GET ${path}?limit=100 answered 200 without an items list`);
  // Ages are taken on the service's clock (its Date header), which also stamped createdAt.
  const now = Date.parse(header(list.headers, 'date') ?? '') || Date.now();
  const leftovers = listed.items.filter((item) => isLeftover(item, resource.schema, marker, now)).map((item) => String(asRecord(item)!.id));
  for (const id of leftovers) await steps.send('sweep', 'DELETE', `${path}/${encodeURIComponent(id)}`, [204, 404]);

  const sent = buildRecord(resource.schema, marker)!;
  const created = asRecord(json(await steps.send('write', 'POST', path, [201], sent)));
  const id = typeof created?.id === 'string' ? created.id : undefined;
  if (id === undefined) steps.fail('write', `POST ${path} answered 201 without the record's id`);
  let deleted = false;
  try {
    const byId = `${path}/${encodeURIComponent(id)}`;
    const expected = { ...sent, id };
    const compare = (step: FunctionalStep, answer: Answer) => {
      const difference = firstDifference(expected, json(answer));
      if (difference) steps.fail(step, `GET ${byId} gave ${difference.field} ${shown(difference.got)}; ${service} was sent ${shown(difference.sent)}`);
    };
    compare('compare', await steps.send('read', 'GET', byId, [200]));
    const again = await steps.send('cache-read', 'GET', byId, [200]);
    compare('cache-read', again);
    await steps.send('delete', 'DELETE', byId, [204]);
    deleted = true;
    const gone = await steps.send('gone', 'GET', byId, [200, 404]);
    if (gone.status === 200) steps.fail('gone', `GET ${byId} after DELETE answered 200 with the record; expected 404 (the delete did nothing)`);
    const cache = header(again.headers, 'x-cache');
    return {
      message: `wrote a ${path} record, read it back twice${cache === undefined ? '' : ` (cache ${cache})`}, deleted it and saw it gone${leftovers.length > 0 ? `; removed ${leftovers.length} left by an interrupted run` : ''}`,
      details: { resource: path, ...(cache === undefined ? {} : { cache }), ...(leftovers.length > 0 ? { removedLeftovers: leftovers.length } : {}) },
    };
  } finally {
    // Best effort when a step failed before the delete: the record is verify's, and must not stay.
    if (!deleted) await steps.send('delete', 'DELETE', `${path}/${encodeURIComponent(id)}`, [204, 404]).catch(() => {});
  }
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/**
 * Services without resources, each by its real operation. None of them can take back what it is given (no DELETE,
 * or a DELETE that only deactivates), and verify must leave every table as it found it, so each probe reads through
 * the same database path instead of writing: it still fails when the data routes do.
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
  // No DID can be removed: resolving one that cannot exist must be the registry's own 404, from its table.
  'identity-registry': async (steps) => {
    const did = `did:n3xus:${Array.from(randomBytes(22), (b) => BASE58[b % 58]).join('')}`;
    const path = `/v1/dids/${encodeURIComponent(did)}`;
    const answer = await steps.send('read', 'GET', path, [404]);
    if (asRecord(asRecord(json(answer))?.error)?.code !== 'NOT_FOUND') steps.fail('read', `GET ${path} ${describeAnswer(answer)}; expected 404 NOT_FOUND`);
    return { message: 'read-only (a DID cannot be removed): resolving an unregistered DID answered 404 NOT_FOUND', details: { readOnly: true } };
  },
  // Signing stores an attestation that cannot be removed; verifying a forged signature reads the key from its table.
  'attestation-service': async (steps) => {
    const key = asRecord(json(await steps.send('read', 'GET', '/v1/keys/current', [200])));
    if (typeof key?.keyId !== 'string') steps.fail('read', 'GET /v1/keys/current answered 200 without a keyId');
    const forged = { payload: { keyId: key!.keyId, subject: 'n3xus-verify' }, signature: 'A'.repeat(86) };
    const verdict = asRecord(json(await steps.send('compare', 'POST', '/v1/verify', [200], forged)));
    if (verdict?.valid !== false || verdict.reason !== 'signature does not match the payload') {
      steps.fail('compare', `POST /v1/verify of a forged signature answered ${shown(verdict)}; expected valid false, the signature not matching`);
    }
    return { message: 'read-only (attestations cannot be removed): its key is current and a forged signature does not verify', details: { readOnly: true } };
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
    const done = (await resourceRoundTrip(steps, resources, marker, target.name)) ?? (await SPECIAL[target.name]?.(steps, runId));
    if (done === undefined) {
      return { name: 'functional', status: 'not-run', required: false, code: 'dependency-failed', message: `not run: ${target.name} declares no resource verify can write and has no probe of its own`, durationMs: round(took()), details: { steps: steps.ms } };
    }
    return { name: 'functional', status: 'pass', required: true, message: `${done.message} in ${Math.round(took())} ms`, durationMs: round(took()), details: { ...done.details, steps: steps.ms } };
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    return { name: 'functional', status: 'fail', required: true, code: error.code, message: error.message, durationMs: round(took()), details: { step: error.step, steps: steps.ms } };
  }
}
