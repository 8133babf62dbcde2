import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAW_EXIT_CODE, N3XUS_LAW } from '@n3xus/kit';
import { freePort } from '../support/local-servers.ts';
import { eventually } from '../support/servers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Starts services/<name>/app.ts in its own process, as the image's entry point does. */
function runService(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/run-service.ts', name], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', N3XUS_SERVICE: name, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('runtime layer of the law', () => {
  it.each([
    ['missing', {}],
    ['wrong', { N3XUS_HANDSHAKE: '55-45-18' }],
  ])('a service whose handshake is %s refuses to start: one JSON line, exit code 45, nothing listening', async (reason, env) => {
    const port = await freePort();
    const proc = runService('feature-flags', { PORT: String(port), ...env });
    const code = await proc.exited;
    expect(code).toBe(LAW_EXIT_CODE);
    const lines = proc.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'fatal', event: 'n3xus_law_violation', service: 'feature-flags', reason, exitCode: 45 });
    expect(proc.out()).not.toContain(N3XUS_LAW);
    expect(proc.err()).toBe('');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('a lawful service starts, answers, and exits 0 on SIGTERM after saying so', async () => {
    const port = await freePort();
    const proc = runService('feature-flags', { PORT: String(port), N3XUS_HANDSHAKE: N3XUS_LAW, N3XUS_SHUTDOWN_GRACE_MS: '2000' });
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 20_000);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.out()).toMatch(/"event":"shutdown","signal":"SIGTERM"/);
      expect(proc.out()).toMatch(/"event":"stopped"/);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('an invalid environment is named in one line with exit code 78', async () => {
    const proc = runService('feature-flags', { PORT: 'eighty', N3XUS_HANDSHAKE: N3XUS_LAW });
    expect(await proc.exited).toBe(78);
    expect(proc.out()).toMatch(/"event":"invalid_configuration".*PORT=\\"eighty\\" is not valid/);
  });
});
