import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { selectDriver } from '../../src/cli/select-driver.ts';
import { DockerEngine } from '../../src/docker/engine.ts';
import { writeState } from '../../src/drivers/process/process-state.ts';
import { describeDocker } from '../support/docker.ts';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-auto-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
// A socket path with nothing behind it: a real engine client whose ping fails, as on a machine without Docker.
const noEngine = () => new DockerEngine({ socketPath: path.join(stateDir, 'no-docker.sock') });

it('--driver auto runs processes when no engine answers', async () => {
  const { driver, engine } = await selectDriver({ driver: 'auto', stateDir, project: 'fresh', engine: noEngine() });
  expect(driver.kind).toBe('process');
  expect(engine).toBeUndefined();
});

it('--driver auto keeps to processes where the state lists a process fleet, without asking the engine', async () => {
  writeState(stateDir, {
    version: 1,
    project: 'running',
    records: [{ id: 'p1', name: 'running-redis', service: 'redis', image: 'redis', imageId: 'x', labels: {}, argv: ['redis-server'], env: {}, cwd: '/', ports: {}, stopSignal: 'SIGTERM', createdAt: new Date().toISOString(), restartCount: 0 }],
  });
  const { driver } = await selectDriver({ driver: 'auto', stateDir, project: 'running', engine: noEngine() });
  expect(driver.kind).toBe('process');
});

it('--driver docker is Docker even when its engine does not answer (the command then says so)', async () => {
  const { driver, engine } = await selectDriver({ driver: 'docker', stateDir, project: 'fresh', engine: noEngine() });
  expect(driver.kind).toBe('docker');
  await expect(engine!.ping({ timeoutMs: 1_000 })).rejects.toThrow();
});

describeDocker('--driver auto with an engine that answers', () => {
  it('is Docker', async () => {
    const { driver, engine } = await selectDriver({ driver: 'auto', stateDir, project: 'fresh' });
    expect(driver.kind).toBe('docker');
    expect(engine).toBeDefined();
  });
});
