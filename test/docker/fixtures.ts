import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveStaticBusybox } from '../../src/images/host-tools.ts';

const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/**
 * Copies a fixture directory into a fresh temporary build context and adds a static busybox (the host's, or
 * Debian's busybox-static unpacked into a cache), since no base image can be pulled here.
 */
export async function fixtureContext(name: 'tiny' | 'failing'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `n3xus-fixture-${name}-`));
  await cp(path.join(fixturesDir, name), dir, { recursive: true });
  const busybox = await resolveStaticBusybox({ cacheDir: path.join(os.tmpdir(), 'n3xus-test-cache') });
  await cp(busybox, path.join(dir, 'busybox'));
  return dir;
}
