import { describe, expect, it } from 'vitest';
import { HANDSHAKE_HEADER, handshakeFault, N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { describeVariant, handshakeVariants, sampleVariants, SAMPLED_NEAR_MISSES, wireHeaders, type HandshakeVariant } from '../../src/verify/near-miss.ts';
import { letsThrough, SLOPPINESS, type Sloppiness } from '../fixtures/sloppy-law/sloppy.ts';

const variants = handshakeVariants(N3XUS_LAW);
const refused = variants.filter((v) => v.expect === 'refused');
const equal = variants.filter((v) => v.expect === 'accepted');
/** What a server's parser hands the application: names lower-cased, spaces and tabs around a value stripped. */
const parsed = (v: HandshakeVariant) => wireHeaders(v).map(([name, value]) => [name.toLowerCase(), value.replace(/^[ \t]+|[ \t]+$/g, '')] as const);

describe('handshakeVariants', () => {
  it('covers every kind of near miss the issue names, and the two variants HTTP makes equal', () => {
    expect(new Set(refused.map((v) => v.kind))).toEqual(new Set(['prefix', 'suffix', 'truncation', 'inner-whitespace', 'repeated', 'comma-joined', 'overlong', 'look-alike']));
    expect(new Set(equal.map((v) => v.kind))).toEqual(new Set(['header-case', 'outer-whitespace']));
  });

  it('holds no near miss that a parser makes equal to the handshake, and no duplicate', () => {
    for (const v of refused) {
      const lines = parsed(v);
      expect(lines.length === 1 && lines[0]![0] === HANDSHAKE_HEADER && lines[0]![1] === N3XUS_LAW, describeVariant(v)).toBe(false);
    }
    const keys = variants.map((v) => JSON.stringify(v.headers));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('every near miss is refused by the kit\'s own comparison, and every equal variant accepted', () => {
    // The kit reads one header line (two are "repeated"), as Node parses it; this is the comparison the fleet runs.
    for (const v of refused) {
      const lines = parsed(v);
      const fault = lines.length > 1 ? 'repeated' : handshakeFault(lines[0]![1]);
      expect(fault, describeVariant(v)).toBeDefined();
    }
    for (const v of equal) expect(handshakeFault(parsed(v)[0]![1]), describeVariant(v)).toBeUndefined();
  });

  it('has overlong values on both sides of the kit\'s 64-character limit, and a non-ASCII value of each kind', () => {
    const overlong = refused.filter((v) => v.kind === 'overlong').map((v) => v.headers[0]![1].length);
    expect(Math.min(...overlong)).toBe(65);
    expect(Math.max(...overlong)).toBeGreaterThanOrEqual(4096);
    const lookAlikes = refused.filter((v) => v.kind === 'look-alike').map((v) => v.headers[0]![1]);
    expect(lookAlikes).toEqual(expect.arrayContaining(['55\u201045\u201017', '\uff15\uff15-\uff14\uff15-\uff11\uff17', '55-45-17\u00a0']));
  });

  it('follows the handshake it is given', () => {
    for (const v of handshakeVariants('ab-cd').filter((x) => x.expect === 'refused' && x.kind !== 'repeated')) expect(v.headers[0]![1]).not.toBe('ab-cd');
  });
});

describe('wireHeaders and describeVariant', () => {
  it('sends a value as its UTF-8 bytes, one latin1 character each', () => {
    const fullwidth = refused.find((v) => v.headers[0]![1].startsWith('\uff15'))!;
    const [[, wire]] = wireHeaders(fullwidth) as [[string, string]];
    expect(Buffer.from(wire, 'latin1')).toEqual(Buffer.from('\uff15\uff15-\uff14\uff15-\uff11\uff17', 'utf8'));
    expect(wireHeaders(refused[0]!)).toEqual([[HANDSHAKE_HEADER, 'x55-45-17']]);
  });

  it('names the kind and shows the value escaped and cut, never raw control or non-ASCII characters', () => {
    expect(describeVariant({ kind: 'look-alike', expect: 'refused', headers: [[HANDSHAKE_HEADER, '55\u201045\u201017']] })).toBe('look-alike "55\\u201045\\u201017"');
    expect(describeVariant({ kind: 'repeated', expect: 'refused', headers: [[HANDSHAKE_HEADER, N3XUS_LAW], [HANDSHAKE_HEADER, '00-00-00']] })).toBe('repeated "55-45-17" + "00-00-00"');
    expect(describeVariant({ kind: 'header-case', expect: 'accepted', headers: [['X-N3XUS-HANDSHAKE', N3XUS_LAW]] })).toBe('header-case X-N3XUS-HANDSHAKE: "55-45-17"');
    expect(describeVariant({ kind: 'overlong', expect: 'refused', headers: [[HANDSHAKE_HEADER, 'x'.repeat(4096)]] })).toBe('overlong "xxxxxxxxxxxxxxxx"…(4096 chars)');
    expect(describeVariant({ kind: 'inner-whitespace', expect: 'refused', headers: [[HANDSHAKE_HEADER, '55-4\t5-17']] })).toBe('inner-whitespace "55-4\\t5-17"');
  });
});

describe('sampleVariants', () => {
  it(`draws ${SAMPLED_NEAR_MISSES} near misses of different kinds, the same for the same seed and service`, () => {
    const drawn = sampleVariants(variants, 42, 'audit-trail');
    expect(drawn).toHaveLength(SAMPLED_NEAR_MISSES);
    expect(new Set(drawn.map((v) => v.kind)).size).toBe(SAMPLED_NEAR_MISSES);
    expect(drawn.every((v) => v.expect === 'refused')).toBe(true);
    expect(sampleVariants(variants, 42, 'audit-trail')).toEqual(drawn);
  });

  it('gives services of one run different draws, and other seeds other draws', () => {
    const names = ['audit-trail', 'event-bus', 'identity-registry', 'feature-flags', 'api-docs'];
    const draws = new Set(names.map((n) => JSON.stringify(sampleVariants(variants, 7, n))));
    expect(draws.size).toBeGreaterThan(1);
    const seeds = new Set([1, 2, 3, 4, 5].map((s) => JSON.stringify(sampleVariants(variants, s, 'audit-trail'))));
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('sends every near miss over many runs', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 400; seed += 1) for (const v of sampleVariants(variants, seed, 'event-bus')) seen.add(JSON.stringify(v.headers));
    expect(seen.size).toBe(refused.length);
  });
});

describe('the sloppy fixture (test/fixtures/sloppy-law) against the corpus', () => {
  /** The kinds of near miss a sloppiness lets through, as the fixture's server sees them. */
  const caught = (sloppiness: Sloppiness) =>
    new Set(refused.filter((v) => letsThrough(sloppiness, N3XUS_LAW, ...namesAndValues(v))).map((v) => v.kind));
  const namesAndValues = (v: HandshakeVariant): [string[], string[]] => {
    const lines = parsed(v);
    return [lines.map(([n]) => n), lines.map(([, value]) => value)];
  };
  const expected: Partial<Record<Sloppiness, string>> = {
    'starts-with': 'suffix',
    'ends-with': 'prefix',
    'prefix-of': 'truncation',
    'ignores-whitespace': 'inner-whitespace',
    'first-of-repeated': 'repeated',
    'any-in-list': 'comma-joined',
    'reads-fixed-width': 'overlong',
    'folds-unicode': 'look-alike',
  };

  it('each sloppy comparison is caught by the near misses of its own kind, and lets the right handshake through', () => {
    for (const [sloppiness, kind] of Object.entries(expected) as Array<[Sloppiness, string]>) {
      expect(caught(sloppiness), sloppiness).toContain(kind);
      expect(letsThrough(sloppiness, N3XUS_LAW, [HANDSHAKE_HEADER], [N3XUS_LAW])).toBe(true);
    }
  });

  it('the exact comparisons let no near miss through', () => {
    for (const sloppiness of SLOPPINESS.filter((s) => expected[s] === undefined)) expect(caught(sloppiness), sloppiness).toEqual(new Set());
  });
});
