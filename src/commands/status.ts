import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags } from '../cli/fleet-flags.ts';
import { fleetContext } from '../cli/select-driver.ts';
import { fleetStatus, renderStatus, type FleetStatus } from '../launch/status.ts';
import { liveWatchers, watchersDir } from '../heal/watchers.ts';

export default class Status extends BaseCommand {
  static override summary = 'Show every service of the fleet: state, health, port, restarts, uptime; and who watches it.';
  static override description = 'Finds the containers (or, with the process driver, the processes in its state directory) by their project label and probes each service on its published 127.0.0.1 port, as launch does. A service running in a container docker compose made from the fleet file is shown as such (state "running, compose"). Changes nothing.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json', '<%= config.bin %> <%= command.id %> --project staging'];
  static override flags = { ...fleetFlags, ...driverFlags };

  async run(): Promise<FleetStatus> {
    const { flags } = await this.parse(Status);
    const { fleet, project, composeProject, driver, engine } = await fleetContext({ ...flags, requireState: true });
    await engine?.ping();
    const status: FleetStatus = { ...(await fleetStatus(fleet, project, driver, { composeProject })), driver: driver.kind, watchers: liveWatchers(watchersDir(driver.kind, { stateDir: flags['state-dir'], project })) };
    if (!this.jsonEnabled()) this.log(renderStatus(status));
    return status;
  }
}
