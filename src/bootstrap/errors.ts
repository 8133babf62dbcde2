import type { CheckResult } from './checks.ts';

/**
 * Some bootstrap checks failed. The message lists each failed check with what was found; `suggestions` say how to
 * fix each, prefixed by the check's title. Exit code 15 (BOOTSTRAP_FAILED).
 */
export class BootstrapFailedError extends Error {
  override readonly name = 'BootstrapFailedError';
  readonly code = 'BOOTSTRAP_FAILED';
  /** The failed checks, in checklist order. */
  readonly failed: readonly CheckResult[];
  readonly suggestions: readonly string[];

  constructor(checks: readonly CheckResult[]) {
    const failed = checks.filter((c) => c.status === 'fail');
    const lines = failed.map((c) => `✖ ${c.title}: ${c.detail.split('\n').join('\n    ')}`);
    super([`${failed.length} of ${checks.length} checks failed:`, ...lines].join('\n'));
    this.failed = failed;
    this.suggestions = failed.map((c) => `${c.title}: ${c.fix ?? 'see the detail above'}`);
  }
}
