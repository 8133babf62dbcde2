import { describe, it } from 'vitest';

/**
 * A suite that cannot run here (`reason`): skipped with the reason printed, except under CI=true, where CI must
 * run every test, so the suite is one test that fails with the reason.
 */
export function skipOrFail(name: string, reason: string, fn: () => void): void {
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs to run (CI=true)', () => {
        throw new Error(`CI=true but this suite cannot run: ${reason}`);
      });
    });
    return;
  }
  console.warn(`[skipped] ${name}: ${reason}`);
  describe.skip(name, fn);
}

/** A suite that runs when nothing it needs is missing (`missing` empty), else {@link skipOrFail} with that reason. */
export function describeUnless(missing: string, name: string, fn: () => void): void {
  if (missing) skipOrFail(name, missing, fn);
  else describe(name, fn);
}
