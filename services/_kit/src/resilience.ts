import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import type { Logger } from './log.ts';

/** Tuning of one dependency's policy; all times in ms. */
export interface ResilienceOptions {
  /** Attempts per call including the first (default 3). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt up to `maxDelayMs` (defaults 50 and 1000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive failures that open the circuit (default 5). */
  breakAfter?: number;
  /** How long the circuit stays open before one trial call (default 5000). */
  halfOpenAfterMs?: number;
  /** Which errors count against the dependency (default: all); a caller's own mistake should not open the circuit. */
  isFailure?: (err: unknown) => boolean;
}

/** A dependency's retry-with-backoff inside a circuit breaker, and its state for readiness and metrics. */
export interface Resilience {
  readonly policy: IPolicy;
  readonly breaker: CircuitBreakerPolicy;
  /** `closed`, `open` or `half-open`. */
  state(): 'closed' | 'open' | 'half-open';
}

/** True for the error a call gets while its dependency's circuit is open. */
export function isCircuitOpen(err: unknown): boolean {
  return err instanceof BrokenCircuitError;
}

/**
 * Builds the policy every call to `dependency` goes through: retries with exponential backoff for transient
 * failures, around a consecutive-failure circuit breaker so that a dead dependency is failed fast instead of
 * being waited on by every request. An open circuit is not retried.
 */
export function resilience(dependency: string, log: Logger, options: ResilienceOptions = {}): Resilience {
  const isFailure = options.isFailure ?? (() => true);
  const counts = (err: unknown): boolean => !isCircuitOpen(err) && isFailure(err);
  const breaker = circuitBreaker(handleWhen(counts), {
    halfOpenAfter: options.halfOpenAfterMs ?? 5000,
    breaker: new ConsecutiveBreaker(options.breakAfter ?? 5),
  });
  breaker.onBreak(() => log.warn('circuit_open', { dependency }));
  breaker.onReset(() => log.info('circuit_closed', { dependency }));
  const retrier = retry(handleWhen(counts), {
    maxAttempts: (options.maxAttempts ?? 3) - 1,
    backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 50, maxDelay: options.maxDelayMs ?? 1000 }),
  });
  return {
    policy: wrap(retrier, breaker),
    breaker,
    state() {
      switch (breaker.state) {
        case CircuitState.Closed: return 'closed';
        case CircuitState.HalfOpen: return 'half-open';
        default: return 'open';
      }
    },
  };
}
