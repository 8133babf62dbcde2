import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/project-root.ts';
import { runCli } from '../support/cli.ts';

// The built CLI (`npm run build`), on a copy of the shipped fleet file in a temporary directory: the install's
// secrets it reads or makes are that directory's (.n3xus/secrets beside compose/), never this checkout's.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'n3xus-render-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const compose = path.join(tmp, 'compose');
mkdirSync(compose);
for (const name of ['docker-compose.full.yml', 'airgap.env']) copyFileSync(path.join(projectRoot(), 'compose', name), path.join(compose, name));
const fleetFile = path.join(compose, 'docker-compose.full.yml');
const env = { N3XUS_CACHE_DIR: path.join(tmp, 'cache') };

/** No stack trace: no line of the form "    at fn (file:line:col)". */
const stackLine = /^\s+at .+:\d+:\d+\)?$/m;

describe('n3xus render kubernetes', () => {
  it('writes the fleet, making the install secrets file when there is none, and writes the same bytes again', async () => {
    const first = await runCli(['render', 'kubernetes', '-f', fleetFile, '-o', path.join(tmp, 'a'), '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout) as { objects: number; files: unknown[]; generatedSecrets: boolean; secretsFile: string };
    expect(result.generatedSecrets).toBe(true);
    expect(statSync(result.secretsFile).mode & 0o777).toBe(0o600);
    expect(result.files).toHaveLength(readdirSync(path.join(tmp, 'a')).length);
    const second = await runCli(['render', 'kubernetes', '-f', fleetFile, '-o', path.join(tmp, 'b'), '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { generatedSecrets: boolean }).generatedSecrets).toBe(false);
    for (const name of readdirSync(path.join(tmp, 'a'))) expect(readFileSync(path.join(tmp, 'b', name), 'utf8'), name).toBe(readFileSync(path.join(tmp, 'a', name), 'utf8'));
  });

  it('refuses an -o that is a file before reading anything: one message, exit 22, no stack trace', async () => {
    const file = path.join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    const run = await runCli(['render', 'kubernetes', '-f', path.join(tmp, 'nowhere', 'fleet.yml'), '-o', file], env);
    expect(run.code).toBe(22);
    expect(run.message).toContain(`-o ${file} is a file, not a directory`);
    expect(run.stderr).not.toMatch(stackLine);
  });

  it('refuses a target it does not render, naming the ones it does: exit 22, no stack trace', async () => {
    const run = await runCli(['render', 'helm', '-o', path.join(tmp, 'helm')], env);
    expect(run.code).toBe(22);
    expect(run.message).toContain('n3xus cannot render "helm": the targets are kubernetes.');
    expect(run.stderr).not.toMatch(stackLine);
    const json = await runCli(['render', 'helm', '-o', path.join(tmp, 'helm'), '--json'], env);
    expect(json.code).toBe(22);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'INVALID_ARGUMENT', suggestions: ['n3xus render kubernetes -o DIR'] } });
  });

  it('leaves other unknown commands to oclif', async () => {
    const run = await runCli(['no-such-command'], env);
    expect(run.code).toBe(2);
    expect(run.message).toContain('command no-such-command not found');
  });
});
