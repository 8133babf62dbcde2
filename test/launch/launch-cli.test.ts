/**
 * `n3xus launch`, `status` and `down` as a user runs them: the built CLI (bin/run.js over dist/, made by
 * `npm run build`) in a child process, judged by exit code and output. Bad input must give one clear message, a
 * non-zero exit, no stack trace, and no container left behind.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { describeDocker, SESSION_ID } from '../support/docker.ts';

const ROOT = projectRoot();
const BUILT = existsSync(path.join(ROOT, 'dist/src/commands/launch.js'));
const describeBuilt = BUILT || process.env.CI === 'true' ? describe : describe.skip;
if (!BUILT) console.warn('[skipped] launch CLI tests: dist/ has no launch command (run: npm run build)');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/run.js'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, OCLIF_COLUMNS: '400', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const noStackTrace = (run: CliRun): void => {
  expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);
};

const project = `n3xus-cli-${SESSION_ID.slice(0, 8)}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'n3xus-launch-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeBuilt('n3xus launch: bad input, before anything is created', () => {
  it('names the file, service and key of an invalid compose file (exit 7)', async () => {
    const file = path.join(dir, 'bad.yml');
    await writeFile(file, 'services:\n  api:\n    image: api:1\n    ports: ["127.0.0.1:3001:3001"]\n    labels: { n3xus.stage: nowhere, n3xus.group: g, n3xus.category: c, n3xus.port: "3001" }\n');
    const run = await cli(['launch', '-f', file, '--project', project]);
    expect(run.code).toBe(7);
    expect(run.stderr).toContain(`service "api": key "labels.n3xus.stage": expected one of infra, core, federation, domain, compliance, puabo, vsuite, extended; got "nowhere"`);
    noStackTrace(run);
  });

  it('lists the valid phases and stages for a --phase that is neither (exit 9), and says what is wrong with it', async () => {
    const cases: [string, string][] = [
      ['federaton', '--phase "federaton" is not a phase or a stage (did you mean "federation"?)'],
      ['0', "--phase \"0\" is not a phase or a stage (the seed's phases are 1 to 12)"],
      ['13', "--phase \"13\" is not a phase or a stage (the seed's phases are 1 to 12)"],
      ['6-5', '--phase "6-5" is not a phase or a stage (a range goes from the lower phase to the higher: 5-6)'],
    ];
    for (const [value, message] of cases) {
      const run = await cli(['launch', '--phase', value, '--project', project]);
      expect(run.code, value).toBe(9);
      const text = run.stderr.replace(/\s+/g, ' ');
      expect(text, value).toContain(message);
      expect(text, value).toContain('Valid values: a seed phase 1-12');
      noStackTrace(run);
    }
  });

  it('refuses a replica count that is not a positive integer, and --replicas off Swarm (exit 22)', async () => {
    const count = await cli(['launch', '--driver', 'docker', '--replicas', 'identity-registry=0', '--project', project]);
    expect(count.code).toBe(22);
    expect(count.stderr).toContain('--replicas identity-registry=0: the count must be a whole number from 1 to 32, got "0"');
    noStackTrace(count);
    const driver = await cli(['launch', '--driver', 'docker', '--replicas', 'identity-registry=2', '--project', project]);
    expect(driver.code).toBe(22);
    expect(driver.stderr).toContain('--replicas needs --driver swarm');
    noStackTrace(driver);
  });

  it('says the engine is unreachable and where it looked (exit 3)', async () => {
    const run = await cli(['launch', '--project', project], { DOCKER_HOST: 'unix:///nonexistent/n3xus/docker.sock' });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('/nonexistent/n3xus/docker.sock');
    noStackTrace(run);
  });

  it('prints the plan and the changes with --dry-run, in stage order', async () => {
    const run = await cli(['launch', '--dry-run', '--project', project]);
    if (run.code === 3) return; // no engine: covered above
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Launch plan for compose/docker-compose.full.yml: 100 of 100 services, 8 stages, 9 batches');
    expect(run.stdout).toContain('[1] infra: postgres, redis');
    expect(run.stdout).toContain('postgres: create (no existing container)');
  });
});

describeDocker('n3xus launch: a wrong handshake stops it before any container exists', () => {
  const engine = new DockerEngine();
  it('names the services and the fix (exit 12), and creates nothing', async () => {
    const run = await cli(['launch', '--project', project], { N3XUS_HANDSHAKE: '1-2-3' });
    expect(run.code).toBe(12);
    expect(run.stderr).toContain('would start with N3XUS_HANDSHAKE="1-2-3", which is not the N3XUS LAW handshake');
    expect(run.stderr).toContain('N3XUS_HANDSHAKE=55-45-17');
    noStackTrace(run);
    expect(await engine.container.list({ labels: { [STATE_LABELS.project]: project } })).toEqual([]);
  });

  it('status of a project that was never launched lists every service as not launched', async () => {
    const run = await cli(['status', '--project', project, '--json']);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as { total: number; healthy: number; services: { state: string }[] };
    expect(status.total).toBe(100);
    expect(status.healthy).toBe(0);
    expect(new Set(status.services.map((s) => s.state))).toEqual(new Set(['not launched']));
  });

  it('down of a project with nothing in it removes nothing and says so', async () => {
    const run = await cli(['down', '--project', project]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Removed 0 containers`);
  });
});

// The README's commands must stay true: the CLI it shows exists.
describeBuilt('the README', () => {
  it('starts with the set-up, run and test commands', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(block).toContain('npm ci && npm run build && node bin/run.js bootstrap --fix --yes');
    expect(block).toContain('node bin/run.js launch');
    expect(block).toContain('npm test');
  });
});
