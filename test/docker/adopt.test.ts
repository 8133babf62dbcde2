/**
 * Docker compose interop on the real engine: a small fleet (PostgreSQL and Redis, the infra stage, cut from our
 * compose file) started by plain docker-compose, seen by status and down, then taken over by `launch --adopt` with
 * its data, and removed whole by down.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { down } from '../../src/launch/down.ts';
import { NothingToAdoptError } from '../../src/launch/errors.ts';
import { COMPOSE_LABELS, STATE_LABELS } from '../../src/launch/labels.ts';
import { launch, type LaunchResult } from '../../src/launch/launch.ts';
import { fleetStatus } from '../../src/launch/status.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { runCli } from '../support/cli.ts';
import { describeWithImage, eventually, SESSION_ID } from '../support/docker.ts';
import { AIRGAP, cutFleet, launchSecrets } from '../support/fleet-cut.ts';
import { freePort } from '../support/local-servers.ts';
import { skipOrFail } from '../support/skip-or-fail.ts';

const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const id = SESSION_ID.slice(0, 8);
const project = `n3xus-test-${id}`;
/** Another name than n3xus's project, as compose names it after the file's directory: its volume is `<it>_pgdata`. */
const composeProject = `n3xus-compose-${id}`;
const network = `${project}-adopt-net`;
const PICKED = ['postgres', 'redis'];
const dir = path.join(tmpdir(), `n3xus-adopt-${id}`);
const file = path.join(dir, 'fleet.yml');

let ports: Record<string, number> = {};
let fleet: Fleet;
let password = '';

function compose(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('docker-compose', ['-p', composeProject, '-f', file, ...args], { env: { ...process.env, ...AIRGAP }, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}${run.error?.message ?? ''}` };
}

async function query(sql: string): Promise<unknown[][]> {
  const client = new pg.Client({ host: '127.0.0.1', port: ports.postgres, user: 'n3xus', password, database: 'n3xus', connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return (await client.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
  } finally {
    await client.end();
  }
}

async function run(options: Partial<Parameters<typeof launch>[0]> = {}): Promise<LaunchResult> {
  return launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, composeProject, ...launchSecrets(fleet, driver), ...options });
}

const composeVersion = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
const body = (): void => {
  beforeAll(async () => {
    ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, cutFleet(PICKED, ports, { driver: 'bridge', name: network }));
    writeFileSync(path.join(dir, 'airgap.env'), Object.entries(AIRGAP).map(([k, v]) => `${k}=${v}\n`).join(''));
    fleet = parseFleet(cutFleet(PICKED, ports, { driver: 'bridge', name: network }), file, { env: AIRGAP });
    // The secret files compose mounts, written as launch writes them.
    password = launchSecrets(fleet, driver).secretValues!.get('postgres-password')!;
    const up = compose('up', '-d');
    if (up.status !== 0) throw new Error(`docker-compose up failed: ${up.output}`);
    await eventually(() => query('SELECT 1'), 60_000, 500);
  }, 180_000);
  afterAll(async () => {
    compose('down', '-v', '--timeout', '1');
    await down(driver, project, { volumes: true, timeoutS: 1, compose: { fleet, project: composeProject, remove: true } });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('status shows the services compose runs as compose-managed; down leaves compose containers alone', async () => {
    const status = await eventually(async () => {
      const s = await fleetStatus(fleet, project, driver, { composeProject });
      if (s.healthy !== 2) throw new Error(`${s.healthy} of 2 healthy: ${s.services.map((x) => x.detail).join('; ')}`);
      return s;
    }, 60_000, 500);
    expect(status.services.map((s) => [s.service, s.state, s.managedBy])).toEqual([
      ['postgres', 'running', 'compose'],
      ['redis', 'running', 'compose'],
    ]);
    expect(status.compose).toEqual({ project: composeProject, containers: 2 });

    const result = await down(driver, project, { volumes: true, timeoutS: 1, compose: { fleet, project: composeProject } });
    expect(result.removed).toEqual([]);
    expect(result.networks).toEqual([]);
    expect(result.volumes).toEqual([]);
    expect(result.composeLeft?.containers.sort()).toHaveLength(2);
    const left = await engine.container.list({ labels: { [COMPOSE_LABELS.project]: composeProject } });
    expect(left.map((c) => c.running)).toEqual([true, true]);
  }, 90_000);

  it('launch without --adopt names compose as the holder of its ports and changes nothing', async () => {
    await expect(run()).rejects.toMatchObject({ code: 'PORT_BUSY', suggestions: [expect.stringContaining('n3xus launch --adopt')] });
    expect(await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).toEqual([]);
  }, 60_000);

  it('launch --adopt replaces each compose container in stage order, keeping the rows; a relaunch is a no-op', async () => {
    await query("CREATE TABLE adopt_check (note text); INSERT INTO adopt_check VALUES ('stored under compose'), ('two rows')");
    const result = await run({ adopt: true });
    expect(result.failures).toEqual([]);
    expect(result.services.map((s) => [s.service, s.action, s.outcome])).toEqual([
      ['postgres', 'recreate', 'healthy'],
      ['redis', 'recreate', 'healthy'],
    ]);
    expect(result.changes.steps[0]!.cause).toMatch(new RegExp(`^made by docker compose \\(project ${composeProject}, container .*postgres.*\\): adopted$`));

    expect(await engine.container.list({ labels: { [COMPOSE_LABELS.project]: composeProject } })).toEqual([]);
    const ours = await engine.container.list({ labels: { [STATE_LABELS.project]: project } });
    expect(ours.map((c) => c.name).sort()).toEqual([`${project}-postgres`, `${project}-redis`]);
    // The data compose's PostgreSQL stored, in compose's volume, now mounted by n3xus's.
    expect(await query('SELECT note FROM adopt_check ORDER BY note')).toEqual([['stored under compose'], ['two rows']]);
    const pgContainer = await engine.container.inspect(ours.find((c) => c.name.endsWith('-postgres'))!.id);
    expect(pgContainer.labels[STATE_LABELS.service]).toBe('postgres');
    const mounts = spawnSync('docker', ['inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', pgContainer.id], { encoding: 'utf8' }).stdout.trim();
    expect(mounts.split(' ')).toContain(`${composeProject}_pgdata`);

    const again = await run();
    expect(again.noOp).toBe(true);
    const status = await fleetStatus(fleet, project, driver, { composeProject });
    expect(status.healthy).toBe(2);
    expect(status.compose).toBeUndefined();
  }, 180_000);

  it('--adopt with nothing to adopt: one message, exit 27, nothing changed', async () => {
    const before = (await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).map((c) => c.id).sort();
    await expect(run({ adopt: true })).rejects.toBeInstanceOf(NothingToAdoptError);
    const cli = await runCli(['launch', '--adopt', '-f', file, '--project', composeProject]);
    expect(cli.code).toBe(27);
    expect(cli.message).toContain(`--adopt: no container made by docker compose (label com.docker.compose.project=${composeProject}) runs any service of ${file}. Nothing was changed.`);
    expect(cli.message).not.toMatch(/\n\s+at /);
    expect((await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).map((c) => c.id).sort()).toEqual(before);
    expect(await engine.container.list({ labels: { [STATE_LABELS.project]: composeProject } })).toEqual([]);
  }, 60_000);

  it('down --volumes leaves nothing: the containers, the network and the volume compose made and n3xus took over', async () => {
    const result = await down(driver, project, { volumes: true, timeoutS: 2, compose: { fleet, project: composeProject } });
    expect(result.removed.map((r) => r.service).sort()).toEqual(['postgres', 'redis']);
    expect(result.networks).toEqual([network]);
    expect(result.volumes).toEqual([`${composeProject}_pgdata`]);
    expect(result.composeLeft).toBeUndefined();
    const names = (await engine.network.list({ labels: {} })).map((n) => n.name);
    expect(names).not.toContain(network);
    const volumes = (await engine.volume.list({ labels: {} })).map((v) => v.name);
    expect(volumes.filter((v) => v.startsWith(composeProject) || v.startsWith(project))).toEqual([]);
    expect(await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).toEqual([]);
  }, 60_000);
};

if (composeVersion.status !== 0) skipOrFail('launch --adopt on the engine', `docker-compose is not installed (${composeVersion.error?.message ?? composeVersion.stderr})`, body);
else await describeWithImage('n3xus/postgres:15', 'launch --adopt on the engine', body);
