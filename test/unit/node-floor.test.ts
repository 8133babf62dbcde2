/**
 * On a Node older than package.json's engines, bin/run.js says what to do in one line, before anything else is
 * loaded. Run here from a copy of bin/run.js beside a package.json whose floor no Node meets.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/project-root.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-node-floor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('prints one line naming the Node it needs, this one, and how to install Node 24', async () => {
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(path.join(projectRoot(), 'bin/run.js'), path.join(dir, 'bin/run.js'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', engines: { node: '>=999.0.0' } }));
  const stderr = await new Promise<string>((resolve) => {
    // @oclif/core is not beside the copy: the import after the check fails, which is not what is tested.
    execFile(process.execPath, [path.join(dir, 'bin/run.js'), '--version'], { env: { PATH: process.env.PATH } }, (_error, _stdout, err) => resolve(err));
  });
  const first = stderr.split('\n')[0];
  expect(first).toBe(
    `n3xus needs Node 999.0.0 or newer, and this is Node ${process.versions.node}: install Node 24 beside it with npm install --prefix ~/.n3xus-node node@24 && export PATH=~/.n3xus-node/node_modules/.bin:$PATH`,
  );
  expect(stderr).not.toContain('--trace-warnings');
});
