import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags, projectName } from '../cli/fleet-flags.ts';
import { selectDriver } from '../cli/select-driver.ts';
import { down, type DownResult } from '../launch/down.ts';
import { loadCommandFleet } from '../cli/load-fleet.ts';
import { composeProjectOf } from '../fleet/project-name.ts';
import type { Fleet } from '../fleet/model.ts';
import { StaleNetworkError } from '../launch/errors.ts';
import { stopWatchers, watchersDir } from '../heal/watchers.ts';

/** What each driver's instances are called. */
const UNIT = {
  docker: { one: 'container', many: 'containers' },
  process: { one: 'process', many: 'processes' },
  swarm: { one: 'Swarm service', many: 'Swarm services' },
} as const;

export default class Down extends BaseCommand {
  static override summary = 'Stop and remove the fleet, in reverse stage order.';
  static override description =
    'Stops the project\'s watchers first (n3xus heal, and the process fleet\'s supervisor), then removes every container labelled with the project (extended first, infra last), then the networks launch created. Volumes (the PostgreSQL data) are kept unless --volumes is given. Nothing without the project label is touched, except the network and volume of a fleet docker compose started and `launch --adopt` took over; containers docker compose made are left alone unless --compose is given.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --volumes', '<%= config.bin %> <%= command.id %> --project staging --json'];
  static override flags = {
    ...fleetFlags,
    ...driverFlags,
    volumes: Flags.boolean({ description: 'Remove the project\'s volumes too (the database is lost).', default: false }),
    compose: Flags.boolean({ description: 'Also remove the containers docker compose made from the fleet file (its project: --project, else named after the file\'s directory).', default: false }),
    timeout: Flags.integer({ description: 'Seconds each container gets to stop before it is killed.', default: 10, min: 0 }),
  };

  async run(): Promise<DownResult & { watchersStopped: { pid: number; supervisor: boolean }[] }> {
    const { flags } = await this.parse(Down);
    // The project name may come from the file; a missing or broken file must not keep anyone from tearing down.
    let project: string;
    let fleet: Fleet | undefined;
    try {
      const loaded = await loadCommandFleet(flags);
      fleet = loaded.fleet;
      project = flags.project === undefined ? loaded.project : projectName(flags.project, undefined);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'INVALID_ARGUMENT') throw error;
      if (flags.compose) throw error; // which containers are the fleet's is read from the file
      project = projectName(flags.project, undefined);
    }
    // The process driver stops only what its state lists: the processes it started, by PID and start time.
    const { driver, engine } = await selectDriver({ driver: flags.driver, stateDir: flags['state-dir'], project, requireState: true });
    await engine?.ping();
    const startedAt = performance.now();
    // The watchers first (the process fleet's supervisor among them): they would restart what is being removed.
    const stopped = await stopWatchers(watchersDir(driver.kind, { stateDir: flags['state-dir'], project }));
    if (stopped.length > 0 && !this.jsonEnabled()) {
      this.log(`Stopped ${stopped.map((w) => `${w.supervisor ? 'the supervisor' : 'the watcher (n3xus heal)'} (pid ${w.pid})`).join(', ')}.`);
    }
    const result = await down(driver, project, {
      volumes: flags.volumes,
      timeoutS: flags.timeout,
      ...(fleet === undefined ? {} : { compose: { fleet, project: composeProjectOf(fleet.file, flags.project ?? fleet.project), remove: flags.compose } }),
      onStage: (stage, count) => {
        if (!this.jsonEnabled()) this.log(`${stage}: removing ${count} ${count === 1 ? UNIT[driver.kind].one : UNIT[driver.kind].many}`);
      },
    });
    if (!this.jsonEnabled()) {
      const extra = [...result.networks.map((n) => `network ${n}`), ...result.volumes.map((v) => `volume ${v}`)];
      this.log(`Removed ${result.removed.length} ${result.removed.length === 1 ? UNIT[driver.kind].one : UNIT[driver.kind].many}${extra.length > 0 ? `, ${extra.join(', ')}` : ''} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (project ${project}).`);
      const left = result.composeLeft;
      if (left !== undefined) {
        this.log(`Left alone: ${left.containers.length} ${left.containers.length === 1 ? 'container' : 'containers'} docker compose made (project ${left.project}); n3xus down --compose removes them too, or n3xus launch --adopt takes them over.`);
      }
    }
    if (result.staleNetworks !== undefined) throw new StaleNetworkError(result.staleNetworks);
    return { ...result, watchersStopped: stopped.map((w) => ({ pid: w.pid, supervisor: w.supervisor })) };
  }
}
