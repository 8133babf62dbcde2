/**
 * launch → status → logs → verify --full → down with `--driver process`, as a user runs them: the built CLI in a
 * child process per command, so every command after launch finds the fleet from the state directory alone. A
 * seven-service cut of our compose file (with the event-bus → webhook-dispatcher → audit-trail flow) on free
 * ports; PostgreSQL and Redis are the driver's own local servers.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cutSecrets } from '../support/fleet-cut.ts';
import { findPostgres, findRedis } from '../../src/drivers/process/local-servers.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { isZombie, pidAlive } from '../../src/process/detached.ts';
import { freePort } from '../support/local-servers.ts';

const ROOT = projectRoot();
const PICKED = ['postgres', 'redis', 'v-supercore', 'identity-registry', 'event-bus', 'webhook-dispatcher', 'audit-trail'];
const missing = [
  findPostgres() ? '' : 'PostgreSQL (postgres, initdb)',
  findRedis() ? '' : 'redis-server',
  existsSync(path.join(ROOT, 'dist/src/commands/launch.js')) && existsSync(path.join(ROOT, 'dist/fleet/runtime/bin/start.mjs')) ? '' : 'dist/ (npm run build)',
].filter((m) => m !== '');
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`The process driver CLI tests need ${missing.join(', ')}, and CI must run them.`);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

let dir = '';
let file = '';
let supervisorPid = 0;
const project = `pdcli-${process.pid}`;

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/run.js'), ...args],
      { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, OCLIF_COLUMNS: '400', CI: 'true' }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const fleetArgs = (): string[] => ['-f', file, '--project', project, '--driver', 'process'];
const noStackTrace = (run: CliRun): void => expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe.skipIf(missing.length > 0)(`the CLI with --driver process${missing.length > 0 ? ` (skipped: needs ${missing.join(', ')})` : ''}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-pdcli-'));
    chmodSync(dir, 0o755);
    const ours = parse(readFileSync(path.join(ROOT, 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
    const services: Record<string, Record<string, unknown>> = {};
    for (const name of PICKED) {
      const s = structuredClone(ours.services[name]!);
      s.ports = [`127.0.0.1:${await freePort()}:${(s.labels as Record<string, string>)['n3xus.port']}`];
      if (s.build) (s.build as Record<string, unknown>).context = path.join(ROOT, 'dist/fleet');
      services[name] = s;
    }
    file = path.join(dir, 'fleet.yml');
    writeFileSync(file, stringify({ services, networks: { 'nexus-net': { driver: 'bridge' } }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) }));
  });
  afterAll(async () => {
    await cli(['down', ...fleetArgs(), '--volumes', '--timeout', '2']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('status, logs and down on a project never launched here say so in one message naming the state directory', async () => {
    const run = await cli(['status', ...fleetArgs()]);
    expect(run.code).toBe(14);
    expect(run.stderr).toContain(`No fleet of project "${project}" was launched with the process driver here: .n3xus/${project} does not exist.`);
    noStackTrace(run);
  }, 60_000);

  it('a state file cut short stops status with one message naming it and what to do, exit 23', async () => {
    const stateDir = path.join(dir, 'corrupt-state');
    mkdirSync(path.join(stateDir, project), { recursive: true });
    writeFileSync(path.join(stateDir, project, 'state.json'), '{"version":1,"records":[{"id":');
    const run = await cli(['status', ...fleetArgs(), '--state-dir', stateDir]);
    expect(run.code).toBe(23);
    expect(run.stderr).toContain(`corrupt-state/${project}/state.json is not JSON`);
    expect(run.stderr).toContain('move corrupt-state/' + project + ' aside');
    noStackTrace(run);
  }, 60_000);

  it('launch brings the fleet up, and status, logs and verify --full find it from the state directory', async () => {
    const launched = await cli(['launch', ...fleetArgs()]);
    expect(launched.code, launched.stderr).toBe(0);
    expect(existsSync(path.join(dir, '.n3xus', project, 'state.json'))).toBe(true);

    const status = await cli(['status', ...fleetArgs(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ project, healthy: PICKED.length, total: PICKED.length });

    const logs = await cli(['logs', 'identity-registry', ...fleetArgs(), '--tail', '50']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('"service":"identity-registry"');

    const verify = await cli(['verify', '--full', '--threshold', '100', '--json', '-f', file, '--project', project, '--driver', 'process']);
    expect(verify.code, verify.stdout.slice(-2000)).toBe(0);
    const report = JSON.parse(verify.stdout) as { passed: boolean; operationalPercent: number; docker: { used: boolean; driver?: string } };
    expect(report).toMatchObject({ passed: true, operationalPercent: 100, docker: { used: true, driver: 'process' } });
    // The event-delivery flow: webhook-dispatcher delivers to audit-trail at the address processes reach it on.
    const dispatcher = (report as unknown as { services: { name: string; checks: { name: string; status: string }[] }[] }).services.find((s) => s.name === 'webhook-dispatcher')!;
    expect(dispatcher.checks.find((c) => c.name === 'event-delivery')?.status).toBe('pass');
  }, 180_000);

  it('launch leaves a supervisor that brings a killed service back, counts the restart, and shows in status and its metrics', async () => {
    const status = JSON.parse((await cli(['status', ...fleetArgs(), '--json'])).stdout) as { watchers: { pid: number; supervisor: boolean; intervalMs: number; metricsPort: number }[] };
    const supervisor = status.watchers.find((w) => w.supervisor);
    expect(supervisor, JSON.stringify(status.watchers)).toMatchObject({ intervalMs: 5000 });
    expect(pidAlive(supervisor!.pid)).toBe(true);
    supervisorPid = supervisor!.pid;
    const text = await cli(['status', ...fleetArgs()]);
    expect(text.stdout).toContain(`supervisor: running, pid ${supervisor!.pid}, every 5 s`);

    const pidOf = () => (JSON.parse(readFileSync(path.join(dir, '.n3xus', project, 'state.json'), 'utf8')) as { records: { service: string; pid: number }[] }).records.find((r) => r.service === 'identity-registry')!.pid;
    const before = pidOf();
    process.kill(-before, 'SIGKILL');
    // Back within a few of its 5 s intervals: a new process, answering, its restart counted.
    const deadline = Date.now() + 30_000;
    let row: { healthy: boolean; restarts?: number } | undefined;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = JSON.parse((await cli(['status', ...fleetArgs(), '--json'])).stdout) as { services: { service: string; healthy: boolean; restarts?: number }[] };
      row = now.services.find((r) => r.service === 'identity-registry');
      if (row?.healthy && pidOf() !== before) break;
    }
    expect(row).toMatchObject({ healthy: true, restarts: 1 });
    expect(pidOf()).not.toBe(before);
    const metrics = await (await fetch(`http://127.0.0.1:${supervisor!.metricsPort}/metrics`)).text();
    expect(metrics).toContain('n3xus_heal_restarts_total{service="identity-registry"} 1');
    expect(metrics).toMatch(new RegExp(`n3xus_heal_services ${PICKED.length}\\b`));
    const log = readFileSync(path.join(dir, '.n3xus', project, 'logs', 'supervisor.log'), 'utf8');
    expect(log).toMatch(/"kind":"restart","service":"identity-registry","reason":"stopped, exit code unknown"/);
  }, 60_000);

  it('a second launch is a no-op, and keeps the supervisor that runs', async () => {
    const again = await cli(['launch', ...fleetArgs()]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Nothing to do/m);
    expect(again.stdout).toContain(`Supervisor already running: pid ${supervisorPid}`);
  }, 60_000);

  it('logs --follow ends cleanly on Ctrl-C: exit 0, what it printed kept, no stack trace', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'logs', 'identity-registry', ...fleetArgs(), '--follow', '--tail', '5'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`logs --follow printed nothing in 30 s: ${stderr}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('"service":"identity-registry"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain('"service":"identity-registry"');
    noStackTrace({ code: 0, stdout, stderr });
  }, 60_000);

  it('logs --timestamps on a process fleet says why it cannot, exits 22, and prints no log', async () => {
    const run = await cli(['logs', 'identity-registry', ...fleetArgs(), '--timestamps']);
    expect(run.code).toBe(22);
    expect(run.stderr).toContain(`--timestamps needs the time Docker stores with each line, and the fleet of project "${project}" runs as processes`);
    expect(run.stdout).not.toContain('"service":"identity-registry"');
    noStackTrace(run);
  }, 60_000);

  it('down stops every process of the project and leaves nothing running', async () => {
    const state = JSON.parse(readFileSync(path.join(dir, '.n3xus', project, 'state.json'), 'utf8')) as { records: { pid: number }[] };
    const down = await cli(['down', ...fleetArgs()]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`Stopped the supervisor (pid ${supervisorPid}).`);
    expect(down.stdout).toContain(`Removed ${PICKED.length} processes`);
    expect(isZombie(supervisorPid) || !pidAlive(supervisorPid), 'the supervisor still runs').toBe(true);
    // Gone, or exited and waiting for PID 1 to reap it (a zombie runs nothing): no process of the fleet runs.
    for (const { pid } of state.records) expect(isZombie(pid) || !pidAlive(pid), `process ${pid} still runs`).toBe(true);
  }, 60_000);
});
