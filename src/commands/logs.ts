import { StringDecoder } from 'node:string_decoder';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags } from '../cli/fleet-flags.ts';
import { selectDriver } from '../cli/select-driver.ts';
import { loadCommandFleet } from '../cli/load-fleet.ts';
import { DEFAULT_PROJECT } from '../launch/labels.ts';
import { findServiceContainer } from '../logs/service-logs.ts';

/** What `n3xus logs --json` returns. */
export interface LogsResult {
  service: string;
  project: string;
  container: { id: string; name: string; status: string };
  stdout: string;
  stderr: string;
  /** True when Ctrl-C ended a `--follow`. */
  interrupted: boolean;
}

export default class Logs extends BaseCommand {
  static override summary = "Print a service's output (stdout and stderr) from its container.";
  static override description =
    'Finds the container launched for the service by its labels and prints what it wrote: stdout to stdout, stderr to stderr. With --follow, keeps printing until the container stops or Ctrl-C.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> identity-registry',
    '<%= config.bin %> <%= command.id %> postgres --tail 50',
    '<%= config.bin %> <%= command.id %> audit-trail --follow --timestamps',
  ];
  static override args = {
    service: Args.string({ description: 'Service name, as in the compose file.', required: true }),
  };
  static override flags = {
    follow: Flags.boolean({ description: 'Keep printing new output until the container stops (or Ctrl-C).', default: false }),
    tail: Flags.integer({ description: 'Only the last N lines of output so far [default: all].', min: 0 }),
    timestamps: Flags.boolean({ char: 't', description: "Prefix each line with the engine's timestamp (Docker only: a process fleet's lines carry their own).", default: false }),
    project: Flags.string({ description: `Project the fleet was launched as [default: the compose file's name, else ${DEFAULT_PROJECT}].` }),
    file: Flags.string({ char: 'f', description: 'Compose file of the fleet [default: compose/docker-compose.full.yml].' }),
    'env-file': fleetFlags['env-file'],
    ...driverFlags,
  };

  async run(): Promise<LogsResult> {
    const { args, flags } = await this.parse(Logs);
    const { fleet, project } = await loadCommandFleet(flags);
    const { driver } = await selectDriver({ driver: flags.driver, stateDir: flags['state-dir'], project, requireState: true });
    if (flags.timestamps && !driver.logTimestamps) {
      // Docker keeps a time for each line it stores; a process writes its log file itself, so there is none to show.
      throw Object.assign(
        new Error(`--timestamps needs the time Docker stores with each line, and the fleet of project "${project}" runs as processes, which write their log files themselves. A kit service's lines carry their own "ts".`),
        { code: 'INVALID_ARGUMENT', suggestions: [`Run it without --timestamps: n3xus logs ${args.service} --driver process`] },
      );
    }
    const container = await findServiceContainer(driver, fleet, args.service, project);

    const json = this.jsonEnabled();
    const text = { stdout: '', stderr: '' };
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    // Ctrl-C ends a --follow cleanly (exit 0) instead of killing the process mid-line.
    return this.interruptible(async (signal) => {
      const { interrupted } = await driver.streamLogs(container.id, {
        follow: flags.follow,
        ...(flags.tail === undefined ? {} : { tailLines: flags.tail }),
        timestamps: flags.timestamps,
        signal,
        onOutput: (stream, payload) => {
          if (json) text[stream] += decoders[stream].write(payload);
          else (stream === 'stdout' ? process.stdout : process.stderr).write(payload);
        },
      });
      if (json) {
        text.stdout += decoders.stdout.end();
        text.stderr += decoders.stderr.end();
      }
      return { service: args.service, project, container: { id: container.id, name: container.name, status: container.status }, ...text, interrupted };
    });
  }
}
