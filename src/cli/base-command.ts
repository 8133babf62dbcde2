import { Command, type Interfaces } from '@oclif/core';

/**
 * Exit codes of typed errors, by their `code`. Anything else exits 1; oclif's own usage errors exit 2.
 *
 * | code | exit |
 * |---|---|
 * | ENGINE_UNREACHABLE | 3 |
 * | IMAGE_BUILD_FAILED | 4 |
 * | PROCESS_FAILED | 5 |
 * | DOCKER_API_ERROR | 6 |
 * | INVALID_FLEET_FILE | 7 |
 * | INVALID_PLAN | 8 |
 * | UNKNOWN_STAGE | 9 |
 * | UNKNOWN_SERVICE | 10 |
 * | LAUNCH_FAILED | 11 |
 * | LAW_VIOLATION | 12 |
 * | PORT_BUSY | 13 |
 * | NOT_LAUNCHED | 14 |
 * | BOOTSTRAP_FAILED | 15 |
 * | PREREQUISITE_NOT_HEALTHY | 16 |
 * | IMAGE_MISSING | 17 |
 * | ARCHIVE_ERROR | 18 |
 * | LOCAL_SERVER_MISSING | 19 |
 * | VERIFY_BELOW_THRESHOLD | 20 |
 * | VERIFY_UNAVAILABLE | 21 |
 * | INVALID_ARGUMENT | 22 |
 * | STATE_UNREADABLE | 23 |
 * | SWARM_UNAVAILABLE | 24 |
 * | SECRETS_INVALID | 25 |
 * | CREDENTIAL_REJECTED | 26 |
 * | NOTHING_TO_ADOPT | 27 |
 * | STALE_NETWORK | 28 |
 * | RESTARTED_DURING_LAUNCH | 29 |
 * | DATA_NODE_UNAVAILABLE | 30 |
 * | REGISTRY_ERROR | 31 |
 * | INTERRUPTED | 130 |
 */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  ENGINE_UNREACHABLE: 3,
  IMAGE_BUILD_FAILED: 4,
  PROCESS_FAILED: 5,
  DOCKER_API_ERROR: 6,
  INVALID_FLEET_FILE: 7,
  INVALID_PLAN: 8,
  UNKNOWN_STAGE: 9,
  UNKNOWN_SERVICE: 10,
  LAUNCH_FAILED: 11,
  LAW_VIOLATION: 12,
  PORT_BUSY: 13,
  NOT_LAUNCHED: 14,
  BOOTSTRAP_FAILED: 15,
  PREREQUISITE_NOT_HEALTHY: 16,
  IMAGE_MISSING: 17,
  ARCHIVE_ERROR: 18,
  LOCAL_SERVER_MISSING: 19,
  VERIFY_BELOW_THRESHOLD: 20,
  VERIFY_UNAVAILABLE: 21,
  INVALID_ARGUMENT: 22,
  STATE_UNREADABLE: 23,
  SWARM_UNAVAILABLE: 24,
  SECRETS_INVALID: 25,
  CREDENTIAL_REJECTED: 26,
  NOTHING_TO_ADOPT: 27,
  STALE_NETWORK: 28,
  RESTARTED_DURING_LAUNCH: 29,
  DATA_NODE_UNAVAILABLE: 30,
  REGISTRY_ERROR: 31,
  INTERRUPTED: 130,
};

/**
 * What every n3xus command shares: `--json` (oclif prints the value `run()` returns, or `{error: {name, code,
 * message, suggestions}}`), and the mapping of typed errors to {@link EXIT_CODES}. oclif prints the error's name,
 * message, code and suggestions.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  /**
   * Runs `work` with a signal that Ctrl-C (or SIGTERM) aborts, so the work can stop cleanly: finish the calls in
   * flight, remove what it half-wrote, report. A second Ctrl-C leaves at once (exit 130). The handlers are removed
   * when `work` settles.
   */
  protected async interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onSignal = (): void => {
      if (controller.signal.aborted) process.exit(EXIT_CODES.INTERRUPTED);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await work(controller.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    const code = (error as { code?: unknown }).code;
    const exit = typeof code === 'string' ? EXIT_CODES[code] : undefined;
    if (exit !== undefined) {
      const withExit = error as Interfaces.CommandError & { oclif?: { exit?: number } };
      withExit.oclif = { ...withExit.oclif, exit };
      process.exitCode = exit;
    }
    return super.catch(error);
  }
}
