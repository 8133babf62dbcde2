/**
 * `n3xus heal`'s bad input, as a user meets it: the built CLI, one message naming the flag or the port, the
 * documented exit code, no stack trace, nothing watched.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { describeUnless } from '../support/skip-or-fail.ts';
import { projectRoot } from '../../src/util/project-root.ts';

const built = existsSync(path.join(projectRoot(), 'dist/src/commands/heal.js'));
let stateDir = '';
let busy: Server;
const project = `healcli-${process.pid}`;
const args = () => ['heal', '--driver', 'process', '--state-dir', stateDir, '--project', project];

describeUnless(built ? '' : 'the built CLI (npm run build)', 'n3xus heal, given bad input', () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-heal-cli-'));
    mkdirSync(path.join(stateDir, project));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    busy.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it.each([
    [['--interval', '0'], '--interval must be a number of seconds from 0.2 to 3600; got "0".'],
    [['--metrics-port', '99999'], '--metrics-port must be a TCP port from 0 (a free one) to 65535; got "99999".'],
  ])('%j is one message, exit 22', async (flags, message) => {
    const run = await runCli([...args(), ...flags]);
    expect(run.code).toBe(22);
    expect(run.message).toContain(message);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  }, 30_000);

  it('a metrics port already held is one message naming it, exit 13, and nothing is watched', async () => {
    const port = (busy.address() as { port: number }).port;
    const run = await runCli([...args(), '--metrics-port', String(port)]);
    expect(run.code).toBe(13);
    expect(run.message).toContain(`--metrics-port ${port}: 127.0.0.1:${port} is already in use, so the watcher cannot serve its metrics there. Nothing was watched.`);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  }, 30_000);
});
