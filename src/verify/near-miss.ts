/**
 * Near misses of the handshake: pure. A service whose comparison is sloppy (a prefix match, the first of repeated
 * headers, a substring of a comma-joined list, Unicode folding…) still refuses a missing and a plainly wrong
 * handshake, so the law check also sends values close to the right one. Each must be refused with 451, except the
 * variants HTTP itself makes equal to the right one (the header name's case; spaces and tabs around the value, which
 * a parser strips), which must be accepted.
 */
import { PING_PATH } from '../../services/_kit/src/kit-routes.ts';
import { HANDSHAKE_HEADER, MAX_HANDSHAKE_LENGTH } from '../../services/_kit/src/law.ts';
import { seededRandom } from './sample.ts';

/** How a near miss differs from the handshake; each kind catches one way a comparison can be sloppy. */
export type NearMissKind = 'prefix' | 'suffix' | 'truncation' | 'inner-whitespace' | 'repeated' | 'comma-joined' | 'overlong' | 'look-alike';

/** How an equal variant differs on the wire while HTTP makes it the same handshake. */
export type EqualKind = 'header-case' | 'outer-whitespace';

/** One request's handshake header(s): a near miss the service must refuse, or an equal variant it must accept. */
export interface HandshakeVariant {
  kind: NearMissKind | EqualKind;
  expect: 'refused' | 'accepted';
  /** The header lines sent, in order, as [name, value]; a value may hold characters outside ASCII. */
  headers: Array<[string, string]>;
}

/**
 * Where near misses are sent: the kit's cheapest protected route. Behind the same law guard as every other, so what
 * it lets through says the same; an equal variant it accepts costs the service little, where `/metrics` would render
 * every metric (measured: ~2.5 ms of a service's CPU against ~0.5).
 */
export const NEAR_MISS_PATH = PING_PATH;

/** A handshake that is well-formed but wrong. */
export const WRONG_HANDSHAKE = '00-00-00';

/**
 * Every variant of `handshake`, near misses first. Lengths are relative to the handshake, so the corpus follows a
 * fleet whose handshake is not the default; the overlong ones straddle the kit's limit and go far past it.
 */
export function handshakeVariants(handshake: string): HandshakeVariant[] {
  const h = handshake;
  const one = (kind: HandshakeVariant['kind'], value: string, name = HANDSHAKE_HEADER): HandshakeVariant => ({
    kind,
    expect: kind === 'header-case' || kind === 'outer-whitespace' ? 'accepted' : 'refused',
    headers: [[name, value]],
  });
  const middle = Math.floor(h.length / 2);
  const lookAlikes = [
    h.replaceAll('-', '\u2010'), // HYPHEN for HYPHEN-MINUS
    h.replace(/[0-9]/g, (d) => String.fromCodePoint(0xff10 + Number(d))), // FULLWIDTH DIGITs, which NFKC folds to ASCII
    `${h.slice(0, middle)}\u200b${h.slice(middle)}`, // ZERO WIDTH SPACE inside
    `${h}\u00a0`, // NO-BREAK SPACE after: not whitespace that HTTP strips
  ].filter((v) => v !== h);
  // One or two of each kind: each request costs the fleet 98 (--full is to stay within 1.3x of its time without
  // them), and a second value of a kind is kept only where it catches a bug the first does not.
  return [
    one('prefix', `x${h}`),
    one('suffix', `${h}0`),
    one('suffix', `${h};`),
    one('truncation', h.slice(0, -1)),
    one('truncation', h.slice(1)),
    one('inner-whitespace', `${h.slice(0, middle)} ${h.slice(middle)}`),
    { kind: 'repeated', expect: 'refused', headers: [[HANDSHAKE_HEADER, h], [HANDSHAKE_HEADER, WRONG_HANDSHAKE]] },
    { kind: 'repeated', expect: 'refused', headers: [[HANDSHAKE_HEADER, WRONG_HANDSHAKE], [HANDSHAKE_HEADER, h]] },
    { kind: 'repeated', expect: 'refused', headers: [[HANDSHAKE_HEADER, h], [HANDSHAKE_HEADER, h]] },
    one('comma-joined', `${h}, ${WRONG_HANDSHAKE}`),
    one('comma-joined', `${WRONG_HANDSHAKE},${h}`),
    one('overlong', `${h}${'7'.repeat(Math.max(1, MAX_HANDSHAKE_LENGTH + 1 - h.length))}`),
    one('overlong', h.repeat(Math.ceil(4096 / h.length))),
    ...lookAlikes.map((v) => one('look-alike', v)),
    one('header-case', h, HANDSHAKE_HEADER.toUpperCase()),
    // An accepted request renders the service's metrics: one equal variant of each kind, whitespace on both sides.
    one('outer-whitespace', `\t${h} `),
  ];
}

/** How many near misses a sampled verification sends to each service. */
export const SAMPLED_NEAR_MISSES = 3;

/** A string's 32-bit FNV-1a hash, to give each service its own draw from one seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The near misses a sampled verification sends to `service`: `count` of them, of different kinds, drawn from
 * `seed` (the sample's seed, so a run is repeated exactly) mixed with the service's name (so that services of one
 * run are not all sent the same few).
 */
export function sampleVariants(variants: readonly HandshakeVariant[], seed: number, service: string, count = SAMPLED_NEAR_MISSES): HandshakeVariant[] {
  const random = seededRandom((seed ^ hash32(service)) >>> 0);
  const byKind = new Map<string, HandshakeVariant[]>();
  for (const v of variants) if (v.expect === 'refused') byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  const kinds = [...byKind.keys()];
  const chosen: HandshakeVariant[] = [];
  while (chosen.length < count && kinds.length > 0) {
    const members = byKind.get(kinds.splice(Math.floor(random() * kinds.length), 1)[0]!)!;
    chosen.push(members[Math.floor(random() * members.length)]!);
  }
  return chosen;
}

/**
 * The header lines of a variant as they go on the wire: values as their UTF-8 bytes, each byte one latin1
 * character, since HTTP/1.1 carries header values as bytes and the HTTP client writes them in latin1.
 */
export function wireHeaders(variant: HandshakeVariant): Array<[string, string]> {
  return variant.headers.map(([name, value]) => [name, Buffer.from(value, 'utf8').toString('latin1')]);
}

/** A variant for a message: its kind and what was sent, quoted and escaped, long values cut. */
export function describeVariant(variant: HandshakeVariant): string {
  const quoted = (value: string) => JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const shown = (value: string) => (value.length > 24 ? `${quoted(value.slice(0, 16))}…(${value.length} chars)` : quoted(value));
  const lines = variant.headers.map(([name, value]) => (name === HANDSHAKE_HEADER ? shown(value) : `${name}: ${shown(value)}`));
  return `${variant.kind} ${lines.join(' + ')}`;
}
