/**
 * A Debian root filesystem made with debootstrap from the host's own mirror, trimmed like the official slim images
 * (no docs, man pages or translations, and APT told not to keep caches), ready for `docker import`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { run, runStreaming } from '../process/run.ts';
import { debianMirror } from './apt-sources.ts';

/** Where the host's deb822 APT sources are, the first place the mirror is read from. */
export const HOST_DEBIAN_SOURCES = '/etc/apt/sources.list.d/debian.sources';
const HOST_SOURCES_LIST = '/etc/apt/sources.list';

/** Files written into the root filesystem to keep later `apt-get install` layers small, as debian:*-slim does. */
export const SLIM_CONFIG: Readonly<Record<string, string>> = {
  'etc/dpkg/dpkg.cfg.d/docker': [
    'path-exclude /usr/share/doc/*',
    'path-include /usr/share/doc/*/copyright',
    'path-exclude /usr/share/man/*',
    'path-exclude /usr/share/groff/*',
    'path-exclude /usr/share/info/*',
    'path-exclude /usr/share/lintian/*',
    'path-exclude /usr/share/linda/*',
    'path-exclude /usr/share/locale/*',
    'path-include /usr/share/locale/locale.alias',
    '',
  ].join('\n'),
  'etc/apt/apt.conf.d/docker-clean': [
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'Dir::Cache::pkgcache "";',
    'Dir::Cache::srcpkgcache "";',
    '',
  ].join('\n'),
  'etc/apt/apt.conf.d/docker-no-languages': 'Acquire::Languages "none";\n',
  'etc/apt/apt.conf.d/docker-gzip-indexes': 'Acquire::GzipIndexes "true";\n',
  'etc/apt/apt.conf.d/docker-autoremove-suggests': 'Apt::AutoRemove::SuggestsImportant "false";\n',
};

/** The host's APT sources text: the deb822 file, else the one-line sources.list; undefined when neither exists. */
export async function readHostAptSources(): Promise<{ file: string; text: string } | undefined> {
  for (const file of [HOST_DEBIAN_SOURCES, HOST_SOURCES_LIST]) {
    if (existsSync(file)) {
      const text = await readFile(file, 'utf8');
      if (text.trim() !== '') return { file, text };
    }
  }
  return undefined;
}

/** The mirror serving `suite`, read at run time from the host's APT sources. */
export async function hostDebianMirror(suite: string): Promise<string> {
  const sources = await readHostAptSources();
  const mirror = sources === undefined ? undefined : debianMirror(sources.text, suite);
  if (mirror === undefined) {
    throw new Error(`No Debian mirror for ${suite} in ${sources?.file ?? HOST_DEBIAN_SOURCES}: expected a "URIs:" line in a stanza whose Suites include ${suite}`);
  }
  return mirror;
}

export interface DebianRootfsOptions {
  /** Directory to create the root filesystem in; must not exist or be empty. */
  dir: string;
  suite: string;
  mirror: string;
  /** The host's deb822 sources, copied in so the image gets updates and security fixes as the host does. */
  hostSources?: { file: string; text: string } | undefined;
  onLine?: (line: string) => void;
}

/** Runs `debootstrap --variant=minbase SUITE DIR MIRROR` (35–40 s here) and trims the result. */
export async function createDebianRootfs(options: DebianRootfsOptions): Promise<void> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  await run('debootstrap', ['--variant=minbase', options.suite, dir, options.mirror], {
    onLine: options.onLine,
    timeoutMs: 600_000,
    tailLines: 30,
  });
  await configureApt(dir, options.hostSources);
  for (const [file, content] of Object.entries(SLIM_CONFIG)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  await trimRootfs(dir);
}

/**
 * Uses the host's deb822 sources (which list updates and security next to the main suite) when the keyring
 * they name is in the root filesystem; otherwise the sources.list debootstrap wrote stays.
 */
async function configureApt(dir: string, hostSources: { file: string; text: string } | undefined): Promise<void> {
  if (hostSources === undefined || !hostSources.file.endsWith('.sources')) return;
  const keyrings = [...hostSources.text.matchAll(/^Signed-By:\s*(\/\S+)/gm)].map((match) => match[1] ?? '');
  if (!keyrings.every((keyring) => existsSync(path.join(dir, keyring)))) return;
  await mkdir(path.join(dir, 'etc/apt/sources.list.d'), { recursive: true });
  await writeFile(path.join(dir, 'etc/apt/sources.list.d/debian.sources'), hostSources.text);
  await rm(path.join(dir, 'etc/apt/sources.list'), { force: true });
}

/** Removes what the slim dpkg rules would have kept out, and caches debootstrap leaves behind. */
async function trimRootfs(dir: string): Promise<void> {
  const inside = (relative: string): string => path.join(dir, relative);
  const docDir = inside('usr/share/doc');
  if (existsSync(docDir)) {
    for (const pkg of await readdir(docDir)) {
      const pkgDir = path.join(docDir, pkg);
      for (const entry of await readdir(pkgDir).catch(() => [])) {
        if (entry !== 'copyright') await rm(path.join(pkgDir, entry), { recursive: true, force: true });
      }
    }
  }
  for (const relative of ['usr/share/man', 'usr/share/groff', 'usr/share/info', 'usr/share/lintian', 'usr/share/linda']) {
    await emptyDir(inside(relative));
  }
  const localeDir = inside('usr/share/locale');
  if (existsSync(localeDir)) {
    for (const entry of await readdir(localeDir)) {
      if (entry !== 'locale.alias') await rm(path.join(localeDir, entry), { recursive: true, force: true });
    }
  }
  for (const relative of ['var/lib/apt/lists', 'var/cache/apt/archives', 'var/cache/apt', 'var/log']) {
    await removeFiles(inside(relative));
  }
}

async function emptyDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
}

/** Removes the plain files directly in `dir`, keeping its subdirectories (apt expects `partial/` and `lock`-free dirs). */
async function removeFiles(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) await rm(path.join(dir, entry.name), { force: true });
  }
}

/**
 * Streams the root filesystem as an uncompressed tar (numeric owners, /dev /proc /sys left empty since the engine
 * mounts its own). Await `completed` after the stream has been consumed.
 */
export function tarRootfs(dir: string): { stream: Readable; completed: Promise<unknown> } {
  const { stdout, completed } = runStreaming('tar', ['--numeric-owner', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-C', dir, '-c', '.']);
  return { stream: stdout, completed };
}
