/** Latency statistics for `--bench`: pure. */
import type { LatencySummary } from './types.ts';

/**
 * The `p`-th percentile (0-100) of `samples` by the nearest-rank method: the smallest sample with at least p % of
 * the samples at or below it. 0 for no samples.
 * @example percentile([5, 1, 3, 2, 4], 50) // 3
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** Summarises one service's burst: percentiles of the successful requests' durations, in milliseconds. */
export function summarizeLatency(name: string, durationsMs: readonly number[], errors: number): LatencySummary {
  return {
    name,
    requests: durationsMs.length + errors,
    errors,
    p50Ms: round(percentile(durationsMs, 50)),
    p95Ms: round(percentile(durationsMs, 95)),
    p99Ms: round(percentile(durationsMs, 99)),
    maxMs: round(durationsMs.length === 0 ? 0 : Math.max(...durationsMs)),
  };
}

/** Slowest first: by p95, then p99, then name; services whose every request failed come first. */
export function slowestFirst(summaries: readonly LatencySummary[]): LatencySummary[] {
  const allFailed = (s: LatencySummary) => (s.requests > 0 && s.errors === s.requests ? 1 : 0);
  return [...summaries].sort((a, b) => allFailed(b) - allFailed(a) || b.p95Ms - a.p95Ms || b.p99Ms - a.p99Ms || a.name.localeCompare(b.name));
}
