import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { driverFlags, fleetFlags } from '../cli/fleet-flags.ts';
import { fleetContext } from '../cli/select-driver.ts';
import { plainView, renderLaunchSummary, treeView, type LaunchView } from '../cli/launch-view.ts';
import { checkPrerequisites, launch, type LaunchResult } from '../launch/launch.ts';
import { LaunchFailedError, InterruptedError, RestartedDuringLaunchError } from '../launch/errors.ts';
import { renderSteps } from '../launch/reconcile.ts';
import { buildFleetImages } from '../launch/build.ts';
import { parseReplicas } from '../launch/replicas.ts';
import { DEFAULT_BATCH_SIZE, parsePhase, planLaunch, precedes, selectionLabel } from '../plan/plan.ts';
import { renderPlan } from '../plan/render.ts';
import { fleetSecrets } from '../secrets/launch-secrets.ts';
import { DEFAULT_INTERVAL_S } from '../heal/options.ts';
import { ensureSupervisor } from '../heal/supervisor.ts';
import { takeLease, watchersDir, type WatcherEntry } from '../heal/watchers.ts';

export default class Launch extends BaseCommand {
  static override summary = 'Start the fleet stage by stage and wait until every service is healthy.';
  static override description = `Stages start in the seed's order: infra, core, federation, domain, compliance, puabo, vsuite, extended (in batches). Each service is created (or kept, started, recreated) through the Docker engine (or, with --driver process, as a local process: no Docker needed), then probed on its published 127.0.0.1 port until /ready answers.

Launch converges, as compose does: containers carry the project, service and a hash of their configuration, so a second launch on a healthy, unchanged fleet does nothing, a changed service is recreated alone, and an interrupted launch is finished by running it again.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --driver process',
    '<%= config.bin %> <%= command.id %> --driver swarm --replicas identity-registry=3',
    '<%= config.bin %> <%= command.id %> --phase federation',
    '<%= config.bin %> <%= command.id %> --phase 3 --with-deps --keep-going',
    '<%= config.bin %> <%= command.id %> --strict',
    '<%= config.bin %> <%= command.id %> --adopt',
    '<%= config.bin %> <%= command.id %> -f other-fleet.yml --project staging --json',
  ];

  static override flags = {
    ...fleetFlags,
    ...driverFlags,
    phase: Flags.string({ description: 'Ignite part of the fleet only: a seed phase 1-12 (5: federation-spine, identity-registry), a range of them (5-6), or a stage name (federation).' }),
    'with-deps': Flags.boolean({ description: 'With --phase: bring up what comes before it too (earlier stages and phases).', default: false }),
    'keep-going': Flags.boolean({ description: 'Go on after a failure with every service that does not depend on the failed one.', default: false }),
    strict: Flags.boolean({ description: 'Fail (exit 29) when a service exited and was restarted during the launch, even if it is up at the end.', default: false }),
    'dry-run': Flags.boolean({ description: 'Print the plan and what would change; change nothing.', default: false }),
    'batch-size': Flags.integer({ description: 'Services per batch of the extended stage.', default: DEFAULT_BATCH_SIZE, min: 1 }),
    concurrency: Flags.integer({ description: 'Containers created and started at once inside a batch.', default: 16, min: 1, max: 64 }),
    timeout: Flags.integer({ description: 'Seconds one service may take to become healthy.', default: 120, min: 1 }),
    build: Flags.boolean({ description: 'Build the service images from the fleet file first (needs the base images).', default: false }),
    verbose: Flags.boolean({ char: 'v', description: 'Show build output.', default: false }),
    adopt: Flags.boolean({ description: 'Take over a fleet docker compose started from the fleet file: each of its containers is replaced by n3xus\'s own, stage by stage; its PostgreSQL volume and network are kept.', default: false }),
    replicas: Flags.string({ description: 'Copies of a stateless service, as service=N (Swarm only); repeat for more services. A service not named runs one.', multiple: true }),
    supervise: Flags.boolean({
      description: 'With --driver process: once the fleet is up, leave a supervisor running (n3xus heal, detached, every 5 s) that restarts a crashed service, as the fleet file\'s restart: unless-stopped promises; status shows it, down stops it. --no-supervise leaves none.',
      default: true,
      allowNo: true,
    }),
  };

  async run(): Promise<LaunchResult & { supervisor?: WatcherEntry }> {
    const { flags } = await this.parse(Launch);
    const { fleet, project, composeProject, driver, engine } = await fleetContext(flags);
    const only = flags.phase === undefined ? undefined : parsePhase(flags.phase);
    const plan = planLaunch(fleet, { batchSize: flags['batch-size'], ...(only ? { only, withDeps: flags['with-deps'] } : {}) });
    if (only && plan.stages.length === 0) {
      throw Object.assign(new Error(`--phase ${flags.phase}: ${fleet.file} has no service in ${selectionLabel(only)} (a service's phase is its n3xus.phase label). Nothing was started.`), {
        code: 'UNKNOWN_STAGE',
        suggestions: ['See the stages and phases of this fleet file with: n3xus launch --dry-run'],
      });
    }
    const replicas = parseReplicas(flags.replicas ?? [], fleet, driver.kind);

    await engine?.ping();
    if (flags.build && engine === undefined) {
      throw Object.assign(new Error('--build builds Docker images; the process driver runs the bundles in dist/fleet instead.'), {
        code: 'INVALID_ARGUMENT',
        suggestions: ['Build the bundles with npm run build, then launch without --build (or launch on Docker: --driver docker --build).'],
      });
    }
    if (only && !flags['with-deps'] && !flags['dry-run']) {
      await checkPrerequisites(fleet, only, driver, project, fleet.services.filter((s) => precedes(only, s)));
    }
    if (flags.build && !flags['dry-run'] && engine !== undefined) {
      const planned = new Set(plan.stages.flatMap((s) => s.batches.flat()));
      await buildFleetImages(engine, fleet.services.filter((s) => planned.has(s.name)), {
        onLine: (line) => {
          if (flags.verbose && !this.jsonEnabled()) this.log(`  ${line}`);
        },
        onImage: (tag, ms) => {
          if (!this.jsonEnabled()) this.log(`built ${tag} in ${(ms / 1000).toFixed(1)} s`);
        },
      });
    }

    const planned = new Set(plan.stages.flatMap((s) => s.batches.flat()));
    const secrets = fleetSecrets(fleet, fleet.services.filter((s) => planned.has(s.name)), driver, { dryRun: flags['dry-run'] });
    if (secrets.generated && !this.jsonEnabled()) this.log(`Created the secrets of this install in ${secrets.secretsFile} (owner-only; keep it, never commit it).`);

    // Ctrl-C stops scheduling and reports; a second one leaves at once. What was created is labelled, so the next
    // launch picks it up.
    return this.interruptible(async (signal) => {
      const tty = Boolean(process.stdout.isTTY) && process.env.CI !== 'true';
      let view: LaunchView | undefined;
      // While it runs, the project's watchers (n3xus heal, the supervisor) decide nothing: they would undo its changes.
      // One that is creating or restarting instances right now is waited for: both would create the same ones.
      const release = flags['dry-run']
        ? () => undefined
        : await takeLease(watchersDir(driver.kind, { stateDir: flags['state-dir'], project }), 'launch', { signal, onWait: (what) => this.logToStderr(what) });
      try {
        const result = await launch({
          fleet,
          plan,
          driver,
          project,
          concurrency: flags.concurrency,
          replicas,
          secretValues: secrets.values,
          composeProject,
          adopt: flags.adopt,
          ...(secrets.beforeServices === undefined ? {} : { beforeServices: secrets.beforeServices }),
          healthTimeoutMs: flags.timeout * 1000,
          keepGoing: flags['keep-going'],
          dryRun: flags['dry-run'],
          signal,
          onEvent: (event) => {
            if (this.jsonEnabled() || flags['dry-run']) return;
            // The tree starts only once there is work to show, so a no-op launch prints one line, not a frame.
            if (event.type === 'stage-start' && view === undefined) view = tty ? treeView(plan) : plainView((line) => this.log(line));
            view?.onEvent(event);
          },
        });
        await view?.finish();
        if (flags['dry-run']) {
          if (!this.jsonEnabled()) {
            this.log(renderPlan(plan, fleet).trimEnd());
            this.log(`Changes (project ${project}):`);
            this.log(renderSteps(result.changes).trimEnd());
          }
          return result;
        }
        if (!this.jsonEnabled()) this.log(renderLaunchSummary(result));
        if (result.failures.length > 0) throw new LaunchFailedError(result);
        if (result.interrupted) throw new InterruptedError(result);
        if (flags.strict && result.restarts.length > 0) throw new RestartedDuringLaunchError(result);
        if (driver.kind !== 'process' || !flags.supervise) return result;
        release(); // before the supervisor's first sweep
        const { supervisor, started } = await ensureSupervisor({
          stateDir: flags['state-dir'],
          project,
          file: fleet.file,
          ...(flags['env-file'] === undefined ? {} : { envFile: flags['env-file'] }),
          intervalMs: DEFAULT_INTERVAL_S * 1000,
        });
        if (!this.jsonEnabled()) this.log(`Supervisor ${started ? 'started' : 'already running'}: pid ${supervisor.pid}, every ${supervisor.intervalMs / 1000} s; it restarts a crashed service (n3xus down stops it, its log: ${supervisor.logFile ?? 'logs/supervisor.log'}).`);
        return { ...result, supervisor };
      } finally {
        release();
        await view?.finish();
      }
    });
  }
}
