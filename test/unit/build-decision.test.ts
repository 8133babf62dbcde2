import { describe, expect, it } from 'vitest';
import { BASE_IMAGE_ORDER, BASE_IMAGE_PARENT, hashInputs, withParents } from '../../src/images/bases.ts';
import { decideBuild } from '../../src/images/build-decision.ts';

describe('decideBuild', () => {
  const base = { force: false, baseRebuilt: false, inputsHash: 'h1' };

  it('skips an image built from the same inputs', () => {
    expect(decideBuild({ ...base, observed: { inputsHash: 'h1' } })).toEqual({ build: false, cause: 'up to date' });
  });

  it('builds a missing image', () => {
    expect(decideBuild({ ...base, observed: undefined })).toEqual({ build: true, cause: 'not found' });
  });

  it('rebuilds when the inputs changed or the image has no inputs label', () => {
    expect(decideBuild({ ...base, observed: { inputsHash: 'h0' } })).toEqual({ build: true, cause: 'inputs changed' });
    expect(decideBuild({ ...base, observed: { inputsHash: undefined } })).toEqual({ build: true, cause: 'inputs changed' });
  });

  it('rebuilds when its base image was just rebuilt, and when forced', () => {
    expect(decideBuild({ ...base, baseRebuilt: true, observed: { inputsHash: 'h1' } }).cause).toBe('base image rebuilt');
    expect(decideBuild({ ...base, force: true, observed: { inputsHash: 'h1' } }).cause).toBe('forced');
  });
});

describe('base image order', () => {
  it('puts every image after the base it is built on', () => {
    for (const [image, parent] of Object.entries(BASE_IMAGE_PARENT)) {
      expect(BASE_IMAGE_ORDER.indexOf(parent)).toBeLessThan(BASE_IMAGE_ORDER.indexOf(image as never));
    }
  });

  it('withParents adds the bases an image needs', () => {
    expect([...withParents(['postgres'])].sort()).toEqual(['debian', 'postgres']);
    expect([...withParents(['node'])]).toEqual(['node']);
  });
});

describe('hashInputs', () => {
  it('does not depend on key order, and does depend on values', () => {
    expect(hashInputs({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashInputs({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashInputs({ a: 1 })).not.toBe(hashInputs({ a: 2 }));
    expect(hashInputs({ a: [1, 2] })).not.toBe(hashInputs({ a: [2, 1] }));
  });
});
