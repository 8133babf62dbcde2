/**
 * Who is calling, proven rather than claimed (issue 17). A caller from inside the fleet, or the operator's tooling,
 * signs each request with its own Ed25519 key: the `X-N3XUS-Caller` header names the caller, the time, and (for a
 * relay such as federation-gateway) the original caller it forwards for, and signs them with the method and the
 * path. The callee holds only public keys: a service can prove who it is, and cannot sign as another.
 *
 * What it is for: each caller gets its own rate-limit bucket, so one busy client spends its own budget only. It is
 * not authorisation (the law's handshake stays the gate), and the body is not signed: a signature seen again within
 * {@link MAX_SKEW_MS} can be replayed for the same method and path, which only spends the signer's own budget.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The header a signed call carries. */
export const CALLER_HEADER = 'x-n3xus-caller';
/** How far a signature's time may be from the callee's clock, either way. */
export const MAX_SKEW_MS = 60_000;
/** The caller name n3xus's own tooling (verify, status, heal) signs as: a bucket no service's traffic can spend. */
export const OPERATOR_CALLER = 'n3xus-operator';
/** Who forwards calls for others, by default: their `for=` is believed, and no one else's. */
export const DEFAULT_RELAYS: readonly string[] = ['federation-gateway'];
/** The original caller a relay names when it could not tell who called it. */
export const ANONYMOUS = 'anonymous';

const NAME = /^[a-z][a-z0-9-]{1,62}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key, before the 32 raw bytes.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** A caller's own key: its name and its Ed25519 private key. */
export interface CallerKey {
  name: string;
  privateKey: KeyObject;
}

function raw32(value: string, what: string): Buffer {
  const bytes = B64URL.test(value) ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== 32) throw new Error(`${what} is not 32 bytes of base64url (${value.length} characters given).`);
  return bytes;
}

/** The caller key of `name` from its 32-byte seed (base64url). */
export function callerKeyFromSeed(name: string, seed: string): CallerKey {
  if (!NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a caller name.`);
  return { name, privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw32(seed, 'The caller key')]), format: 'der', type: 'pkcs8' }) };
}

/** The public key (32 bytes, base64url) that checks what the seed's key signs. */
export function callerPublicKey(seed: string): string {
  const publicKey = createPublicKey(callerKeyFromSeed('x0', seed).privateKey).export({ format: 'der', type: 'spki' });
  return publicKey.subarray(SPKI_ED25519.length).toString('base64url');
}

/**
 * Parses a caller key list, `name=publicKey,name=publicKey` (base64url public keys); `source` names it in errors
 * (the environment variable).
 */
export function parseCallerKeys(raw: string | undefined, source: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const entry of (raw ?? '').split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = trimmed.slice(0, eq);
    const invalid = (why: string) => new Error(`${source} entry ${JSON.stringify(trimmed.slice(0, 80))} is not valid: ${why}; expected name=<32-byte Ed25519 public key, base64url>.`);
    if (eq <= 0 || !NAME.test(name)) throw invalid('no caller name');
    let bytes: Buffer;
    try {
      bytes = raw32(trimmed.slice(eq + 1), 'the key');
    } catch (error) {
      throw invalid((error as Error).message.replace(/\.$/, ''));
    }
    keys.set(name, createPublicKey({ key: Buffer.concat([SPKI_ED25519, bytes]), format: 'der', type: 'spki' }));
  }
  return keys;
}

/** What a signature covers: the version, the caller, whom it calls for, the time, the method and the path with its query. */
const signed = (name: string, onBehalfOf: string, t: number, method: string, path: string) => Buffer.from(`n3xus-caller-v1\n${name}\n${onBehalfOf}\n${t}\n${method.toUpperCase()}\n${path}`);

/**
 * The `X-N3XUS-Caller` value for one request: `name=<caller>;t=<ms>;sig=<base64url>`, with `;for=<original>` when
 * a relay forwards for another caller (or for {@link ANONYMOUS}). `path` is the path and query as sent.
 */
export function signCall(key: CallerKey, method: string, path: string, options: { now?: number; onBehalfOf?: string } = {}): string {
  const t = Math.trunc(options.now ?? Date.now());
  const onBehalfOf = options.onBehalfOf ?? '';
  const sig = sign(null, signed(key.name, onBehalfOf, t, method, path), key.privateKey).toString('base64url');
  return `name=${key.name};t=${t}${onBehalfOf === '' ? '' : `;for=${onBehalfOf}`};sig=${sig}`;
}

/**
 * A signer that signs each method and path once per `reuseMs` and gives the same header again until then: for a
 * client sending many requests (verify sends the same GET to every service), which spares the signing, not the
 * callee's check. A header given again is what a replay within {@link MAX_SKEW_MS} would be, so `reuseMs` must stay
 * well under it.
 */
export function reusingSigner(key: CallerKey, reuseMs = 20_000): (method: string, path: string, onBehalfOf?: string) => string {
  if (reuseMs >= MAX_SKEW_MS / 2) throw new Error(`reuseMs must stay under ${MAX_SKEW_MS / 2} ms, not ${reuseMs}.`);
  const made = new Map<string, { header: string; at: number }>();
  return (method, path, onBehalfOf) => {
    const now = Date.now();
    const id = `${method.toUpperCase()} ${path}\n${onBehalfOf ?? ''}`;
    const known = made.get(id);
    if (known !== undefined && now - known.at < reuseMs) return known.header;
    const header = signCall(key, method, path, { now, ...(onBehalfOf === undefined ? {} : { onBehalfOf }) });
    // Bounded: a client of many paths (ids in them) keeps the newest thousand.
    if (made.size >= 1024) made.delete(made.keys().next().value!);
    made.set(id, { header, at: now });
    return header;
  };
}

/** Who called, as far as the callee can tell. */
export type CallerCheck =
  /** No signature: an unidentified client (or, `via` a relay, one the relay could not identify). */
  | { kind: 'anonymous'; via?: string }
  /** A signature that checks: `name` called, directly or `via` a relay. */
  | { kind: 'caller'; name: string; via?: string }
  /** A signature that does not check; `reason` says why. */
  | { kind: 'refused'; reason: string };

/** What a callee knows to check signatures: the public keys by caller name, and which callers relay for others. */
export interface CallerKeys {
  keys: ReadonlyMap<string, KeyObject>;
  relays: ReadonlySet<string>;
}

/**
 * Checks a request's `X-N3XUS-Caller` header against the callers' public keys. A callee that knows no keys takes
 * every request as anonymous (it cannot tell one caller from another); one that knows keys refuses a header that
 * does not check: unknown caller, bad form, a time more than {@link MAX_SKEW_MS} away, a `for=` from a caller that
 * is no relay, or a signature that does not match.
 */
export function checkCaller(header: string | string[] | undefined, method: string, path: string, callers: CallerKeys, now = Date.now()): CallerCheck {
  if (header === undefined || callers.keys.size === 0) return { kind: 'anonymous' };
  if (Array.isArray(header)) return { kind: 'refused', reason: `${CALLER_HEADER} is given ${header.length} times` };
  const fields = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || fields.has(part.slice(0, eq).trim())) return { kind: 'refused', reason: `${CALLER_HEADER} is not name=…;t=…;sig=…` };
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const name = fields.get('name') ?? '';
  const t = Number(fields.get('t'));
  const sig = fields.get('sig') ?? '';
  const onBehalfOf = fields.get('for');
  if (!NAME.test(name) || !Number.isSafeInteger(t) || !B64URL.test(sig) || [...fields.keys()].some((k) => !['name', 't', 'sig', 'for'].includes(k))) {
    return { kind: 'refused', reason: `${CALLER_HEADER} is not name=…;t=…;sig=…` };
  }
  const key = callers.keys.get(name);
  if (key === undefined) return { kind: 'refused', reason: `unknown caller ${name}` };
  if (Math.abs(now - t) > MAX_SKEW_MS) return { kind: 'refused', reason: `the signature of ${name} is ${Math.round((now - t) / 1000)} s from this service's clock (at most ${MAX_SKEW_MS / 1000} s either way)` };
  if (onBehalfOf !== undefined && !callers.relays.has(name)) return { kind: 'refused', reason: `${name} is not a relay: it cannot call for another` };
  if (onBehalfOf !== undefined && onBehalfOf !== ANONYMOUS && !NAME.test(onBehalfOf)) return { kind: 'refused', reason: `for=${JSON.stringify(onBehalfOf.slice(0, 64))} is not a caller name` };
  const bytes = Buffer.from(sig, 'base64url');
  if (bytes.length !== 64 || !verify(null, signed(name, onBehalfOf ?? '', t, method, path), key, bytes)) return { kind: 'refused', reason: `the signature of ${name} does not match the request` };
  if (onBehalfOf === undefined) return { kind: 'caller', name };
  return onBehalfOf === ANONYMOUS ? { kind: 'anonymous', via: name } : { kind: 'caller', name: onBehalfOf, via: name };
}

/**
 * {@link checkCaller} with the signatures that checked remembered (up to `size`, the oldest forgotten first): a
 * client that signs a method and path once and sends it many times (see reusingSigner) costs one Ed25519
 * verification, not one per request. A remembered signature is taken only within its time window, as a new one.
 */
export function rememberingChecker(callers: CallerKeys, size = 1024): (header: string | string[] | undefined, method: string, path: string, now?: number) => CallerCheck {
  const known = new Map<string, { check: CallerCheck; t: number }>();
  return (header, method, path, now = Date.now()) => {
    if (typeof header !== 'string' || callers.keys.size === 0) return checkCaller(header, method, path, callers, now);
    const id = `${method.toUpperCase()} ${path}\n${header}`;
    const hit = known.get(id);
    if (hit !== undefined && Math.abs(now - hit.t) <= MAX_SKEW_MS) return hit.check;
    const check = checkCaller(header, method, path, callers, now);
    if (check.kind !== 'refused') {
      if (known.size >= size) known.delete(known.keys().next().value!);
      known.set(id, { check, t: Number(/(?:^|;)\s*t=(\d+)/.exec(header)![1]) });
    }
    return check;
  };
}

/**
 * The rate-limit bucket of a request: each identified caller its own (through a relay, the original caller's);
 * unidentified clients by their socket address, as before; those a relay forwards anonymously share one per relay.
 */
export function bucketOf(check: Exclude<CallerCheck, { kind: 'refused' }>, socketAddress: string): string {
  if (check.kind === 'caller') return `caller:${check.name}`;
  return check.via === undefined ? `address:${socketAddress}` : `anonymous-via:${check.via}`;
}

/** Whom a relay forwards for: the original caller's name, or {@link ANONYMOUS}. */
export function forwardedFor(check: CallerCheck | undefined): string {
  return check?.kind === 'caller' ? check.name : ANONYMOUS;
}
