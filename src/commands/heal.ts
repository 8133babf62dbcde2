import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags } from '../cli/fleet-flags.ts';
import { fleetContext } from '../cli/select-driver.ts';

export default class Heal extends BaseCommand {
  static override summary = 'Watch the fleet and restart what is down, dependencies first, until Ctrl-C.';
  static override description =
    'Every --interval seconds, lists the instances (containers, or with --driver process the processes of its state directory) and probes each service from outside on its published port, as launch does (liveness: a service whose database is down is left running). A service that is gone restarts at once, one that failed two sweeps in a row after that; a service waits for the dependencies it needs (PostgreSQL, Redis, the earlier-stage peers it calls). Three restarts within a minute are a crash loop: reported once, then backed off (10 s, doubling, up to 5 min). One line per event; --json writes them as JSON lines. Ctrl-C stops it.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --driver process --interval 2', '<%= config.bin %> <%= command.id %> --json'];
  // Its own --json: one JSON line per event, as they happen, not one document at the end.
  static override enableJsonFlag = false;
  static override flags = {
    ...fleetFlags,
    ...driverFlags,
    interval: Flags.string({ summary: 'Seconds between two sweeps (0.2 to 3600; default 5).' }),
    json: Flags.boolean({ summary: 'Write each event as one JSON line.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Heal);
    const [{ parseInterval }, { watch }] = await Promise.all([import('../heal/options.ts'), import('../heal/watch.ts')]);
    const intervalMs = parseInterval(flags.interval);
    const { fleet, project, driver, engine } = await fleetContext({ ...flags, requireState: true });
    await engine?.ping();
    const line = (text: string) => process.stdout.write(`${text}\n`);
    if (!flags.json) line(`watching ${fleet.services.length} services of project ${project} every ${intervalMs / 1000} s (Ctrl-C stops)`);
    let sweeps = 0;
    await this.interruptible((signal) =>
      watch({
        fleet,
        project,
        driver,
        intervalMs,
        signal,
        onSweep: () => (sweeps += 1),
        onEvent: (event) => {
          if (flags.json) return line(JSON.stringify(event));
          const { at, kind, service } = event;
          const rest = Object.entries(event)
            .filter(([key]) => !['at', 'kind', 'service'].includes(key))
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          line(`${at} ${kind.padEnd(14)} ${service}${rest === '' ? '' : ` ${rest}`}`);
        },
      }),
    );
    if (!flags.json) line(`stopped after ${sweeps} sweeps`);
  }
}
