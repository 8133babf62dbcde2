#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import module from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';
// Compiled code is cached on disk (Node's own cache, under the OS temp dir), so a command that runs in a CI loop or
// a no-op launch does not spend most of its time compiling the same modules again.
module.enableCompileCache?.();

// oclif checks the Node version against package.json's engines with semver at every start (~30 ms of loading
// semver). The same check for the one form our engines field takes (>=MAJOR.MINOR.PATCH), without semver; any
// other form is left to oclif.
const wanted = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines?.node ?? '';
const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(wanted);
if (floor && process.env.OCLIF_DISABLE_ENGINE_WARNING === undefined) {
  const have = process.versions.node.split('.').map(Number);
  const need = floor.slice(1).map(Number);
  const older = have[0] !== need[0] ? have[0] < need[0] : have[1] !== need[1] ? have[1] < need[1] : have[2] < need[2];
  // One line that says what to do, instead of a generic warning and a hint about --trace-warnings.
  if (older) {
    process.stderr.write(
      `n3xus needs Node ${wanted.slice(2)} or newer, and this is Node ${process.versions.node}: install Node 24 beside it with npm install --prefix ~/.n3xus-node node@24 && export PATH=~/.n3xus-node/node_modules/.bin:$PATH\n`,
    );
  }
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
}

const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });
