/**
 * Which services a sampled verification checks: pure and reproducible. Every infrastructure target is checked;
 * of the others, at least one per category, drawn at random from a seed, and up to `size` in all. The same seed and
 * size draw the same sample from the same fleet; random seeds give every service its turn over many runs.
 */

/** The part of a target the sample reads. */
export interface Samplable {
  name: string;
  stage: string;
  category: string;
}

/** A 32-bit seed's stream of numbers in [0, 1): mulberry32, small and well mixed, enough for drawing a sample. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The categories of the non-infrastructure services, each once, in fleet order. */
export function sampleCategories(services: readonly Samplable[]): string[] {
  return [...new Set(services.filter((s) => s.stage !== 'infra').map((s) => s.category))];
}

/**
 * The services of a sample, in fleet order: every infrastructure service, one service drawn from each category,
 * then more drawn from the rest until `size` non-infrastructure services are chosen (`size` defaults to one per
 * category; the caller checks it against {@link sampleCategories} and the fleet's size).
 */
export function drawSample<T extends Samplable>(services: readonly T[], seed: number, size?: number): T[] {
  const random = seededRandom(seed);
  const pick = <U>(from: U[]): U => from.splice(Math.floor(random() * from.length), 1)[0]!;
  const chosen = new Set<string>();
  for (const category of sampleCategories(services)) {
    const members = services.filter((s) => s.stage !== 'infra' && s.category === category);
    chosen.add(pick(members).name);
  }
  const rest = services.filter((s) => s.stage !== 'infra' && !chosen.has(s.name));
  while (chosen.size < (size ?? chosen.size) && rest.length > 0) chosen.add(pick(rest).name);
  return services.filter((s) => s.stage === 'infra' || chosen.has(s.name));
}

/**
 * Why `size` cannot be a sample of this fleet, or undefined when it can: at least one per category (the sample's
 * promise), at most every non-infrastructure service.
 */
export function sampleSizeProblem(size: number, services: readonly Samplable[]): string | undefined {
  const categories = sampleCategories(services).length;
  const total = services.filter((s) => s.stage !== 'infra').length;
  if (size < categories || size > total) return `--sample-size must be from ${categories} (one service per category) to ${total} (every service) for this fleet; got ${size}`;
  return undefined;
}
