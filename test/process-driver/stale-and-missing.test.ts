/**
 * What the process driver must not do: signal a process it did not start (a PID from its state that now belongs
 * to someone else), or start a service whose bundle is not built. And `logs --follow` reads a log as it grows.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseFleet } from '../../src/fleet/model.ts';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { processStartTicks } from '../../src/process/detached.ts';
import { writeState, type ProcessRecord } from '../../src/drivers/process/process-state.ts';
import { down } from '../../src/launch/down.ts';
import { streamProcessLogs } from '../../src/logs/process-logs.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (pid: number, startTicks: number): ProcessRecord => ({
  id: 'stale.audit.0a1b2c',
  name: 'stale-audit',
  service: 'audit',
  image: 'n3xus/audit:3.0',
  imageId: 'sha256:abc',
  labels: { 'n3xus.project': 'stale', 'n3xus.service': 'audit', 'n3xus.stage': 'core' },
  argv: ['node'],
  env: {},
  cwd: '/',
  ports: {},
  stopSignal: 'SIGTERM',
  createdAt: '2026-01-01T00:00:00.000Z',
  restartCount: 0,
  pid,
  startTicks,
  startedAt: '2026-01-01T00:00:01.000Z',
});

describe('a PID in the state that is not the process the driver started', () => {
  it('reads as exited (stale), and down forgets it without signalling that process', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-stale-'));
    // This very test process stands for the stranger who got the PID: same PID, but not started with our tag.
    writeState(dir, { version: 1, project: 'stale', records: [record(process.pid, processStartTicks(process.pid)!)] });
    const driver = new ProcessDriver({ stateDir: dir });
    const [instance] = await driver.observe('stale');
    expect(instance).toMatchObject({ status: 'exited', running: false });
    expect(instance!.error).toContain('stale');
    const result = await down(driver, 'stale', { timeoutS: 1 });
    expect(result.removed.map((r) => r.service)).toEqual(['audit']);
    expect(await driver.observe('stale')).toEqual([]);
    // Still here: had down signalled the PID, this test process would be gone.
    expect(process.kill(process.pid, 0)).toBe(true);
  });
});

describe('a service whose bundle is not built', () => {
  it('stops launch before anything starts, naming the missing file and the command that builds it', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-nobundle-'));
    const fleet = parseFleet(
      stringify({
        services: {
          audit: {
            image: 'n3xus/audit:3.0',
            build: { context: dir, dockerfile: 'services/audit/Dockerfile' },
            ports: ['127.0.0.1:3005:3005'],
            labels: { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': '3005' },
          },
        },
      }),
      path.join(dir, 'fleet.yml'),
      { env: {} },
    );
    const error = await new ProcessDriver({ stateDir: dir, fleet }).resolveImages(['n3xus/audit:3.0']).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProcessDriverError', code: 'IMAGE_MISSING' });
    expect((error as Error).message).toBe(`The bundle of service "audit" is not built: ${path.join(dir, 'services', 'audit', 'main.mjs')} is missing. Nothing was started.`);
    expect((error as { suggestions: string[] }).suggestions[0]).toContain('npm run build');
  });
});

describe('the "image" of a bundled service', () => {
  it('is its own bundle, the start script and the kit: a change to any of them is a new image, for that service or all', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-bundle-id-'));
    const files = {
      a: path.join(dir, 'services', 'a', 'main.mjs'),
      b: path.join(dir, 'services', 'b', 'main.mjs'),
      start: path.join(dir, 'runtime', 'bin', 'start.mjs'),
      kit: path.join(dir, 'runtime', 'node_modules', '@n3xus', 'kit', 'index.mjs'),
    };
    for (const [name, file] of Object.entries(files)) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `// ${name}\n`);
    }
    const service = (name: string, port: number) => ({
      image: `n3xus/${name}:3.0`,
      build: { context: dir, dockerfile: `services/${name}/Dockerfile` },
      ports: [`127.0.0.1:${port}:${port}`],
      labels: { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': String(port) },
    });
    const fleet = parseFleet(stringify({ services: { a: service('a', 3005), b: service('b', 3006) } }), path.join(dir, 'fleet.yml'), { env: {} });
    // A new driver per look, as each command is: a driver reads each file once.
    const ids = async (): Promise<string[]> => {
      const resolved = await new ProcessDriver({ stateDir: dir, fleet }).resolveImages(['n3xus/a:3.0', 'n3xus/b:3.0']);
      return ['n3xus/a:3.0', 'n3xus/b:3.0'].map((image) => resolved.get(image)!);
    };
    const [a1, b1] = await ids();
    expect(a1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a1).not.toBe(b1);
    expect(await ids()).toEqual([a1, b1]);
    writeFileSync(files.a, '// a, changed\n');
    const [a2, b2] = await ids();
    expect(a2).not.toBe(a1);
    expect(b2).toBe(b1);
    writeFileSync(files.kit, '// kit, changed\n');
    const [a3, b3] = await ids();
    expect(a3).not.toBe(a2);
    expect(b3).not.toBe(b2);
    writeFileSync(files.start, '// start, changed\n');
    const [a4, b4] = await ids();
    expect([a4 === a3, b4 === b3]).toEqual([false, false]);
  });
});

describe('following a log file', () => {
  it('prints what is there, then what is appended, and stops once the process has ended', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-follow-'));
    const file = path.join(dir, 'svc.log');
    writeFileSync(file, 'one\ntwo\n');
    let running = true;
    const seen: string[] = [];
    const done = streamProcessLogs(file, { follow: true, pollMs: 20, isRunning: async () => running, onOutput: (b) => seen.push(b.toString()) });
    await new Promise((resolve) => setTimeout(resolve, 60));
    appendFileSync(file, 'three\n');
    await new Promise((resolve) => setTimeout(resolve, 60));
    running = false;
    const result = await done;
    expect(seen.join('')).toBe('one\ntwo\nthree\n');
    expect(result.interrupted).toBe(false);
  });

  it('with a tail, starts from the last lines', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-follow-'));
    const file = path.join(dir, 'svc.log');
    writeFileSync(file, 'one\ntwo\nthree\n');
    const seen: string[] = [];
    await streamProcessLogs(file, { tailLines: 2, isRunning: async () => false, onOutput: (b) => seen.push(b.toString()) });
    expect(seen.join('')).toBe('two\nthree\n');
  });
});
