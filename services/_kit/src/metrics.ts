import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics. Default process metrics are left out on purpose: their event-loop monitor
 * keeps a 10 ms timer running, which costs CPU in every idle service of a 98-service fleet.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly lawRefusals: Counter<'reason'>;
  /** Requests answered 429, by the kind of bucket that ran out (caller, address, anonymous-via). */
  readonly rateLimited: Counter<'bucket'>;
  /** Requests refused 401 for a caller signature that does not check. */
  readonly callerRefusals: Counter;
  readonly dependencyUp: Gauge<'dependency'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    this.requests = new Counter({ name: 'n3xus_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'n3xus_http_request_duration_seconds',
      help: 'HTTP request duration in seconds',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.lawRefusals = new Counter({ name: 'n3xus_law_refusals_total', help: 'Requests refused with HTTP 451 under the N3XUS LAW', labelNames: ['reason'], registers: [this.registry] });
    this.rateLimited = new Counter({ name: 'n3xus_rate_limited_total', help: 'Requests answered 429, by kind of bucket', labelNames: ['bucket'], registers: [this.registry] });
    this.callerRefusals = new Counter({ name: 'n3xus_caller_refusals_total', help: 'Requests refused with 401: a caller signature that does not check', registers: [this.registry] });
    this.dependencyUp = new Gauge({ name: 'n3xus_dependency_up', help: '1 when the dependency answered its last check', labelNames: ['dependency'], registers: [this.registry] });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
  }
}
