/**
 * Stages the root filesystem of n3xus/node:24: the Node ELF binary, the glibc libraries `ldd` names for it, a
 * static busybox for /bin/sh and a few tools, and the /etc files a process expects.
 */
import { chmod, copyFile, mkdir, open, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcessError, run } from '../process/run.ts';
import { readElfInfo } from './elf.ts';
import { parseLddOutput } from './ldd.ts';

/** Busybox applets linked into /bin: a shell, network checks for healthchecks, and everyday file tools. */
export const BUSYBOX_APPLETS = [
  'sh', 'ash', 'wget', 'nc', 'nslookup', 'ping', 'netstat', 'hostname',
  'cat', 'echo', 'printf', 'env', 'printenv', 'true', 'false', 'test', '[', 'sleep', 'timeout', 'kill', 'ps', 'top', 'free',
  'id', 'whoami', 'uname', 'date', 'pwd', 'which',
  'ls', 'mkdir', 'rm', 'rmdir', 'cp', 'mv', 'ln', 'chmod', 'chown', 'touch', 'stat', 'readlink', 'du', 'df', 'find', 'xargs',
  'grep', 'sed', 'awk', 'head', 'tail', 'wc', 'tr', 'cut', 'sort', 'uniq', 'tee', 'basename', 'dirname', 'seq',
  'tar', 'gzip', 'gunzip', 'vi', 'less',
] as const;

/** /etc files of the image; `node` is uid/gid 1000 as in the official node image. */
export const ETC_FILES: Readonly<Record<string, string>> = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  group: 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n',
  // glibc 2.34+ has the files and dns sources built in, so no libnss_*.so is needed for these lines.
  'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nservices: files\nprotocols: files\n',
};

export interface NodeRootfsOptions {
  /** Directory to (re)create; it receives `rootfs/` (copied to /) and `home/` (copied to /home, owned by node). */
  stageDir: string;
  /** The Node ELF binary to install as /usr/local/bin/node. */
  nodeBinary: string;
  /** A statically linked busybox. */
  busybox: string;
  /** Strip symbols from node (`strip --strip-all`, about 18 MB less); default true, skipped when `strip` is missing. */
  strip?: boolean;
  onLine?: (line: string) => void;
}

export interface NodeRootfsResult {
  /** Host paths of the shared libraries copied, interpreter included. */
  libraries: string[];
  stripped: boolean;
}

/** Creates `stageDir/rootfs` and `stageDir/home` from scratch. */
export async function stageNodeRootfs(options: NodeRootfsOptions): Promise<NodeRootfsResult> {
  const { stageDir, nodeBinary, busybox } = options;
  const log = options.onLine ?? ((): void => undefined);
  await assertElf(nodeBinary, { dynamic: true });
  await assertElf(busybox, { dynamic: false });
  await rm(stageDir, { recursive: true, force: true });
  const rootfs = path.join(stageDir, 'rootfs');
  for (const dir of ['bin', 'etc', 'root', 'tmp', 'usr/bin', 'usr/local/bin']) await mkdir(path.join(rootfs, dir), { recursive: true });
  await mkdir(path.join(stageDir, 'home', 'node'), { recursive: true });
  // mkdir is subject to the umask, so the sticky, world-writable mode of /tmp is set afterwards.
  await chmod(path.join(rootfs, 'tmp'), 0o1777);
  await chmod(path.join(rootfs, 'root'), 0o700);

  const nodeTarget = path.join(rootfs, 'usr/local/bin/node');
  const stripped = (options.strip ?? true) && (await stripInto(nodeBinary, nodeTarget, log));
  if (!stripped) await copyFile(nodeBinary, nodeTarget);
  await chmod(nodeTarget, 0o755);

  const { stdout } = await run('ldd', [nodeBinary]);
  const ldd = parseLddOutput(stdout);
  const libraries = [...ldd.libraries.map((library) => library.path), ...(ldd.interpreter ? [ldd.interpreter] : [])];
  for (const library of libraries) {
    // Copy the file the loader would open, at the path it looks for it, so no host symlink layout is needed.
    const target = path.join(rootfs, library);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(await realpath(library), target);
    await chmod(target, 0o755);
    log(`library ${library}`);
  }

  await copyFile(busybox, path.join(rootfs, 'bin/busybox'));
  await chmod(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) await symlink('busybox', path.join(rootfs, 'bin', applet));
  // `#!/usr/bin/env node` scripts need env at its usual path.
  await symlink('../../bin/busybox', path.join(rootfs, 'usr/bin/env'));

  for (const [name, content] of Object.entries(ETC_FILES)) await writeFile(path.join(rootfs, 'etc', name), content, { mode: 0o644 });
  return { libraries, stripped };
}

async function stripInto(source: string, target: string, log: (line: string) => void): Promise<boolean> {
  try {
    await run('strip', ['--strip-all', '-o', target, source]);
    return true;
  } catch (error) {
    if (error instanceof ProcessError && error.exitCode === null) {
      log('strip not found (binutils): node is copied with its symbols');
      return false;
    }
    throw error;
  }
}

/** Rejects unless the file is a 64-bit ELF executable, dynamic or static as asked. */
export async function assertElf(file: string, expected: { dynamic: boolean }): Promise<void> {
  const head = await readHead(file, 4096);
  const info = readElfInfo(head);
  if (!info.isElf) throw new Error(`Expected ${file} to be a 64-bit ELF executable`);
  if (info.dynamic !== expected.dynamic) {
    throw new Error(`Expected ${file} to be ${expected.dynamic ? 'dynamically' : 'statically'} linked, but it is not`);
  }
}

/** The first `length` bytes of a file (fewer when it is shorter). */
export async function readHead(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
