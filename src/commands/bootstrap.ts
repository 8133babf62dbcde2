import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_CODES } from '../cli/base-command.ts';
import { fleetFlags } from '../cli/fleet-flags.ts';
import { chooseRenderer, runBootstrap, type BootstrapResult } from '../bootstrap/bootstrap.ts';
import { BootstrapFailedError } from '../bootstrap/errors.ts';
import { driverFlags } from '../cli/fleet-flags.ts';
import { loadCommandFleet } from '../cli/load-fleet.ts';
import { rotateSecrets } from '../secrets/provision.ts';
import { createInterface } from 'node:readline/promises';
import { projectName } from '../cli/fleet-flags.ts';
import { selectDriver } from '../cli/select-driver.ts';

export default class Bootstrap extends BaseCommand {
  static override summary = 'Check that this machine can run the fleet; with --fix, make it so.';
  static override description = `Checks, as a list: the Docker engine answers (and its API version); CPU, memory and disk against what the fleet's containers need (a warning that says what to expect, never a refusal); every port the fleet publishes is free on 127.0.0.1, or held by this project's own containers; N3XUS_HANDSHAKE matches what the fleet's services carry; the compose file is valid; the base images are present or can be built here without a registry; the fleet's networks exist.

For a fleet of local processes (--driver process, or auto without a Docker engine), the Docker checks are not needed, and PostgreSQL and Redis must be installed: --fix installs them with apt-get on Debian and Ubuntu (as root or through sudo, once you say yes, or with --yes; no system service is started), and prints the command to run on other systems.

--fix creates the missing networks, the install's secrets file (owner-only: the PostgreSQL and Redis passwords, and the key every service's own passwords derive from) and the secret files the containers mount, and builds the missing images, then checks again. Exits 0 when no check failed (warnings allowed), else 15 with each failed check and how to fix it.

--rotate-secrets replaces every password on the running fleet: the servers first (PostgreSQL's roles, Redis's users), then the secrets file and the secret files, then a launch recreates the services with them. Rows are kept.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --fix',
    '<%= config.bin %> <%= command.id %> --fix --yes --driver process',
    '<%= config.bin %> <%= command.id %> --fix --swarm',
    '<%= config.bin %> <%= command.id %> --rotate-secrets',
    '<%= config.bin %> <%= command.id %> -f compose/docker-compose.full.yml --project staging --json',
  ];
  static override flags = {
    // The same -f, --env-file and -p as launch, so both read the compose file alike and mean the same project.
    ...fleetFlags,
    fix: Flags.boolean({ description: 'Create missing networks and build missing images (for the process driver: install PostgreSQL and Redis), then check again.' }),
    yes: Flags.boolean({ char: 'y', description: 'With --fix: install missing system packages (PostgreSQL, Redis) without asking.', dependsOn: ['fix'] }),
    'rotate-secrets': Flags.boolean({ description: 'Replace every password of the running fleet (PostgreSQL, Redis, each service\'s), keeping its data, then launch to roll the services onto them.', default: false, exclusive: ['fix'] }),
    ...driverFlags,
    swarm: Flags.boolean({ description: 'Check for --driver swarm: the engine must be a swarm manager (with --fix, a one-node swarm on 127.0.0.1 is made) and the networks overlays.', default: false }),
  };

  async run(): Promise<BootstrapResult> {
    const { flags } = await this.parse(Bootstrap);
    if (flags['rotate-secrets']) return this.rotate(flags);
    const renderer = chooseRenderer({ json: this.jsonEnabled(), isTTY: process.stdout.isTTY === true, ci: process.env.CI === 'true' });
    const driver = flags.swarm ? 'swarm' : flags.driver === 'auto' ? (await selectDriver({ driver: 'auto', stateDir: flags['state-dir'], project: projectName(flags.project, undefined) })).driver.kind : flags.driver;
    // In a terminal, --fix asks before installing system packages; elsewhere only --yes installs them.
    const ask = process.stdin.isTTY && process.stdout.isTTY && process.env.CI !== 'true' && !this.jsonEnabled() ? askYesNo : undefined;
    const result = await runBootstrap({ file: flags.file, envFile: flags['env-file'], project: flags.project, fix: flags.fix, swarm: flags.swarm, renderer, driver, yes: flags.yes, ...(ask === undefined ? {} : { ask }) });
    if (result.ok) {
      const warnings = result.checks.filter((c) => c.status === 'warn').length;
      this.log(`Ready${warnings > 0 ? `, with ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}` : ''}.`);
    } else if (this.jsonEnabled()) {
      // With --json the whole checklist is the answer, failed or not; the exit code still says it failed.
      process.exitCode = EXIT_CODES.BOOTSTRAP_FAILED;
    } else {
      throw new BootstrapFailedError(result.checks);
    }
    return result;
  }

  /** --rotate-secrets: the servers, then the files, then a launch that recreates what mounts them. */
  private async rotate(flags: { file: string; 'env-file'?: string | undefined; project?: string | undefined; driver: string; 'state-dir': string; swarm: boolean }): Promise<BootstrapResult> {
    const { fleet } = await loadCommandFleet(flags);
    const rotated = await rotateSecrets(fleet);
    if (!this.jsonEnabled()) {
      this.log(`Rotated the secrets in ${rotated.secretsFile}: the PostgreSQL superuser and ${rotated.roles} service roles, the Redis admin and ${rotated.redisUsers} service users${rotated.redisApplied ? '' : ' (Redis was not running: it reads them when started)'}.`);
      this.log('Launching, to recreate the services with them:');
    }
    const driver = flags.swarm && flags.driver === 'auto' ? 'swarm' : flags.driver;
    const argv = ['-f', flags.file, ...(flags['env-file'] === undefined ? [] : ['--env-file', flags['env-file']]), ...(flags.project === undefined ? [] : ['--project', flags.project]), '--driver', driver, '--state-dir', flags['state-dir']];
    await this.config.runCommand('launch', argv);
    return { ok: true, checks: [] };
  }
}

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
