import type { Logger } from './log.ts';

/**
 * Law refusals in the log: the first of a burst at once, with its path and reason, then one line per window saying
 * how many more there were, by reason, for as long as they keep coming. A client sending thousands of wrong
 * handshakes (a misconfigured peer, a scanner, verify's near misses) costs the service one line per window instead
 * of one per request. On Docker the line is the larger part of a refusal's cost (measured on this fleet: its trip
 * through containerd-shim and dockerd took ~0.3 ms of CPU per request, the refusal itself ~0.5 ms), and a log that
 * floods hides what else it says. The `n3xus_law_refusals_total` metric still counts every refusal.
 */
export class RefusalLog {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
  ) {}

  /** One refused request: logged now when none was in this window, else counted for the window's line. */
  note(reason: string, fields: Record<string, unknown>): void {
    if (this.timer === undefined) {
      this.log.info('law_refused', { ...fields, reason });
      this.startWindow();
      return;
    }
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }

  /** Logs what the window counted; the next window stays open while refusals keep coming. Call it on stop too. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.counts.size === 0) return;
    const byReason = Object.fromEntries(this.counts);
    const count = [...this.counts.values()].reduce((a, b) => a + b, 0);
    this.counts.clear();
    this.log.info('law_refusals', { count, byReason, windowSeconds: this.windowMs / 1000 });
    this.startWindow();
  }

  /** Ends the window and logs what it counted, without opening another: for a service that stops. */
  close(): void {
    this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startWindow(): void {
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    this.timer.unref();
  }
}
