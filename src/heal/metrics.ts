/**
 * The watcher's own Prometheus metrics (issue 14), served on a loopback port: what it saw at its last sweep, what it
 * restarted, recreated and gave up on, and its own CPU. prom-client's default process metrics are left out, as in
 * the services' kit: their event-loop monitor keeps a 10 ms timer running, which would cost more than the watcher.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WatchEvent } from './watch.ts';

export class HealMetrics {
  readonly registry = new Registry();
  readonly #sweeps: Counter;
  readonly #sweepSeconds: Histogram;
  readonly #up: Gauge<'service'>;
  readonly #healthy: Gauge;
  readonly #total: Gauge;
  readonly #restarts: Counter<'service'>;
  readonly #recreated: Counter<'service'>;
  readonly #failures: Counter<'service'>;
  readonly #loops: Counter<'service'>;
  readonly #backingOff: Gauge<'service'>;
  readonly #engineUp: Gauge;

  constructor() {
    const registers = [this.registry];
    this.#sweeps = new Counter({ name: 'n3xus_heal_sweeps_total', help: 'Sweeps of the fleet done', registers });
    this.#sweepSeconds = new Histogram({ name: 'n3xus_heal_sweep_duration_seconds', help: 'How long one sweep (list and probes) took', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.#up = new Gauge({ name: 'n3xus_heal_service_up', help: '1 when the service ran and answered its liveness probe at the last sweep', labelNames: ['service'], registers });
    this.#healthy = new Gauge({ name: 'n3xus_heal_services_healthy', help: 'Services that answered at the last sweep', registers });
    this.#total = new Gauge({ name: 'n3xus_heal_services', help: 'Services watched', registers });
    this.#restarts = new Counter({ name: 'n3xus_heal_restarts_total', help: 'Restarts the watcher made', labelNames: ['service'], registers });
    this.#recreated = new Counter({ name: 'n3xus_heal_recreations_total', help: 'Instances the watcher created again because they were gone', labelNames: ['service'], registers });
    this.#failures = new Counter({ name: 'n3xus_heal_restart_failures_total', help: 'Restarts or recreations that failed', labelNames: ['service'], registers });
    this.#loops = new Counter({ name: 'n3xus_heal_crash_loops_total', help: 'Crash loops detected (each reported once)', labelNames: ['service'], registers });
    this.#backingOff = new Gauge({ name: 'n3xus_heal_backing_off', help: '1 while the watcher holds back the restart of a crash-looping service', labelNames: ['service'], registers });
    this.#engineUp = new Gauge({ name: 'n3xus_heal_engine_up', help: '1 when the engine (or the process state) answered at the last sweep', registers });
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time of the watcher in seconds',
      registers,
      collect() {
        const { user, system } = process.cpuUsage();
        this.reset();
        this.inc((user + system) / 1e6);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
  }

  /** After a sweep: each service's verdict and how long it took. */
  sweep(up: ReadonlyMap<string, boolean>, ms: number): void {
    this.#sweeps.inc();
    this.#sweepSeconds.observe(ms / 1000);
    this.#engineUp.set(1);
    let healthy = 0;
    for (const [service, isUp] of up) {
      this.#up.set({ service }, isUp ? 1 : 0);
      if (isUp) healthy += 1;
    }
    this.#healthy.set(healthy);
    this.#total.set(up.size);
  }

  event(event: WatchEvent): void {
    switch (event.kind) {
      case 'restart':
        this.#restarts.inc({ service: event.service });
        this.#backingOff.set({ service: event.service }, 0);
        break;
      case 'recreated':
        this.#recreated.inc({ service: event.service });
        break;
      case 'restart-failed':
      case 'recreate-failed':
        this.#failures.inc({ service: event.service });
        break;
      case 'crash-loop':
        this.#loops.inc({ service: event.service });
        break;
      case 'backing-off':
        this.#backingOff.set({ service: event.service }, 1);
        break;
      case 'recovered':
        this.#backingOff.set({ service: event.service }, 0);
        break;
      case 'unreachable':
        this.#engineUp.set(0);
        break;
      default:
        break;
    }
  }
}

/** Serves `/metrics` on 127.0.0.1:`port` (0: a free one) until `signal` aborts; resolves with the port once it listens. */
export async function serveMetrics(metrics: HealMetrics, port: number, signal: AbortSignal): Promise<{ port: number; server: Server }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the watcher serves GET /metrics only.\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = () => server.close();
  if (signal.aborted) close();
  else signal.addEventListener('abort', close, { once: true });
  server.unref();
  return { port: (server.address() as { port: number }).port, server };
}
