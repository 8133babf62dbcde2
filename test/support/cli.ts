/**
 * Runs the built CLI (`node bin/run.js …`, after `npm run build`) as a user would, without blocking this process
 * (whose servers it may be about to probe), and returns its exit code and output.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr with oclif's line wrapping undone, to match whole messages. */
  message: string;
}

/** `node bin/run.js ...args` in the project root, with `env` added to this process's environment. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const root = projectRoot();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, message: stderr.replace(/\s*\n\s*/g, ' ') }));
  });
}
