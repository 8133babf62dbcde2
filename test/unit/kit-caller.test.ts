import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, bucketOf, callerKeyFromSeed, callerPublicKey, checkCaller, forwardedFor, MAX_SKEW_MS, parseCallerKeys, rememberingChecker, reusingSigner, signCall, type CallerKeys } from '../../services/_kit/src/caller.ts';

const seed = () => randomBytes(32).toString('base64url');
const seeds = { alpha: seed(), beta: seed(), 'federation-gateway': seed() };
const callers: CallerKeys = {
  keys: parseCallerKeys(Object.entries(seeds).map(([name, s]) => `${name}=${callerPublicKey(s)}`).join(','), 'N3XUS_CALLER_KEYS'),
  relays: new Set(['federation-gateway']),
};
const key = (name: keyof typeof seeds) => callerKeyFromSeed(name, seeds[name]);
const NOW = 1_780_000_000_000;

describe('caller signatures', () => {
  it('identify the caller that signed, for the method and path it signed', () => {
    const header = signCall(key('alpha'), 'get', '/v1/items?limit=5', { now: NOW });
    expect(header).toMatch(/^name=alpha;t=1780000000000;sig=[A-Za-z0-9_-]{86}$/);
    expect(checkCaller(header, 'GET', '/v1/items?limit=5', callers, NOW)).toEqual({ kind: 'caller', name: 'alpha' });
  });

  it('refuse a caller that signs as another (its key does not check for that name)', () => {
    const forged = signCall(key('alpha'), 'GET', '/x', { now: NOW }).replace('name=alpha', 'name=beta');
    expect(checkCaller(forged, 'GET', '/x', callers, NOW)).toEqual({ kind: 'refused', reason: 'the signature of beta does not match the request' });
    const mine = callerKeyFromSeed('beta', seeds.alpha); // alpha's key under beta's name
    expect(checkCaller(signCall(mine, 'GET', '/x', { now: NOW }), 'GET', '/x', callers, NOW)).toMatchObject({ kind: 'refused' });
  });

  it('refuse a signature moved to another method or path, or out of its time window', () => {
    const header = signCall(key('alpha'), 'GET', '/x', { now: NOW });
    expect(checkCaller(header, 'DELETE', '/x', callers, NOW).kind).toBe('refused');
    expect(checkCaller(header, 'GET', '/y', callers, NOW).kind).toBe('refused');
    expect(checkCaller(header, 'GET', '/x', callers, NOW + MAX_SKEW_MS).kind).toBe('caller');
    expect(checkCaller(header, 'GET', '/x', callers, NOW + MAX_SKEW_MS + 1)).toEqual({ kind: 'refused', reason: 'the signature of alpha is 60 s from this service\'s clock (at most 60 s either way)' });
    expect(checkCaller(header, 'GET', '/x', callers, NOW - MAX_SKEW_MS - 1).kind).toBe('refused');
  });

  it('believe for= from a relay only, and take a relay’s anonymous as anonymous', () => {
    const relayed = signCall(key('federation-gateway'), 'GET', '/x', { now: NOW, onBehalfOf: 'alpha' });
    expect(checkCaller(relayed, 'GET', '/x', callers, NOW)).toEqual({ kind: 'caller', name: 'alpha', via: 'federation-gateway' });
    expect(checkCaller(signCall(key('federation-gateway'), 'GET', '/x', { now: NOW, onBehalfOf: ANONYMOUS }), 'GET', '/x', callers, NOW)).toEqual({ kind: 'anonymous', via: 'federation-gateway' });
    expect(checkCaller(signCall(key('beta'), 'GET', '/x', { now: NOW, onBehalfOf: 'alpha' }), 'GET', '/x', callers, NOW)).toEqual({ kind: 'refused', reason: 'beta is not a relay: it cannot call for another' });
    // for= is signed: changing it breaks the signature.
    expect(checkCaller(relayed.replace('for=alpha', 'for=beta'), 'GET', '/x', callers, NOW).kind).toBe('refused');
  });

  it('refuse what is not a signature, an unknown caller, and a header given twice', () => {
    for (const bad of ['', 'alpha', 'name=alpha', 'name=alpha;t=x;sig=abc', 'name=alpha;t=1;sig=abc;extra=1', 'name=alpha;name=beta;t=1;sig=a', 'name=Alpha;t=1;sig=abc']) {
      expect(checkCaller(bad, 'GET', '/x', callers, NOW).kind, bad).toBe('refused');
    }
    const stranger = callerKeyFromSeed('gamma', seed());
    expect(checkCaller(signCall(stranger, 'GET', '/x', { now: NOW }), 'GET', '/x', callers, NOW)).toEqual({ kind: 'refused', reason: 'unknown caller gamma' });
    const header = signCall(key('alpha'), 'GET', '/x', { now: NOW });
    expect(checkCaller([header, header], 'GET', '/x', callers, NOW)).toEqual({ kind: 'refused', reason: 'x-n3xus-caller is given 2 times' });
  });

  it('are anonymous without a header, or where the callee knows no keys', () => {
    expect(checkCaller(undefined, 'GET', '/x', callers, NOW)).toEqual({ kind: 'anonymous' });
    expect(checkCaller('name=alpha;t=1;sig=abc', 'GET', '/x', { keys: new Map(), relays: new Set() }, NOW)).toEqual({ kind: 'anonymous' });
  });
});

describe('a reusing signer', () => {
  it('signs a method and path once per window, and signs again after it', async () => {
    const sign = reusingSigner(key('alpha'), 30);
    const first = sign('GET', '/_n3xus/ping');
    expect(sign('get', '/_n3xus/ping')).toBe(first);
    expect(sign('GET', '/metrics')).not.toBe(first);
    expect(checkCaller(first, 'GET', '/_n3xus/ping', callers)).toEqual({ kind: 'caller', name: 'alpha' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(sign('GET', '/_n3xus/ping')).not.toBe(first);
    expect(() => reusingSigner(key('alpha'), MAX_SKEW_MS / 2)).toThrow('reuseMs must stay under 30000 ms');
  });
});

describe('a remembering checker', () => {
  it('answers a signature seen before as the first time, within its window only, and never remembers a refusal', () => {
    const check = rememberingChecker(callers, 2);
    const header = signCall(key('alpha'), 'GET', '/x', { now: NOW });
    expect(check(header, 'GET', '/x', NOW)).toEqual({ kind: 'caller', name: 'alpha' });
    expect(check(header, 'GET', '/x', NOW + 1)).toEqual({ kind: 'caller', name: 'alpha' });
    // Another method or path is checked anew, and refused.
    expect(check(header, 'GET', '/y', NOW).kind).toBe('refused');
    expect(check(header, 'GET', '/x', NOW + MAX_SKEW_MS + 1).kind).toBe('refused');
    const forged = header.replace('name=alpha', 'name=beta');
    expect(check(forged, 'GET', '/x', NOW).kind).toBe('refused');
    expect(check(forged, 'GET', '/x', NOW).kind).toBe('refused');
    // Bounded: the oldest is forgotten, and checked again when it comes back.
    for (const path of ['/a', '/b', '/c']) expect(check(signCall(key('beta'), 'GET', path, { now: NOW }), 'GET', path, NOW).kind).toBe('caller');
    expect(check(header, 'GET', '/x', NOW)).toEqual({ kind: 'caller', name: 'alpha' });
  });
});

describe('rate-limit buckets', () => {
  it('are one per caller (the original through a relay), one per address for the unidentified, one per relay for its anonymous', () => {
    expect(bucketOf({ kind: 'caller', name: 'alpha' }, '10.0.0.1')).toBe('caller:alpha');
    expect(bucketOf({ kind: 'caller', name: 'alpha', via: 'federation-gateway' }, '10.0.0.9')).toBe('caller:alpha');
    expect(bucketOf({ kind: 'anonymous' }, '10.0.0.1')).toBe('address:10.0.0.1');
    expect(bucketOf({ kind: 'anonymous', via: 'federation-gateway' }, '10.0.0.9')).toBe('anonymous-via:federation-gateway');
    expect(forwardedFor({ kind: 'caller', name: 'alpha', via: 'x' })).toBe('alpha');
    expect(forwardedFor({ kind: 'anonymous' })).toBe(ANONYMOUS);
    expect(forwardedFor(undefined)).toBe(ANONYMOUS);
  });
});

describe('caller keys in the environment', () => {
  it('name what is wrong with a key list entry', () => {
    expect(() => parseCallerKeys('alpha', 'N3XUS_CALLER_KEYS')).toThrow('N3XUS_CALLER_KEYS entry "alpha" is not valid: no caller name');
    expect(() => parseCallerKeys('alpha=abc', 'N3XUS_CALLER_KEYS')).toThrow(/entry "alpha=abc" is not valid: the key is not 32 bytes of base64url/);
    expect(parseCallerKeys(' , ', 'N3XUS_CALLER_KEYS').size).toBe(0);
    expect(() => callerKeyFromSeed('alpha', 'short')).toThrow('The caller key is not 32 bytes of base64url (5 characters given).');
  });
});
