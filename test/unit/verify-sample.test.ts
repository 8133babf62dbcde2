import { describe, expect, it } from 'vitest';
import { loadFleet } from '../../src/fleet/model.ts';
import { drawSample, sampleCategories, sampleSizeProblem, seededRandom } from '../../src/verify/sample.ts';

const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });
const services = fleet.services;
const categories = sampleCategories(services);
const kit = services.filter((s) => s.stage !== 'infra');
const names = (sample: readonly { name: string }[]): string[] => sample.map((s) => s.name);

describe('a seeded, stratified sample', () => {
  it('draws the same sample from the same seed and size, and another from another seed', () => {
    expect(names(drawSample(services, 42))).toEqual(names(drawSample(services, 42)));
    expect(names(drawSample(services, 42, 40))).toEqual(names(drawSample(services, 42, 40)));
    const samples = new Set([1, 2, 3, 4, 5].map((seed) => names(drawSample(services, seed)).join(',')));
    expect(samples.size).toBeGreaterThan(1);
  });

  it('always holds every infrastructure service and at least one service of every category, in fleet order', () => {
    for (const seed of [0, 1, 99, 4_294_967_295]) {
      const sample = drawSample(services, seed);
      expect(sample.filter((s) => s.stage === 'infra').map((s) => s.name)).toEqual(['postgres', 'redis']);
      expect(new Set(sample.filter((s) => s.stage !== 'infra').map((s) => s.category))).toEqual(new Set(categories));
      expect(sample.filter((s) => s.stage !== 'infra')).toHaveLength(categories.length);
      const order = sample.map((s) => services.indexOf(s));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('draws as many services as asked for, up to every one', () => {
    expect(drawSample(services, 5, 40).filter((s) => s.stage !== 'infra')).toHaveLength(40);
    expect(drawSample(services, 5, kit.length)).toHaveLength(services.length);
  });

  it('gives every service its turn over many seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 400; seed++) for (const s of drawSample(services, seed)) seen.add(s.name);
    expect(seen.size).toBe(services.length);
  });

  it('says which sizes this fleet can have: from one per category to every service', () => {
    expect(sampleSizeProblem(categories.length, services)).toBeUndefined();
    expect(sampleSizeProblem(kit.length, services)).toBeUndefined();
    expect(sampleSizeProblem(categories.length - 1, services)).toBe(`--sample-size must be from ${categories.length} (one service per category) to ${kit.length} (every service) for this fleet; got ${categories.length - 1}`);
    expect(sampleSizeProblem(kit.length + 1, services)).toContain(`got ${kit.length + 1}`);
  });

  it('streams numbers in [0, 1) from a 32-bit seed', () => {
    const random = seededRandom(123);
    const values = Array.from({ length: 1000 }, () => random());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBe(1000);
    expect(seededRandom(123)()).toBe(values[0]);
  });
});
