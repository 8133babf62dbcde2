import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_CODES } from '../cli/base-command.ts';
import { driverFlags, type DriverChoice } from '../cli/fleet-flags.ts';
import { DEFAULT_PROJECT } from '../launch/labels.ts';
import type { InstanceSource } from '../verify/containers.ts';
import type { VerifyReport } from '../verify/types.ts';
import type { VerifyOptions } from '../verify/verify.ts';

export default class Verify extends BaseCommand {
  static override summary = 'Verify a running fleet: health, the N3XUS LAW, readiness, containers, inter-service flows.';
  static override description = [
    'Without --full, samples PostgreSQL, Redis and one service per category (or --sample-size of them), drawn at',
    'random from a seed that the report prints (--seed repeats the sample); with --full, checks all 98 services',
    'and the inter-service flows (federation-gateway routing, event-bus → webhook-dispatcher → audit-trail, every declared call).',
    'Exits 0 when every service enforces the N3XUS LAW and the operational percentage is at or above --threshold;',
    '12 when any service does not enforce the law (whatever the threshold), else 20 below the threshold; 21 when',
    'nothing could be verified, 22 for a bad flag value. --json prints the report (schema: docs/verify-schema.md).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --full --junit reports/verify.xml',
    '<%= config.bin %> <%= command.id %> --full --html reports/verify.html',
    '<%= config.bin %> <%= command.id %> --full --threshold 100 --json',
    '<%= config.bin %> <%= command.id %> --host staging.example.com --no-docker',
    '<%= config.bin %> <%= command.id %> --full --bench',
    '<%= config.bin %> <%= command.id %> --full --driver process',
    '<%= config.bin %> <%= command.id %> --seed 42 --sample-size 30 --escalate',
  ];
  static override flags = {
    file: Flags.string({ char: 'f', description: "The fleet's compose file [default: compose/docker-compose.full.yml]." }),
    full: Flags.boolean({ description: 'Check every service and the inter-service flows, not a sample.', default: false }),
    host: Flags.string({ description: 'Host the fleet publishes its ports on [default: 127.0.0.1].' }),
    threshold: Flags.string({ description: 'Operational percentage needed to pass, 0-100 [default: 90].' }),
    timeout: Flags.string({ description: 'Deadline of each request, in milliseconds; one that gets no answer in time is asked once more with twice the deadline [default: 2000].' }),
    concurrency: Flags.string({ description: 'Requests in flight at once [default: 64].' }),
    bench: Flags.boolean({ description: 'Also measure latency percentiles per service with a short burst.', default: false }),
    seed: Flags.string({ description: "The sample's seed, 0 to 4294967295: the same seed draws the same sample [default: a random one, printed in the report]." }),
    'sample-size': Flags.string({ description: 'Services in the sample, from one per category to all [default: one per category].' }),
    escalate: Flags.boolean({ description: 'When the sample fails, verify every service (--full) and gate on that.', default: false }),
    functional: Flags.boolean({
      description: "Functional checks: through each checked service's own API, write a record verify owns, read it back (twice), delete it and see it gone. --no-functional leaves them out for a read-only audit; the report says so.",
      default: true,
      allowNo: true,
    }),
    junit: Flags.string({ description: 'Write a JUnit XML report (a test case per check) to this file.' }),
    html: Flags.string({ description: 'Write the report as one self-contained HTML page (the fleet as a grid coloured by verdict, each failure and why) to this file.' }),
    docker: Flags.boolean({
      description: 'Container checks: --docker requires them, --no-docker skips them [default: when the engine has containers of the project].',
      allowNo: true,
    }),
    'env-file': Flags.string({ description: "KEY=VALUE file for the compose file's variables [default: airgap.env next to it, when present; the environment wins]." }),
    project: Flags.string({ char: 'p', description: 'The n3xus.project label of the fleet\'s containers [default: the compose project, else "n3xus"].' }),
    ...driverFlags,
    'in-network': Flags.boolean({
      description: "Verify from inside the fleet's network, in a one-shot container of the CLI's image (n3xus/cli:3.0): every service by its name, every replica at its own address. Always so with --driver swarm.",
      default: false,
    }),
    // The run inside the network reads the fleet and the instances the CLI outside hands it (see src/verify/in-network.ts).
    'network-input': Flags.boolean({ hidden: true, default: false }),
  };

  async run(): Promise<VerifyReport> {
    const { flags } = await this.parse(Verify);
    // Loaded here, not at the top: `n3xus --help` and other commands must not pay for verify's imports.
    const [{ parseConcurrency, parseHost, parseProject, parseSampleSize, parseSeed, parseThreshold, parseTimeoutMs }, { verifyFleet }, { prepareReportFile, writeReportFile }, { createProgress, paintFor }] = await Promise.all([
      import('../verify/options.ts'),
      import('../verify/verify.ts'),
      import('../verify/report-file.ts'),
      import('../verify/terminal.ts'),
    ]);
    const threshold = parseThreshold(flags.threshold);
    const timeoutMs = parseTimeoutMs(flags.timeout);
    const concurrency = parseConcurrency(flags.concurrency);
    const host = parseHost(flags.host);
    const project = parseProject(flags.project);
    const seed = parseSeed(flags.seed);
    const sampleSize = parseSampleSize(flags['sample-size']);
    if (flags.junit !== undefined) await prepareReportFile('--junit', flags.junit);
    if (flags.html !== undefined) await prepareReportFile('--html', flags.html);
    const docker = flags.docker === undefined ? 'auto' : flags.docker ? 'on' : 'off';
    const inside = flags['network-input'] ? (await import('../verify/in-network.ts')).decodeInput(process.env.N3XUS_VERIFY_INPUT) : undefined;
    const fromOutside = inside === undefined && (flags['in-network'] || flags.driver === 'swarm');
    const instances = inside !== undefined || fromOutside ? undefined : await this.instanceSource(flags, project);

    // Inside the network (the run the CLI outside started): the fleet and the instances it was handed.
    const given: Partial<VerifyOptions> =
      inside === undefined
        ? {}
        : { addressing: 'network', fleet: inside.fleet, project: inside.project, instances: { kind: inside.driver, where: inside.where, list: async () => inside.instances } };
    const progress = this.jsonEnabled() ? undefined : createProgress(process.stderr);
    let report: VerifyReport;
    try {
      report = fromOutside
        ? await this.verifyInsideNetwork(flags, project, docker)
        : await verifyFleet({
            mode: flags.full ? 'full' : 'sample',
            host: inside?.where ?? host,
            threshold,
            timeoutMs,
            concurrency,
            bench: flags.bench,
            docker,
            escalate: flags.escalate,
            functional: flags.functional,
            ...(seed === undefined ? {} : { seed }),
            ...(sampleSize === undefined ? {} : { sampleSize }),
            ...(flags.file === undefined ? {} : { fleetFile: flags.file }),
            ...(project === undefined ? {} : { project }),
            ...(instances === undefined ? {} : { instances }),
            ...(flags['env-file'] === undefined ? {} : { envFile: flags['env-file'] }),
            ...(progress ? { onProgress: progress.update } : {}),
            ...given,
          });
    } finally {
      progress?.done();
    }
    // Written whatever the verdict: a failing fleet's report is the one people open.
    if (flags.junit !== undefined) await writeReportFile('--junit', flags.junit, (await import('../verify/junit.ts')).renderJunit(report));
    if (flags.html !== undefined) await writeReportFile('--html', flags.html, (await import('../verify/html.ts')).renderHtml(report));
    if (!this.jsonEnabled()) {
      const { renderSummary } = await import('../verify/summary.ts');
      this.log(renderSummary(report, paintFor(process.stdout)));
      if (flags.junit !== undefined) this.log(`JUnit report: ${flags.junit}`);
      if (flags.html !== undefined) this.log(`HTML report: ${flags.html}`);
    }
    // A verdict, not an error: the report is still printed (and returned for --json). The law gates on its own,
    // with its own exit code, whatever the threshold; below the threshold otherwise.
    if (!report.law.passed) process.exitCode = EXIT_CODES.LAW_VIOLATION;
    else if (!report.passed) process.exitCode = EXIT_CODES.VERIFY_BELOW_THRESHOLD;
    return report;
  }

  /**
   * Verifies from inside the fleet's network: lists the instances through the driver (Swarm, or Docker with
   * --in-network), then runs verify in a one-shot container of the CLI's image on the fleet's network and returns
   * its report. The flags that shape the checks go along; where the report is written stays out here.
   */
  private async verifyInsideNetwork(
    flags: {
      driver: DriverChoice;
      'state-dir': string;
      file?: string | undefined;
      'env-file'?: string | undefined;
      project?: string | undefined;
      full: boolean;
      threshold?: string | undefined;
      timeout?: string | undefined;
      concurrency?: string | undefined;
      bench: boolean;
      seed?: string | undefined;
      'sample-size'?: string | undefined;
      escalate: boolean;
      functional: boolean;
    },
    project: string | undefined,
    docker: 'auto' | 'on' | 'off',
  ): Promise<VerifyReport> {
    const [{ loadCommandFleet }, { selectDriver }, { reachNetworks }, { verifyFromInside }, { verifyServices }] = await Promise.all([
      import('../cli/load-fleet.ts'),
      import('../cli/select-driver.ts'),
      import('../launch/desired.ts'),
      import('../verify/in-network.ts'),
      import('../verify/fleet-source.ts'),
    ]);
    const loaded = await loadCommandFleet({ file: flags.file, 'env-file': flags['env-file'], project: project ?? flags.project });
    const { driver, engine } = await selectDriver({ driver: flags.driver === 'auto' ? 'docker' : flags.driver, stateDir: flags['state-dir'], project: loaded.project, fleet: loaded.fleet });
    if (engine === undefined || (driver.kind !== 'docker' && driver.kind !== 'swarm')) {
      throw Object.assign(new Error(`--in-network runs verify in a container on the fleet's network, and the ${driver.kind} driver has none: its services listen on this machine.`), {
        code: 'INVALID_ARGUMENT',
        suggestions: ['Verify a process fleet from here: n3xus verify --driver process'],
      });
    }
    await engine.ping();
    const networks = reachNetworks(loaded.fleet, loaded.project).map((n) => n.name);
    const where = `inside ${networks.length === 1 ? 'network' : 'networks'} ${networks.join(', ')}`;
    const instances = docker === 'off' ? [] : await driver.observe(loaded.project);
    if (!this.jsonEnabled()) process.stderr.write(`verifying from ${where} (${driver.kind} driver, image n3xus/cli:3.0)…\n`);
    const args = [
      ...(flags.full ? ['--full'] : []),
      ...(flags.bench ? ['--bench'] : []),
      ...(docker === 'off' ? ['--no-docker'] : ['--docker']),
      ...(flags.threshold === undefined ? [] : ['--threshold', flags.threshold]),
      ...(flags.timeout === undefined ? [] : ['--timeout', flags.timeout]),
      ...(flags.concurrency === undefined ? [] : ['--concurrency', flags.concurrency]),
      ...(flags.seed === undefined ? [] : ['--seed', flags.seed]),
      ...(flags['sample-size'] === undefined ? [] : ['--sample-size', flags['sample-size']]),
      ...(flags.escalate ? ['--escalate'] : []),
      ...(flags.functional ? [] : ['--no-functional']),
    ];
    return verifyFromInside(engine, networks, { project: loaded.project, where, driver: driver.kind, fleet: { file: loaded.fleet.file, project: loaded.project, services: verifyServices(loaded.fleet.services) }, instances }, args);
  }

  /**
   * Where the container checks read the fleet's instances: the process driver's state when `--driver process` (or
   * `auto`, finding this project in the state directory or no Docker engine) chooses processes; undefined for
   * Docker. `--driver process` without a state fails here, before any probe. What `auto` asks (the state, then the
   * engine) is handed to verify as a lookup, which it runs once its probes are out.
   */
  private async instanceSource(flags: { driver: DriverChoice; 'state-dir': string; file?: string | undefined; 'env-file'?: string | undefined }, project: string | undefined): Promise<VerifyOptions['instances']> {
    if (flags.driver === 'docker') return undefined;
    const lookup = async (name: string): Promise<InstanceSource | undefined> => {
      const { selectDriver } = await import('../cli/select-driver.ts');
      const { driver } = await selectDriver({ driver: flags.driver, stateDir: flags['state-dir'], project: name, requireState: flags.driver === 'process' });
      // Docker's container checks keep their own timeouts and auto-mode fallbacks (see observeContainers).
      if (driver.kind === 'docker') return undefined;
      const where = driver.kind === 'process' ? `the process driver's state (${flags['state-dir']})` : 'the swarm';
      // The process driver's image IDs hash its bundles and need the whole fleet to find them: its instances are
      // compared by config hash alone (see observeContainers). Swarm's carry the ID launch resolved, as a label.
      const images = driver.kind === 'swarm' ? { resolveImages: (refs: readonly string[]) => driver.resolveImages(refs) } : {};
      return { kind: driver.kind, where, list: (p) => driver.observe(p), inspect: (id) => driver.inspect(id), ...images };
    };
    if (flags.driver === 'auto') return lookup; // verify passes the project it reads from the fleet file
    const { loadVerifyFleet } = await import('../verify/fleet-source.ts');
    const fleet = await loadVerifyFleet(flags.file, flags['env-file'] === undefined ? {} : { envFile: flags['env-file'] });
    return lookup(project ?? fleet.project ?? DEFAULT_PROJECT);
  }
}
