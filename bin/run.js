#!/usr/bin/env node
import module from 'node:module';
// Compiled code is cached on disk (Node's own cache, under the OS temp dir), so a command that runs in a CI loop or
// a no-op launch does not spend most of its time compiling the same modules again.
module.enableCompileCache?.();
const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });
