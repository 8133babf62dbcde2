/**
 * Whether an image needs building, and why. Pure: the caller observes the engine, this decides, the caller acts.
 */

/** Why an image is (re)built, or why not. */
export type BuildCause = 'forced' | 'not found' | 'inputs changed' | 'base image rebuilt' | 'up to date';

export interface BuildDecision {
  build: boolean;
  cause: BuildCause;
}

/**
 * Decides from the observed image (undefined when absent) and the hash of the inputs it should have been built
 * from (recorded in its `n3xus.image.inputs` label).
 *
 * @example
 * decideBuild({ force: false, baseRebuilt: false, inputsHash: 'abc', observed: { inputsHash: 'abc' } }); // { build: false, cause: 'up to date' }
 */
export function decideBuild(input: {
  force: boolean;
  baseRebuilt: boolean;
  inputsHash: string;
  observed: { inputsHash: string | undefined } | undefined;
}): BuildDecision {
  if (input.force) return { build: true, cause: 'forced' };
  if (input.observed === undefined) return { build: true, cause: 'not found' };
  if (input.baseRebuilt) return { build: true, cause: 'base image rebuilt' };
  if (input.observed.inputsHash !== input.inputsHash) return { build: true, cause: 'inputs changed' };
  return { build: false, cause: 'up to date' };
}
