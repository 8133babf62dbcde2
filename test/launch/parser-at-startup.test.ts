/**
 * Commands read the fleet through a cache, so that a fleet file seen before never loads the fleet parser (yaml and
 * zod, ~0.1 s of a command's start-up). A module that imports the parser eagerly undoes that silently (it happened
 * once, through the shared flags module): this test watches what the built CLI loads, for verify (its own cache)
 * and status (the one launch, down and logs share).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/project-root.ts';

const ROOT = projectRoot();
const BUILT = existsSync(path.join(ROOT, 'dist/src/commands/verify.js'));
if (!BUILT && process.env.CI === 'true') throw new Error('dist/ has no verify command: CI must build before it tests (npm run build).');
if (!BUILT) console.warn('[skipped] verify start-up test: dist/ has no verify command (run: npm run build)');

let dir = '';

/** Runs a command with a resolve hook that writes yaml and zod to a file when loaded; returns what it wrote. */
function parserLoads(command: string[]): Promise<string[]> {
  const seen = path.join(dir, `seen-${Date.now()}.txt`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', path.join(dir, 'hook.mjs'), path.join(ROOT, 'bin/run.js'), ...command, '--driver', 'process', '--state-dir', dir],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, N3XUS_CACHE_DIR: path.join(dir, 'cache', command[0]!), SEEN_FILE: seen }, timeout: 60_000 },
      () => resolve(existsSync(seen) ? [...new Set(readFileSync(seen, 'utf8').split('\n').filter((l) => l !== ''))].sort() : []),
    );
  });
}

describe.skipIf(!BUILT)('start-up of a command', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-verify-startup-'));
    writeFileSync(
      path.join(dir, 'hook.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        "import module from 'node:module';",
        'module.registerHooks({',
        '  resolve(specifier, context, next) {',
        "    if (specifier === 'yaml' || specifier === 'zod') appendFileSync(process.env.SEEN_FILE, `${specifier}\\n`);",
        '    return next(specifier, context);',
        '  },',
        '});',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['verify', ['verify', '--host', '127.0.0.1', '--timeout', '200']],
    ['status', ['status']],
  ])('%s loads the parser the first time it reads the fleet file, and not once the file is cached', async (_name, command) => {
    expect(await parserLoads(command)).toEqual(['yaml', 'zod']);
    expect(await parserLoads(command)).toEqual([]);
  }, 120_000);
});
