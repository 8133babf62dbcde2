/**
 * The functional check's decisions, pure: which resource of a service to exercise, a valid record for it built from
 * the JSON Schema the service publishes (GET /_n3xus/resources), whether what was read back is what was written,
 * which records a run of verify left behind, and how a failed step is worded. The requests are in
 * functional-probe.ts.
 */
import type { Answer } from './judge.ts';

/** Every record verify writes starts its marker field with this; the run id follows. */
export const MARKER_PREFIX = 'n3xus-verify:';
/** A marker exactly as verify writes it: the prefix and a 16-hex-digit run id, nothing else. */
const MARKER = /^n3xus-verify:[0-9a-f]{16}$/;
/** Length of a marker: a field that cannot hold it cannot carry verify's ownership. */
export const MARKER_LENGTH = MARKER_PREFIX.length + 16;

/** The marker of one verification run (`runId`: 16 hex digits). */
export function markerOf(runId: string): string {
  if (!/^[0-9a-f]{16}$/.test(runId)) throw new Error(`A run id is 16 hex digits, not ${JSON.stringify(runId)}.`);
  return `${MARKER_PREFIX}${runId}`;
}

/** The steps of the check, in order; a failure names the one that failed. */
export type FunctionalStep = 'describe' | 'list' | 'sweep' | 'write' | 'read' | 'compare' | 'cache-read' | 'delete' | 'gone';

export type JsonSchema = Record<string, unknown>;

/** One resource as the kit describes it (services/_kit/src/resources.ts describeResources). */
export interface DescribedResource {
  name: string;
  path: string;
  schema: JsonSchema;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function properties(schema: JsonSchema): Array<[string, JsonSchema]> {
  return isRecord(schema.properties) ? Object.entries(schema.properties).filter((e): e is [string, JsonSchema] => isRecord(e[1])) : [];
}

/**
 * The field that carries verify's marker: the first top-level property that takes free text (no enum, format or
 * pattern) long enough for the marker. Derived from the schema alone, so the next run finds the same field.
 */
export function markerField(schema: JsonSchema): string | undefined {
  for (const [name, field] of properties(schema)) {
    if (field.type !== 'string' || 'enum' in field || 'const' in field || 'format' in field || 'pattern' in field) continue;
    if ((num(field.maxLength) ?? Infinity) >= MARKER_LENGTH && (num(field.minLength) ?? 0) <= MARKER_LENGTH) return name;
  }
  return undefined;
}

/** The resource to exercise: the first that has a field for the marker and a record that can be built for it. */
export function pickResource(resources: readonly DescribedResource[]): { resource: DescribedResource; field: string } | undefined {
  for (const resource of resources) {
    const field = markerField(resource.schema);
    if (field !== undefined && buildRecord(resource.schema, MARKER_PREFIX + '0'.repeat(16)) !== undefined) return { resource, field };
  }
  return undefined;
}

const TEXT = 'n3xus verify';
/** Fixed, so that a record is a pure function of its schema and marker (see isLeftover). */
const DATE_TIME = '2026-01-01T00:00:00.000Z';
const FORMATS: Record<string, string> = {
  'date-time': DATE_TIME,
  date: '2026-01-01',
  time: '00:00:00Z',
  email: 'n3xus-verify@example.com',
  uri: 'https://example.com/n3xus-verify',
  url: 'https://example.com/n3xus-verify',
  uuid: '00000000-0000-4000-8000-000000000000',
};

type Built = { value: unknown } | undefined;

function matches(pattern: unknown, value: string): boolean {
  if (typeof pattern !== 'string') return true;
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return false;
  }
}

function stringValue(schema: JsonSchema): Built {
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  if (typeof schema.format === 'string' && format === undefined) return undefined;
  const min = num(schema.minLength) ?? 0;
  const max = num(schema.maxLength) ?? Infinity;
  const value = format ?? TEXT.padEnd(min, '.').slice(0, max);
  return value.length >= min && value.length <= max && matches(schema.pattern, value) ? { value } : undefined;
}

function numberValue(schema: JsonSchema, integer: boolean): Built {
  const exclusiveMin = num(schema.exclusiveMinimum);
  const exclusiveMax = num(schema.exclusiveMaximum);
  const step = integer ? 1 : 0.5;
  const lo = Math.max(num(schema.minimum) ?? -Infinity, exclusiveMin === undefined ? -Infinity : integer ? Math.floor(exclusiveMin) + 1 : exclusiveMin + step / 1024);
  const hi = Math.min(num(schema.maximum) ?? Infinity, exclusiveMax === undefined ? Infinity : integer ? Math.ceil(exclusiveMax) - 1 : exclusiveMax - step / 1024);
  const wanted = integer ? 7 : 7.5;
  const value = Math.min(Math.max(wanted, integer ? Math.ceil(lo) : lo), integer ? Math.floor(hi) : hi);
  return value >= lo && value <= hi ? { value } : undefined;
}

function valueFor(schema: JsonSchema, depth: number): Built {
  if (depth > 8) return undefined;
  if ('const' in schema) return { value: schema.const };
  if (Array.isArray(schema.enum)) return schema.enum.length > 0 ? { value: schema.enum[0] } : undefined;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (!Array.isArray(options)) continue;
    for (const option of options) {
      const built = isRecord(option) ? valueFor(option, depth + 1) : undefined;
      if (built) return built;
    }
    return undefined;
  }
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== 'null') : [schema.type];
  const type = types[0];
  switch (type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
    case 'number':
      return numberValue(schema, type === 'integer');
    case 'boolean':
      return { value: true };
    case 'null':
      return { value: null };
    case 'array': {
      const min = num(schema.minItems) ?? 0;
      const count = Math.min(Math.max(min, 1), num(schema.maxItems) ?? Infinity);
      if (count === 0) return { value: [] };
      const item = isRecord(schema.items) ? valueFor(schema.items, depth + 1) : { value: TEXT };
      // Equal items would break uniqueItems; one item is always unique.
      if (!item || (count > 1 && schema.uniqueItems === true)) return undefined;
      return { value: Array.from({ length: count }, () => item.value) };
    }
    case 'object':
      return objectValue(schema, depth);
    case undefined:
      // No constraint at all (z.json(), z.unknown()): any JSON value is valid.
      return Object.keys(schema).every((k) => k === '$schema' || k === 'description' || k === 'title') ? { value: TEXT } : undefined;
    default:
      return undefined;
  }
}

function objectValue(schema: JsonSchema, depth: number): Built {
  const out: Record<string, unknown> = {};
  // Optional fields too: the round trip then covers every column of the record, not only the required ones.
  for (const [name, field] of properties(schema)) {
    const built = valueFor(field, depth + 1);
    if (!built) return undefined;
    out[name] = built.value;
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  return required.every((name) => typeof name === 'string' && name in out) ? { value: out } : undefined;
}

/**
 * A valid record for a resource's JSON Schema, every field filled (optional ones included), its marker field set to
 * `marker`; undefined when the schema asks for something this cannot build (then no resource is exercised).
 */
export function buildRecord(schema: JsonSchema, marker: string): Record<string, unknown> | undefined {
  const built = objectValue(schema, 0);
  const field = markerField(schema);
  if (!built || field === undefined || !isRecord(built.value)) return undefined;
  return { ...built.value, [field]: marker };
}

/** JSON equality: the same values, objects compared key by key whatever their order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

/** The first field of `sent` that `got` does not hold as sent, or undefined when all are there (extra fields are the kit's own). */
export function firstDifference(sent: Readonly<Record<string, unknown>>, got: unknown): { field: string; sent: unknown; got: unknown } | undefined {
  if (!isRecord(got)) return { field: '(the record)', sent, got };
  for (const [field, value] of Object.entries(sent)) {
    if (!sameJson(value, got[field])) return { field, sent: value, got: got[field] };
  }
  return undefined;
}

/**
 * How old another run's record must be before it counts as left behind. A run keeps its record for well under a
 * second (write, read, read again, delete); a younger one may belong to a verify running at the same time, whose
 * read would then fail on a healthy service.
 */
export const LEFTOVER_MIN_AGE_MS = 10 * 60_000;

/**
 * True when `record` is one that a run of verify wrote and did not remove (interrupted): its marker field holds
 * exactly a marker and every other field is exactly what verify writes for that marker, and it was created at least
 * {@link LEFTOVER_MIN_AGE_MS} before `now` (the service's own clock, so that no clock skew counts). A user's record
 * that merely mentions n3xus-verify, or carries a marker with other content, is not verify's and is never touched.
 */
export function isLeftover(record: unknown, schema: JsonSchema, ownMarker: string, now: number): boolean {
  const field = markerField(schema);
  if (field === undefined || !isRecord(record)) return false;
  const marker = record[field];
  if (typeof marker !== 'string' || !MARKER.test(marker) || marker === ownMarker) return false;
  if (!oldEnough(record.createdAt, now)) return false;
  const expected = buildRecord(schema, marker);
  return expected !== undefined && firstDifference(expected, record) === undefined && Object.keys(record).every((k) => k in expected || k === 'id' || k === 'createdAt' || k === 'updatedAt');
}

/** Created at least {@link LEFTOVER_MIN_AGE_MS} before `now`, by a timestamp the service wrote. */
const oldEnough = (created: unknown, now: number) => typeof created === 'string' && now - Date.parse(created) >= LEFTOVER_MIN_AGE_MS;

/**
 * The controller of every DID verify registers on identity-registry: a did:web under `.invalid`, a name no real
 * site can hold (RFC 2606), so that no user's DID has it by accident.
 */
export const VERIFY_DID_CONTROLLER = 'did:web:n3xus-verify.invalid';

/**
 * True when a listed DID resolution is one that a run of verify registered and did not remove: controlled by
 * {@link VERIFY_DID_CONTROLLER}, with no key (verify registers none), created long enough ago (see isLeftover).
 */
export function isLeftoverDid(resolution: unknown, now: number): boolean {
  if (!isRecord(resolution) || !isRecord(resolution.didDocument) || !isRecord(resolution.didDocumentMetadata)) return false;
  const { controller, verificationMethod } = resolution.didDocument;
  return controller === VERIFY_DID_CONTROLLER && Array.isArray(verificationMethod) && verificationMethod.length === 0 && oldEnough(resolution.didDocumentMetadata.created, now);
}

/** The subject of every attestation verify has signed on attestation-service. */
export const VERIFY_SUBJECT = 'n3xus-verify';

/** The claim of the attestation verify has signed in run `marker`. */
export const verifyClaim = (marker: string) => ({ verify: marker });

/**
 * True when a listed attestation is one that a run of verify had signed and did not withdraw: its subject is
 * {@link VERIFY_SUBJECT}, its claim exactly {@link verifyClaim} of another run's marker, created long enough ago.
 */
export function isLeftoverAttestation(attestation: unknown, ownMarker: string, now: number): boolean {
  if (!isRecord(attestation) || !isRecord(attestation.payload)) return false;
  const { subject, claim } = attestation.payload;
  if (subject !== VERIFY_SUBJECT || !isRecord(claim) || Object.keys(claim).length !== 1) return false;
  const marker = claim.verify;
  return typeof marker === 'string' && MARKER.test(marker) && marker !== ownMarker && oldEnough(attestation.createdAt, now);
}

/** The `{error: {code, message}}` of a kit error body, when the answer has one. */
function errorOf(body: string): { code?: string; message?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    const error = isRecord(parsed) ? parsed.error : undefined;
    if (!isRecord(error)) return {};
    return { ...(typeof error.code === 'string' ? { code: error.code } : {}), ...(typeof error.message === 'string' ? { message: error.message } : {}) };
  } catch {
    return {};
  }
}

/** `answered 503 NOT_READY: The service schema…` (status, the kit error body's code and message), or why there was no answer. */
export function describeAnswer(answer: Answer): string {
  if ('kind' in answer) return answer.message;
  const { code, message } = errorOf(answer.body);
  // Its closing full stop dropped: the message goes on (`…; expected 201`).
  const text = message?.replace(/\.$/, '');
  const said = text === undefined ? '' : `: ${text.length > 160 ? `${text.slice(0, 160)}…` : text}`;
  return `answered ${answer.status}${code === undefined ? '' : ` ${code}`}${said}`;
}

/** A value for a message: JSON, cut short. */
export function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
