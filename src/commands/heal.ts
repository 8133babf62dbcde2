import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags } from '../cli/fleet-flags.ts';
import { fleetContext } from '../cli/select-driver.ts';

export default class Heal extends BaseCommand {
  static override summary = 'Watch the fleet and restart what is down, dependencies first, until Ctrl-C.';
  static override description =
    'Every --interval seconds, lists the instances (containers, or with --driver process the processes of its state directory) and probes each service from outside on its published port, as launch does (liveness: a service whose database is down is left running). A service that is gone restarts at once (an instance removed altogether is created again, as launch would), one that failed two sweeps in a row after that; a service waits for the dependencies it needs (PostgreSQL, Redis, the earlier-stage peers it calls). Three restarts within a minute are a crash loop: reported once, then backed off (10 s, doubling, up to 5 min). While the engine does not answer, nothing is decided; the watcher says so once and goes on. One line per event; --json writes them as JSON lines. --metrics-port serves its Prometheus metrics on 127.0.0.1. Ctrl-C stops it. `launch --driver process` keeps one running as the fleet\'s supervisor.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --driver process --interval 2',
    '<%= config.bin %> <%= command.id %> --json --metrics-port 9464',
  ];
  // Its own --json: one JSON line per event, as they happen, not one document at the end.
  static override enableJsonFlag = false;
  static override flags = {
    ...fleetFlags,
    ...driverFlags,
    interval: Flags.string({ summary: 'Seconds between two sweeps (0.2 to 3600; default 5).' }),
    json: Flags.boolean({ summary: 'Write each event as one JSON line.', default: false }),
    'metrics-port': Flags.string({ summary: 'Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0: a free port, printed at start).' }),
    // Set by launch for the process driver's supervisor (src/heal/supervisor.ts): how status and down tell it apart.
    supervisor: Flags.boolean({ hidden: true, default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Heal);
    const [{ parseInterval, parseMetricsPort, MetricsPortBusyError }, { watch }, { HealMetrics, serveMetrics }, { fleetSecrets }, { activeLease, holdLease, registerWatcher, watchersDir }, { supervisorLog }] = await Promise.all([
      import('../heal/options.ts'),
      import('../heal/watch.ts'),
      import('../heal/metrics.ts'),
      import('../secrets/launch-secrets.ts'),
      import('../heal/watchers.ts'),
      import('../heal/supervisor.ts'),
    ]);
    const intervalMs = parseInterval(flags.interval);
    const metricsPort = parseMetricsPort(flags['metrics-port']);
    const { fleet, project, driver, engine } = await fleetContext({ ...flags, requireState: true });
    await engine?.ping();
    // What an instance created again needs: the values already written (nothing is generated here).
    const secretValues = fleetSecrets(fleet, fleet.services, driver, { dryRun: true }).values;
    const line = (text: string) => process.stdout.write(`${text}\n`);
    const metrics = new HealMetrics();
    let sweeps = 0;
    await this.interruptible(async (signal) => {
      let served: number | undefined;
      if (metricsPort !== undefined) {
        try {
          served = (await serveMetrics(metrics, metricsPort, signal)).port;
        } catch (error) {
          if ((error as { code?: unknown }).code === 'EADDRINUSE') throw new MetricsPortBusyError(metricsPort);
          throw error;
        }
      }
      // Registered once it works: down stops it, status shows it, launch's lease pauses it.
      const watchers = watchersDir(driver.kind, { stateDir: flags['state-dir'], project });
      const logFile = flags.supervisor ? supervisorLog(flags['state-dir'], project) : undefined;
      const unregister = registerWatcher(watchers, { intervalMs, supervisor: flags.supervisor, ...(served === undefined ? {} : { metricsPort: served }), ...(logFile === undefined ? {} : { logFile }) });
      const where = served === undefined ? '' : `; metrics at http://127.0.0.1:${served}/metrics`;
      if (flags.json) line(JSON.stringify({ kind: 'watching', service: '', services: fleet.services.length, project, intervalMs, ...(served === undefined ? {} : { metricsPort: served }), at: new Date().toISOString() }));
      else line(`watching ${fleet.services.length} services of project ${project} every ${intervalMs / 1000} s${where} (Ctrl-C stops)`);
      try {
        await watch({
          fleet,
          project,
          driver,
          intervalMs,
          signal,
          secretValues,
          heldBy: () => {
            const lease = activeLease(watchers);
            return lease === undefined ? undefined : `${lease.operation} (pid ${lease.pid})`;
          },
          hold: (operation) => holdLease(watchers, operation),
          onSweep: ({ up, ms }) => {
            sweeps += 1;
            metrics.sweep(up, ms);
          },
          onEvent: (event) => {
            metrics.event(event);
            if (flags.json) return line(JSON.stringify(event));
            const { at, kind, service } = event;
            const rest = Object.entries(event)
              .filter(([key]) => !['at', 'kind', 'service'].includes(key))
              .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
              .join(' ');
            line(`${at} ${kind.padEnd(15)} ${service}${rest === '' ? '' : `${service === '' ? '' : ' '}${rest}`}`);
          },
        });
      } finally {
        unregister();
      }
    });
    if (flags.json) line(JSON.stringify({ kind: 'stopped', service: '', sweeps, at: new Date().toISOString() }));
    else line(`stopped after ${sweeps} sweeps`);
  }
}
