/**
 * dockerode loads, when it is imported, two things n3xus never uses: its BuildKit session module (gRPC and
 * protobuf; n3xus builds with the classic builder) and docker-modem's SSH transport (ssh2; n3xus talks to a local
 * socket or TCP). Together they cost every command that talks to Docker about 0.2 CPU-s at start, a fifth of the
 * budget of a no-op launch. Imported by engine.ts just before dockerode, this module puts a stand-in for each of
 * those two files in the CommonJS cache; the real module is loaded the first time the stand-in is called, so both
 * features still work if ever used. When a file is not where expected, nothing is changed for it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

function defer(file: string): void {
  if (!existsSync(file) || require.cache[file] !== undefined) return;
  const standIn = (...args: unknown[]): unknown => {
    delete require.cache[file];
    const real = require(file) as (...a: unknown[]) => unknown;
    return real(...args);
  };
  require.cache[file] = { id: file, filename: file, loaded: true, exports: standIn, children: [], paths: [] } as unknown as NodeJS.Module;
}

/** The files deferred: dockerode's session module and docker-modem's ssh module, each exporting one function. */
export function deferredModules(): string[] {
  const files: string[] = [];
  try {
    files.push(require.resolve('dockerode/lib/session.js'));
    const dockerode = createRequire(require.resolve('dockerode'));
    files.push(path.join(path.dirname(dockerode.resolve('docker-modem')), 'ssh.js'));
  } catch {
    // dockerode or docker-modem laid out differently: load them as they are
  }
  return files;
}

for (const file of deferredModules()) defer(file);
