/**
 * `n3xus verify` as a user runs it: a spawned `node bin/run.js verify …` (the built CLI, `npm run build`) against
 * real servers started here. Exit codes, one clear message, no stack trace.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import auditTrail from '../../services/audit-trail/app.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import type { VerifyReport } from '../../src/verify/types.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { runCli, type CliRun } from '../support/cli.ts';
import { freePort } from '../support/local-servers.ts';
import { freshDatabase, missingServers, postgresUrl, redisUrl } from '../support/servers.ts';
import { startTestService } from '../support/service.ts';
import { lawlessServer, malformedServer, portOf, writeFleetFile, type FleetEntry } from './support.ts';

const root = projectRoot();
const built = path.join(root, 'dist/src/commands/verify.js');

/** Fails at once, saying what to do, when the CLI has not been built, or was built before verify's last change. */
function assertBuilt(): void {
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build before the CLI tests`);
  const pairs = [
    ['src/commands/verify.ts', 'dist/src/commands/verify.js'],
    ...readdirSync(path.join(root, 'src/verify')).map((f) => [`src/verify/${f}`, `dist/src/verify/${f.replace(/\.ts$/, '.js')}`]),
  ] as const;
  const stale = pairs.filter(([source, output]) => !existsSync(path.join(root, output)) || statSync(path.join(root, output)).mtimeMs < statSync(path.join(root, source)).mtimeMs);
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.map(([source]) => source).join(', ')}: run npm run build before the CLI tests`);
}

/** Runs `n3xus verify` without blocking this process, whose servers it is about to verify. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(['verify', ...args], { N3XUS_CACHE_DIR: cacheDir, ...env });
}

// Parsed fleet files are cached in a directory of this run, not the user's.
const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cache-'));
const STACK_FRAME = /^\s+at .+[(:]\d+/m;

describe.skipIf(missingServers !== '')(`n3xus verify (the CLI) ${missingServers}`, () => {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  let healthyFile: string;
  let brokenFile: string;
  let unavailableFile: string;
  let silentFile: string;
  let outDir: string;

  beforeAll(async () => {
    assertBuilt();
    const databaseUrl = await freshDatabase();
    for (const [definition, service] of [[identityRegistry, 'identity-registry'], [auditTrail, 'audit-trail']] as const) {
      const { svc } = await startTestService(definition, { service, databaseUrl, redisUrl });
      running.push(svc);
    }
    await Promise.all(running.map((s) => s.ready));
    const [identity, audit] = running as [RunningService, RunningService];
    const lawless = await lawlessServer('lawless');
    const malformed = await malformedServer();
    closers.push(lawless.close, malformed.close);
    const healthy: FleetEntry[] = [
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
      { name: 'identity-registry', stage: 'federation', group: 'federation', category: 'identity', port: identity.port },
      { name: 'audit-trail', stage: 'compliance', group: 'compliance', category: 'compliance', port: audit.port },
    ];
    healthyFile = await writeFleetFile(healthy);
    brokenFile = await writeFleetFile([
      ...healthy,
      { name: 'lawless', stage: 'domain', group: 'domain-bad', category: 'a', port: lawless.port },
      { name: 'malformed', stage: 'domain', group: 'domain-bad', category: 'b', port: malformed.port },
    ]);
    // Down, but nothing lawless: availability alone fails.
    unavailableFile = await writeFleetFile([...healthy, { name: 'gone', stage: 'domain', group: 'domain-bad', category: 'b', port: await freePort() }]);
    silentFile = await writeFleetFile([
      { name: 'gone-a', stage: 'core', group: 'core-runtime', category: 'a', port: await freePort() },
      { name: 'gone-b', stage: 'core', group: 'core-runtime', category: 'b', port: await freePort() },
    ]);
    outDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cli-'));
  });

  afterAll(async () => {
    await Promise.all([...running.map((s) => s.close()), ...closers.map((close) => close())]);
  });

  it('exits 0 on a healthy fleet, prints the --json report and writes the --junit file', async () => {
    const junit = path.join(outDir, 'nested', 'verify.xml');
    const run = await cli(['--full', '-f', healthyFile, '--no-docker', '--threshold', '100', '--json', '--junit', junit]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as VerifyReport;
    expect(report).toMatchObject({ schemaVersion: 2, mode: 'full', passed: true, operationalPercent: 100, counts: { services: 4, operational: 4 } });
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="n3xus verify --full" tests="\d+" failures="0" errors="0" skipped="0"/);
  });

  it('--no-functional leaves the functional checks out, and the report says so', async () => {
    const on = JSON.parse((await cli(['-f', healthyFile, '--no-docker', '--json'])).stdout) as VerifyReport;
    expect(on.functional).toEqual({ ran: true });
    expect(on.services.find((s) => s.name === 'audit-trail')!.checks.map((c) => c.name)).toContain('functional');
    const run = await cli(['-f', healthyFile, '--no-docker', '--no-functional', '--json']);
    expect(run.code).toBe(0);
    const off = JSON.parse(run.stdout) as VerifyReport;
    expect(off.functional).toEqual({ ran: false, reason: '--no-functional' });
    expect(off.services.flatMap((s) => s.checks.map((c) => c.name))).not.toContain('functional');
    expect((await cli(['-f', healthyFile, '--no-docker', '--no-functional'])).stdout).toContain('functional checks: not run (--no-functional)');
  });

  it('exits 20 below the threshold, naming each failing service and why, in plain text without a stack trace', async () => {
    const run = await cli(['--full', '-f', unavailableFile, '--no-docker']);
    expect(run.code).toBe(20);
    expect(run.stdout).toMatch(/✗ gone +health: GET \/health: connection refused/);
    expect(run.stdout).toContain('LAW: enforced by every service checked (2 checks)');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('FAILED: 4/5 operational (80 %), threshold 90 %; not operational: gone');
    expect(run.stdout).not.toMatch(STACK_FRAME);
    // eslint-disable-next-line no-control-regex -- not a terminal: no colour escapes
    expect(run.stdout).not.toMatch(/\u001b\[/);
  });

  it('exits 12 when services do not enforce the law, naming them apart from availability', async () => {
    const run = await cli(['--full', '-f', brokenFile, '--no-docker']);
    expect(run.code).toBe(12);
    expect(run.stdout).toContain('✗ lawless    law: GET /metrics without a handshake answered 200; expected 451 (the law is not enforced)');
    expect(run.stdout).toMatch(/✗ malformed +health: GET \/health answered 200 with "OK", which is not a JSON object/);
    expect(run.stdout).toContain('LAW VIOLATED: 2 services do not enforce the N3XUS LAW: lawless, malformed');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('FAILED: 4/6 operational (66.6 %), threshold 90 %; not operational: lawless, malformed; and the N3XUS LAW is violated');
    expect(run.stdout).not.toMatch(STACK_FRAME);
  });

  it('exits with the report, not an error envelope, under --json: the law and availability each with its verdict', async () => {
    const run = await cli(['--full', '-f', brokenFile, '--no-docker', '--json']);
    expect(run.code).toBe(12);
    expect(JSON.parse(run.stdout)).toMatchObject({ passed: false, availabilityPassed: false, law: { passed: false, violations: [{ service: 'lawless', code: 'law-not-enforced' }, { service: 'malformed', code: 'law-not-enforced' }] }, counts: { failed: 2 } });
    const unavailable = await cli(['--full', '-f', unavailableFile, '--no-docker', '--json']);
    expect(unavailable.code).toBe(20);
    expect(JSON.parse(unavailable.stdout)).toMatchObject({ passed: false, availabilityPassed: false, law: { passed: true, violations: [] } });
  });

  it('passes an available fleet at a lower threshold, but never one that breaks the law', async () => {
    const run = await cli(['-f', unavailableFile, '--full', '--no-docker', '--threshold', '80']);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^PASSED: 4\/5 operational/);
    const lawless = await cli(['-f', brokenFile, '--full', '--no-docker', '--threshold', '0']);
    expect(lawless.code).toBe(12);
    expect(lawless.stdout.trimEnd().split('\n').at(-1)).toBe('FAILED: the N3XUS LAW is violated; availability 4/6 operational (66.6 %), threshold 0 %');
  });

  it.each([['101'], ['-5'], ['ninety']])('exits 22 for --threshold %s with one clear message', async (value) => {
    const run = await cli(['-f', healthyFile, '--no-docker', '--threshold', value]);
    expect(run.code).toBe(22);
    expect(run.message).toContain(`--threshold must be a number from 0 to 100 (a percentage of operational services); got "${value}".`);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stdout).toBe('');
  });

  it('exits 22 with a JSON error under --json', async () => {
    const run = await cli(['-f', healthyFile, '--no-docker', '--timeout', '0', '--json']);
    expect(run.code).toBe(22);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('--timeout must be a whole number') } });
  });

  it('exits 2 for an unknown flag, naming it', async () => {
    const run = await cli(['--bogus']);
    expect(run.code).toBe(2);
    expect(run.message).toContain('Nonexistent flag: --bogus');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('exits 21, "could not verify", when nothing answers', async () => {
    const run = await cli(['-f', silentFile, '--no-docker']);
    expect(run.code).toBe(21);
    expect(run.message).toContain('Cannot verify: nothing answered on 127.0.0.1 (all 2 targets refused the connection or timed out');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('exits 21 when the host does not resolve, before probing anything', async () => {
    const run = await cli(['-f', healthyFile, '--no-docker', '--host', 'no-such-host.invalid']);
    expect(run.code).toBe(21);
    expect(run.message).toContain('Cannot verify: the host "no-such-host.invalid" does not resolve');
  });

  it('exits 22 for a --seed that is not a whole number, and a --sample-size this fleet cannot have, before any probe', async () => {
    const seed = await cli(['-f', healthyFile, '--seed', 'abc']);
    expect(seed.code).toBe(22);
    expect(seed.message).toContain(`--seed must be a whole number from 0 to 4294967295 (a sample's seed, as a report prints it); got "abc".`);
    expect(seed.stderr).not.toMatch(STACK_FRAME);
    const size = await cli(['-f', healthyFile, '--sample-size', '1', '--no-docker']);
    expect(size.code).toBe(22);
    expect(size.message).toContain('--sample-size must be from 2 (one service per category) to 2 (every service) for this fleet; got 1.');
  });

  it('prints the seed of a sample, which draws the same sample again', async () => {
    const run = await cli(['-f', healthyFile, '--no-docker', '--seed', '7', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as VerifyReport;
    expect(report.sample).toEqual({ seed: 7, size: 2 });
    const text = await cli(['-f', healthyFile, '--no-docker']);
    const drawn = /drawn from seed (\d+) \(--seed \1 draws it again\)/.exec(text.stdout);
    expect(drawn).not.toBeNull();
  });

  it('with --escalate, verifies every service when the sample fails, and names the sample that failed', async () => {
    const run = await cli(['-f', brokenFile, '--no-docker', '--seed', '3', '--escalate', '--json']);
    expect(run.code).toBe(12);
    const report = JSON.parse(run.stdout) as VerifyReport;
    expect(report.mode).toBe('full');
    expect(report.escalatedFrom).toMatchObject({ seed: 3, failed: expect.arrayContaining(['lawless', 'malformed']) });
    expect(report.counts.services).toBe(6);
  });

  it('writes the --html page whatever the verdict: the runs that exit 12 and 20 leave theirs', async () => {
    for (const [file, code] of [[brokenFile, 12], [unavailableFile, 20]] as const) {
      const html = path.join(outDir, `html-${code}`, 'verify.html');
      const run = await cli(['--full', '-f', file, '--no-docker', '--html', html]);
      expect(run.code).toBe(code);
      expect(run.stdout).toContain(`HTML report: ${html}`);
      const page = await readFile(html, 'utf8');
      expect(page).toMatch(/^<!DOCTYPE html>/);
      expect(page).toContain('<title>n3xus verify --full: FAILED');
      expect(page).toMatch(code === 12 ? /<h2>LAW VIOLATED<\/h2>/ : /<h2>LAW: enforced<\/h2>/);
    }
  });

  // On a fleet where nothing answers (exit 21 once probed), exit 22 shows the path was refused before any probe.
  it.each([
    ['a directory', () => outDir, (file: string) => `--html must name a file; ${JSON.stringify(file)} is a directory.`],
    ['under a file', () => path.join(healthyFile, 'verify.html'), (file: string) => `--html ${JSON.stringify(file)}: cannot create its directory ${JSON.stringify(healthyFile)} (a part of the path is a file, not a directory).`],
  ])('exits 22 before any probe, with one clear message, for an --html path %s', async (_case, pathOf, message) => {
    const file = pathOf();
    const run = await cli(['-f', silentFile, '--no-docker', '--html', file]);
    expect(run.code).toBe(22);
    expect(run.message).toContain(message(file));
    expect(run.message).toContain('Name a file in a directory you can write to, for example: --html reports/verify.html');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stdout).toBe('');
  });

  // Permission bits do not stop root, but sysfs lets nobody create a file, root included: as root (CI) the read-only
  // directory is /sys/fs, else one made read-only here.
  it('exits 22 before any probe for an --html (or --junit) path in a read-only directory', async () => {
    let readOnly = '/sys/fs';
    if (process.getuid?.() !== 0) {
      readOnly = path.join(outDir, 'read-only');
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
    }
    for (const flag of ['--html', '--junit']) {
      const file = path.join(readOnly, 'n3xus-report');
      const run = await cli(['-f', silentFile, '--no-docker', flag, file]);
      expect(run.code).toBe(22);
      expect(run.message).toContain(`${flag} ${JSON.stringify(file)}: the report cannot be written there (permission denied).`);
      expect(run.stderr).not.toMatch(STACK_FRAME);
      expect(existsSync(file)).toBe(false);
    }
  });

  it('exits 22 for a --host that is a URL', async () => {
    const run = await cli(['-f', healthyFile, '--host', 'http://127.0.0.1:3001']);
    expect(run.code).toBe(22);
    expect(run.message).toContain('Leave out the scheme');
  });

  it('exits 7 for a fleet file that does not exist, naming it', async () => {
    const run = await cli(['-f', path.join(outDir, 'nope.yml'), '--no-docker']);
    expect(run.code).toBe(7);
    expect(run.message).toContain('nope.yml: no such file');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });
});
