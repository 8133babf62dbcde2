/**
 * Finds, or fetches through the package registries this machine reaches, the host binaries that base images are
 * made from: a Node ELF of a given major version and a statically linked busybox.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../process/run.ts';
import { readElfInfo } from './elf.ts';
import { readHead } from './node-rootfs.ts';

/** A Node binary and the version it reports (`24.21.0`). */
export interface NodeBinary {
  path: string;
  version: string;
}

/**
 * A Node ELF binary of the given major version: the running one when it qualifies, else one installed by
 * `npm install --prefix CACHE node@MAJOR` (about 15 s the first time; the `node` package ships the real binary at
 * `node_modules/node/bin/node`).
 */
export async function resolveNodeBinary(options: { major: number; cacheDir: string; onLine?: (line: string) => void }): Promise<NodeBinary> {
  const { major } = options;
  const running = await realpath(process.execPath);
  if (majorOf(process.versions.node) === major && (await isDynamicElf(running))) {
    return { path: running, version: process.versions.node };
  }
  const prefix = path.join(options.cacheDir, `node-${major}`);
  const cached = path.join(prefix, 'node_modules/node/bin/node');
  if (existsSync(cached)) {
    const version = await versionOf(cached);
    if (majorOf(version) === major) return { path: cached, version };
  }
  options.onLine?.(`npm install --prefix ${prefix} node@${major}`);
  await mkdir(prefix, { recursive: true });
  await run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node@${major}`], {
    onLine: options.onLine,
    timeoutMs: 300_000,
  });
  if (!(await isDynamicElf(cached))) throw new Error(`npm install node@${major} did not leave an ELF binary at ${cached}`);
  const version = await versionOf(cached);
  if (majorOf(version) !== major) throw new Error(`Expected Node ${major} at ${cached}, found ${version}`);
  return { path: cached, version };
}

/**
 * A statically linked busybox: the host's (Debian's busybox-static installs /bin/busybox) when it is static,
 * else Debian's busybox-static package unpacked into the cache (`apt-get download` + `dpkg -x`).
 */
export async function resolveStaticBusybox(options: { cacheDir: string; onLine?: (line: string) => void }): Promise<string> {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox', path.join(options.cacheDir, 'busybox-static/bin/busybox')]) {
    if (await isStaticElf(candidate)) return candidate;
  }
  const downloadDir = path.join(options.cacheDir, 'busybox-static-deb');
  const unpackDir = path.join(options.cacheDir, 'busybox-static');
  await rm(downloadDir, { recursive: true, force: true });
  await mkdir(downloadDir, { recursive: true });
  options.onLine?.('apt-get download busybox-static');
  await run('apt-get', ['download', 'busybox-static'], { cwd: downloadDir, onLine: options.onLine, timeoutMs: 120_000 });
  const deb = (await readdir(downloadDir)).find((name) => name.endsWith('.deb'));
  if (deb === undefined) throw new Error(`apt-get download busybox-static left no .deb in ${downloadDir}`);
  await run('dpkg', ['-x', path.join(downloadDir, deb), unpackDir]);
  const busybox = path.join(unpackDir, 'bin/busybox');
  if (!(await isStaticElf(busybox))) throw new Error(`busybox-static did not unpack a static binary at ${busybox}`);
  return busybox;
}

function majorOf(version: string): number {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

async function versionOf(nodeBinary: string): Promise<string> {
  const { stdout } = await run(nodeBinary, ['--version']);
  return stdout.trim().replace(/^v/, '');
}

async function isDynamicElf(file: string): Promise<boolean> {
  const info = await elfInfoOf(file);
  return info?.isElf === true && info.dynamic;
}

async function isStaticElf(file: string): Promise<boolean> {
  const info = await elfInfoOf(file);
  return info?.isElf === true && !info.dynamic;
}

async function elfInfoOf(file: string): Promise<ReturnType<typeof readElfInfo> | undefined> {
  if (!existsSync(file)) return undefined;
  return readElfInfo(await readHead(file, 4096));
}
