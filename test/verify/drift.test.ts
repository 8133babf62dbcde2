/**
 * Drift and foreign containers on a real engine: a small fleet cut from our compose file (PostgreSQL, Redis and
 * v-supercore, the real images) is verified as n3xus launched it (no false alarm), after its image tag moved, with
 * a container started by hand in a service's place, and as plain `docker-compose` runs it. Each fleet runs alone,
 * on free ports and a project of its own, and is removed with everything it made.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DockerEngine } from '../../src/docker/engine.ts';
import { containerSpec } from '../../src/drivers/docker/container-spec.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { interpolationEnv } from '../../src/fleet/env-file.ts';
import { loadFleet, type Fleet } from '../../src/fleet/model.ts';
import { desiredInstances } from '../../src/launch/desired.ts';
import { down } from '../../src/launch/down.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { launch } from '../../src/launch/launch.ts';
import { planLaunch } from '../../src/plan/plan.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import type { CheckResult, VerifyReport } from '../../src/verify/types.ts';
import { verifyFleet } from '../../src/verify/verify.ts';
import { describeWithImage, eventually, removeTestResources, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { AIRGAP, cutFleet, launchSecrets } from '../support/fleet-cut.ts';
import { ensureSecrets } from '../../src/secrets/secrets-file.ts';
import { freePort } from '../support/local-servers.ts';

const engine = new DockerEngine();
const driver = new DockerDriver(engine);
const PICKED = ['postgres', 'redis', 'v-supercore'];
/** The tag v-supercore's image goes by in the launched fleet: a copy of the real one, which the test moves. */
const TAG = `n3xus-test/drift-${SESSION_ID.slice(0, 8)}:1`;

/** A fleet file of PICKED on free ports, with compose/airgap.env's variables beside it; YAML 1.1, as docker-compose reads it. */
async function writeCut(project: string, patch: Parameters<typeof cutFleet>[3] = () => undefined): Promise<string> {
  const ports = Object.fromEntries(await Promise.all(PICKED.map(async (name) => [name, await freePort()] as const)));
  const yaml = stringify(parse(cutFleet(PICKED, ports, { driver: 'bridge', name: `${project}-net` }, patch)), { version: '1.1' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-drift-'));
  await writeFile(path.join(dir, 'airgap.env'), Object.entries(AIRGAP).map(([k, v]) => `${k}=${v}`).join('\n'));
  await writeFile(path.join(dir, 'fleet.yml'), yaml);
  return path.join(dir, 'fleet.yml');
}

/** The fleet as launch reads it: the file with its variables (the environment, then the env file beside it). */
const readFleet = (file: string): Fleet => loadFleet(file, { env: interpolationEnv(file).env });

// The container checks are what this file is about; the functional check (which writes) has its own tests.
function verify(file: string, project: string, cacheDir: string): Promise<VerifyReport> {
  return verifyFleet({ mode: 'full', fleetFile: file, project, docker: 'on', cacheDir, timeoutMs: 5_000, functional: false });
}

const containerCheck = (report: VerifyReport, service: string): CheckResult => report.services.find((s) => s.name === service)!.checks.find((c) => c.name === 'container')!;

/** The other checks of a service: a container check is the only one that can tell a stand-in from the service. */
const otherChecks = (report: VerifyReport, service: string) =>
  report.services
    .find((s) => s.name === service)!
    .checks.filter((c) => c.name !== 'container')
    .map((c) => [c.name, c.status]);

await describeWithImage('n3xus/v-supercore:3.0', 'verify: drift of a launched fleet', () => {
  const project = `n3xus-drift-${SESSION_ID.slice(0, 8)}`;
  let file = '';
  let cacheDir = '';
  let contextDir = '';
  const imageIds: string[] = [];

  /** Builds TAG as the real v-supercore image plus one label: the same service, another image ID. */
  async function buildTag(variant: string): Promise<string> {
    await writeFile(path.join(contextDir, 'Dockerfile'), `FROM n3xus/v-supercore:3.0\nLABEL n3xus.test.variant=${variant}\n`);
    const { imageId } = await engine.image.build({ contextDir, files: ['Dockerfile'], tag: TAG, labels: TEST_LABELS });
    imageIds.push(imageId);
    return imageId;
  }

  async function launchIt(): Promise<void> {
    const fleet = readFleet(file);
    const result = await launch({ fleet, plan: planLaunch(fleet), driver, project, healthTimeoutMs: 60_000, ...launchSecrets(fleet, driver) });
    expect(result.failures).toEqual([]);
  }

  /** Puts a container made by hand from `spec` in v-supercore's place, and waits until it answers as the service. */
  async function standIn(spec: ReturnType<typeof containerSpec>): Promise<void> {
    const launched = (await driver.observe(project)).find((c) => c.labels[STATE_LABELS.service] === 'v-supercore')!;
    await driver.remove(launched.id);
    const id = await engine.container.create(spec);
    await engine.container.start(id);
    const port = readFleet(file).services.find((s) => s.name === 'v-supercore')!.hostPort;
    await eventually(async () => {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status !== 200) throw new Error('not ready yet');
    }, 30_000);
  }

  /** v-supercore's container spec as launch would make it from `fleet`, with the image launch resolves now. */
  async function specOf(fleet: Fleet): Promise<ReturnType<typeof containerSpec>> {
    const service = fleet.services.find((s) => s.name === 'v-supercore')!;
    const imageId = (await engine.image.inspect(service.image)).id;
    return containerSpec(desiredInstances(fleet, project, [service], new Map([[service.image, imageId]]))[0]!);
  }

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-drift-cache-'));
    contextDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-drift-image-'));
    await buildTag('a');
    file = await writeCut(project, (s) => {
      s['v-supercore']!.image = TAG;
    });
    await launchIt();
  }, 180_000);

  afterAll(async () => {
    await down(driver, project, { volumes: true, timeoutS: 1 });
    await removeTestResources(engine);
    for (const id of [TAG, ...imageIds]) await engine.image.remove(id, { force: true });
    await rm(contextDir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
    await rm(path.dirname(file), { recursive: true, force: true });
  }, 60_000);

  it('a fleet n3xus launched: every container is the one launch made, no drift, no warning', async () => {
    const report = await verify(file, project, cacheDir);
    expect(report.operationalPercent).toBe(100);
    expect(report.docker).toEqual({ used: true, project, containers: 3 });
    for (const service of PICKED) {
      const check = containerCheck(report, service);
      expect(check).toMatchObject({ status: 'pass', details: { launchedBy: 'n3xus' } });
      expect(check.warnings).toBeUndefined();
      expect(check.details).not.toHaveProperty('drift');
    }
    // Read again from verify's cache, the same: the entry carries each service's config hash.
    expect((await verify(file, project, cacheDir)).services.map((s) => s.operational)).toEqual([true, true, true]);
  }, 60_000);

  it("the image tag moved since launch: the container fails as drift, naming both images, and launch recreates it", async () => {
    const before = (await driver.observe(project)).find((c) => c.labels[STATE_LABELS.service] === 'v-supercore')!.imageId;
    const after = await buildTag('b');
    const report = await verify(file, project, cacheDir);
    const check = containerCheck(report, 'v-supercore');
    expect(check).toMatchObject({ status: 'fail', code: 'container-drift', details: { drift: { image: { reference: TAG, container: before, fleet: after } } } });
    expect(check.message).toBe(`container ${project}-v-supercore is not the one n3xus launch would create: it runs image ${before.slice(0, 19)}, and ${TAG} now resolves to ${after.slice(0, 19)}; \`n3xus launch\` would recreate it`);
    // Nothing else is wrong with it, and nothing is wrong with the others.
    expect(otherChecks(report, 'v-supercore')).toEqual([['health', 'pass'], ['law', 'pass'], ['readiness', 'pass']]);
    expect(report.services.filter((s) => !s.operational).map((s) => s.name)).toEqual(['v-supercore']);
    expect(renderSummary(report)).toContain(`container: container ${project}-v-supercore is not the one n3xus launch would create`);

    await launchIt();
    expect(containerCheck(await verify(file, project, cacheDir), 'v-supercore')).toMatchObject({ status: 'pass' });
  }, 120_000);

  it("a container started by hand with the fleet's labels but no config hash: drift, not created by n3xus launch", async () => {
    const spec = await specOf(readFleet(file));
    const { [STATE_LABELS.configHash]: _hash, ...labels } = spec.labels!;
    await standIn({ ...spec, labels });
    const report = await verify(file, project, cacheDir);
    // It answers as the service: only the container check tells it apart.
    expect(otherChecks(report, 'v-supercore')).toEqual([['health', 'pass'], ['law', 'pass'], ['readiness', 'pass']]);
    expect(containerCheck(report, 'v-supercore')).toMatchObject({
      status: 'fail',
      code: 'container-drift',
      message: `container ${project}-v-supercore is not the one n3xus launch would create: it has no n3xus.config-hash label: it was not created by n3xus launch; \`n3xus launch\` would recreate it`,
    });
  }, 60_000);

  it('a container started by hand from another configuration, labelled as launch labels it: drift, configuration changed', async () => {
    const other = readFleet(file);
    other.services.find((s) => s.name === 'v-supercore')!.environment.LOG_LEVEL = 'debug';
    await standIn(await specOf(other));
    const check = containerCheck(await verify(file, project, cacheDir), 'v-supercore');
    expect(check).toMatchObject({ status: 'fail', code: 'container-drift' });
    expect(check.message).toMatch(/: its n3xus\.config-hash [0-9a-f]{12} is not the fleet file's [0-9a-f]{12}: its configuration changed since launch; `n3xus launch` would recreate it$/);
  }, 60_000);
});

await describeWithImage('n3xus/v-supercore:3.0', 'verify: a fleet started by plain docker-compose', () => {
  // docker-compose 1.x keeps only [-_a-z0-9] of a project name.
  const project = `n3xusdrift${SESSION_ID.slice(0, 8)}`;
  let file = '';
  let cacheDir = '';
  const compose = (...args: string[]) => {
    const run = spawnSync('docker-compose', ['-p', project, '-f', file, ...args], { encoding: 'utf8', env: { ...process.env, ...AIRGAP }, timeout: 120_000 });
    if (run.error !== undefined || run.status !== 0) throw new Error(`docker-compose ${args.join(' ')} failed: ${run.error?.message ?? run.stderr}`);
  };

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-drift-cache-'));
    file = await writeCut(project, (s) => {
      // compose waits for PostgreSQL and Redis to be healthy, and the engine's verdict is checked: first checks a
      // second in, not thirty.
      for (const name of PICKED) (s[name]!.healthcheck as Record<string, unknown>).interval = '1s';
    });
    // As an operator would before docker-compose up: n3xus bootstrap --fix writes the secret files. PostgreSQL makes
    // the services' roles at its first start (N3XUS_INIT_SQL_FILE).
    const fleet = readFleet(file);
    ensureSecrets(fleet, fleet.services, { create: true });
    compose('up', '-d');
  }, 180_000);

  afterAll(async () => {
    if (file !== '') compose('down', '-v', '--timeout', '1');
    await rm(cacheDir, { recursive: true, force: true });
    if (file !== '') await rm(path.dirname(file), { recursive: true, force: true });
  }, 60_000);

  it('is recognised, its containers checked, and reported as not launched by n3xus', async () => {
    const report = await eventually(async () => {
      const r = await verify(file, project, cacheDir);
      const waiting = r.services.filter((s) => !s.operational || s.checks.find((c) => c.name === 'container')?.details?.health !== 'healthy');
      if (waiting.length > 0) throw new Error(`not up yet: ${JSON.stringify(waiting.map((s) => s.checks.filter((c) => c.status !== 'pass' || c.name === 'container')))}`);
      return r;
    }, 60_000, 1_000);
    expect(report.docker).toEqual({ used: true, project, containers: 3, compose: 3 });
    for (const service of PICKED) {
      const check = containerCheck(report, service);
      expect(check).toMatchObject({ status: 'pass', message: expect.stringMatching(new RegExp(`^running, health healthy; not launched by n3xus \\(docker compose project ${project}\\)$`)), details: { launchedBy: 'docker compose', composeProject: project } });
      expect(check.warnings).toEqual(['not launched by n3xus: made by docker compose, which keeps no n3xus config hash, so its configuration is not compared with the fleet file']);
    }
    const summary = renderSummary(report);
    expect(summary).toContain(`containers: 3 of project ${project} (all made by docker compose: not launched by n3xus)`);
    expect(summary).not.toContain('not checked');
    expect(report.passed).toBe(true);
  }, 90_000);
});
