import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { DockerEngine } from '../../src/docker/engine.ts';
import { BASE_IMAGE_TAGS } from '../../src/images/bases.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { describeWithImage, removeTestResources, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { freePort, listenOnEphemeralPort, writeTestFleet } from './fleet-files.ts';

/**
 * `n3xus bootstrap` as a user runs it: the built CLI (bin/run.js over dist/, made by `npm run build`) in a child
 * process, judged by its exit code and output.
 */
const ROOT = projectRoot();
const BUILT = existsSync(path.join(ROOT, 'dist/src/commands/bootstrap.js'));
const describeBuilt = BUILT || process.env.CI === 'true' ? describe : describe.skip;
if (!BUILT) console.warn('[skipped] bootstrap CLI tests: dist/ has no bootstrap command (run: npm run build)');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/run.js'), 'bootstrap', ...args],
      // Wide columns keep oclif from wrapping the error message, so its lines can be matched whole.
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, OCLIF_COLUMNS: '400', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describeBuilt('n3xus bootstrap, the CLI, without an engine', () => {
  const unreachable = { DOCKER_HOST: 'unix:///nonexistent/n3xus-test/docker.sock', N3XUS_HANDSHAKE: N3XUS_LAW };
  let busy: Awaited<ReturnType<typeof listenOnEphemeralPort>>;
  let file: string;

  beforeAll(async () => {
    busy = await listenOnEphemeralPort();
    file = await writeTestFleet({ name: 'cli', network: 'n3xus-test-cli', services: { web: { hostPort: busy.port } } });
  });

  afterAll(async () => {
    await busy.close();
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('exits 15 with one message naming each failed check and how to fix it, and no stack trace', async () => {
    const run = await cli(['-f', file], { ...unreachable, CI: 'true' });
    expect(run.code).toBe(15);
    expect(run.stderr).toContain('BootstrapFailedError: 2 of 13 checks failed:');
    expect(run.stderr).toContain('✖ Docker engine: Docker engine not reachable at /nonexistent/n3xus-test/docker.sock');
    expect(run.stderr).toContain(`port ${busy.port}/tcp (service web): held by process`);
    expect(run.stderr).toContain('Code: BOOTSTRAP_FAILED');
    expect(run.stderr).toMatch(/\* Docker engine: Start the engine \(nohup dockerd/);
    expect(run.stderr).toMatch(/\* Ports on 127\.0\.0\.1: Free the port: stop /);
    expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });

  it('prints the checklist as plain lines when not a terminal, under CI=true', async () => {
    const run = await cli(['-f', file], { ...unreachable, CI: 'true' });
    expect(run.stdout).toMatch(/^✔ Compose file: .*compose\.yml: 1 service, 1 network, 0 volumes$/m);
    expect(run.stdout).toMatch(/^✔ Handshake: N3XUS_HANDSHAKE is the N3XUS LAW handshake/m);
    expect(run.stdout).not.toContain('\u001B[');
  });

  it('with --json prints { ok, checks } only, every check with id, title, status and detail, and still exits 15', async () => {
    const run = await cli(['-f', file, '--json'], unreachable);
    expect(run.code).toBe(15);
    const result = JSON.parse(run.stdout) as { ok: boolean; checks: Array<Record<string, unknown>> };
    expect(Object.keys(result)).toEqual(['ok', 'checks']);
    expect(result.ok).toBe(false);
    expect(result.checks.map((c) => `${String(c.id)}:${String(c.status)}`)).toEqual([
      'engine:fail',
      'compose-file:ok',
      expect.stringMatching(/^cpu:(ok|warn)$/),
      expect.stringMatching(/^memory:(ok|warn)$/),
      expect.stringMatching(/^disk:(ok|warn)$/),
      'ports:fail',
      'handshake:ok',
      'secrets:ok',
      'servers:ok',
      'base-images:warn',
      'service-images:warn',
      'swarm:warn',
      'networks:warn',
    ]);
    for (const check of result.checks) expect(Object.keys(check).sort()).toEqual(expect.arrayContaining(['detail', 'id', 'status', 'title']));
    expect(result.checks.find((c) => c.id === 'ports')?.fix).toMatch(/^Free the port/);
  });

  it('--fix for the process driver, without --yes and no terminal: exit 15, installs nothing, names --yes', async () => {
    const run = await cli(['-f', file, '--fix', '--driver', 'process'], { N3XUS_HANDSHAKE: N3XUS_LAW, N3XUS_REDIS_SERVER: '/nonexistent/n3xus-test/redis-server', CI: 'true' });
    expect(run.code).toBe(15);
    expect(run.stderr).toContain('Code: BOOTSTRAP_FAILED');
    if (process.getuid?.() === 0) expect(run.stdout + run.stderr).toContain('Run again with --yes to install redis-server');
    expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });

  it('--yes without --fix is refused as bad usage', async () => {
    const run = await cli(['-f', file, '--yes'], { ...unreachable, CI: 'true' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--fix');
  });

  it('exits 15 naming the file and the problem for an invalid compose file', async () => {
    const run = await cli(['-f', path.join(path.dirname(file), 'missing.yml')], { ...unreachable, CI: 'true' });
    expect(run.code).toBe(15);
    expect(run.stderr).toMatch(/✖ Compose file: .*missing\.yml: no such file; pass the compose file of the fleet with -f\/--file/);
  });
});

// The bases are built together (n3xus images build --bases-only), so the node base stands for all three.
await describeWithImage(BASE_IMAGE_TAGS.node, 'n3xus bootstrap, the CLI, against the real engine', () => {
  const engine = new DockerEngine();
  const network = `n3xus-test-bootstrap-cli-${SESSION_ID.slice(0, 8)}`;
  let file: string;

  beforeAll(async () => {
    await engine.network.create({ name: network, labels: { ...TEST_LABELS } });
    file = await writeTestFleet({ name: 'cli-ready', network, services: { web: { hostPort: await freePort(), image: BASE_IMAGE_TAGS.node } } });
  });

  afterAll(async () => {
    await removeTestResources(engine);
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  (BUILT || process.env.CI === 'true' ? it : it.skip)('exits 0 and says it is ready when no check fails, warnings allowed', async () => {
    const run = await cli(['-f', file], { CI: 'true', N3XUS_HANDSHAKE: N3XUS_LAW });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✔ Docker engine: API 1\.\d+/m);
    expect(run.stdout).toMatch(/^✔ Networks: n3xus-test-bootstrap-cli-\w+ present$/m);
    expect(run.stdout).toMatch(/^Ready(, with \d+ warnings?)?\.$/m);
  });
});
