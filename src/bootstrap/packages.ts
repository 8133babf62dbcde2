/**
 * How `bootstrap --fix` installs the servers the process driver runs (PostgreSQL, Redis) through the system's package
 * manager: pure, so which command, for which system, as root, through sudo or not at all is tested without
 * installing anything. On Debian and Ubuntu it runs apt-get; elsewhere it prints the command to run.
 */

/** A server the process driver runs itself, from the machine's installed binaries. */
export type ServerKind = 'postgres' | 'redis';

/** What the plan depends on: the system, who runs it, and whether there is a terminal (for sudo's password). */
export interface HostFacts {
  platform: NodeJS.Platform;
  /** The text of /etc/os-release, when there is one. */
  osRelease?: string;
  /** The effective user ID; undefined where there is none (Windows). */
  uid?: number;
  /** Whether `sudo` is on PATH. */
  sudo: boolean;
  /** Whether standard input is a terminal (sudo may ask for a password there; elsewhere it must not wait for one). */
  tty: boolean;
}

/** The package managers the plan knows, `unknown` for the rest. */
export type PackageSystem = 'apt' | 'dnf' | 'zypper' | 'apk' | 'pacman' | 'brew' | 'unknown';

/** Each system's package names for the two servers. */
export const PACKAGES: Readonly<Record<Exclude<PackageSystem, 'unknown'>, Readonly<Record<ServerKind, string>>>> = {
  apt: { postgres: 'postgresql', redis: 'redis-server' },
  dnf: { postgres: 'postgresql-server', redis: 'redis' },
  zypper: { postgres: 'postgresql-server', redis: 'redis' },
  apk: { postgres: 'postgresql', redis: 'redis' },
  pacman: { postgres: 'postgresql', redis: 'redis' },
  brew: { postgres: 'postgresql', redis: 'redis' },
};

/** The install command each system's users type, packages last. */
const INSTALL: Readonly<Record<Exclude<PackageSystem, 'unknown'>, string>> = {
  apt: 'apt-get install -y',
  dnf: 'dnf install -y',
  zypper: 'zypper install -y',
  apk: 'apk add',
  pacman: 'pacman -S --noconfirm',
  brew: 'brew install',
};

/**
 * What apt-get runs as root: no system service is started while it installs (policy-rc.d answers 101, "action
 * forbidden", to invoke-rc.d and deb-systemd-invoke alike; one the machine already has is left as it is), then
 * the package lists and the packages, given as arguments.
 */
export const APT_SCRIPT = [
  'set -e',
  'if [ ! -e /usr/sbin/policy-rc.d ]; then',
  "  printf '#!/bin/sh\\n# n3xus bootstrap: start no service while installing\\nexit 101\\n' > /usr/sbin/policy-rc.d",
  '  chmod 755 /usr/sbin/policy-rc.d',
  "  trap 'rm -f /usr/sbin/policy-rc.d' EXIT",
  'fi',
  'export DEBIAN_FRONTEND=noninteractive',
  'apt-get update -qq',
  'apt-get install -y -qq --no-install-recommends "$@"',
].join('\n');

/** The system's package manager, from the platform and /etc/os-release (ID, then ID_LIKE). */
export function packageSystem(platform: NodeJS.Platform, osRelease: string | undefined): PackageSystem {
  if (platform === 'darwin') return 'brew';
  if (platform !== 'linux' || osRelease === undefined) return 'unknown';
  const field = (name: string): string[] => {
    const line = osRelease.split('\n').find((l) => l.startsWith(`${name}=`));
    return (line?.slice(name.length + 1).replace(/^["']|["']$/g, '') ?? '').toLowerCase().split(/\s+/).filter((w) => w !== '');
  };
  for (const id of [...field('ID'), ...field('ID_LIKE')]) {
    if (id === 'debian' || id === 'ubuntu') return 'apt';
    if (id === 'fedora' || id === 'rhel' || id === 'centos') return 'dnf';
    if (id === 'suse' || id === 'opensuse') return 'zypper';
    if (id === 'alpine') return 'apk';
    if (id === 'arch') return 'pacman';
  }
  return 'unknown';
}

/**
 * - `run`: n3xus runs `argv` (apt-get, as root or through sudo) once the user said yes; `command` is what it shows.
 * - `print`: it cannot or does not install on this system; `command` is what to run instead, `reason` why.
 */
export type InstallPlan =
  | { kind: 'run'; system: 'apt'; packages: string[]; argv: string[]; command: string; asRoot: 'root' | 'sudo' }
  | { kind: 'print'; system: PackageSystem; packages: string[]; command: string; reason: string };

/** How to install `missing` on this host (see {@link InstallPlan}); `missing` must not be empty. */
export function installPlan(missing: readonly ServerKind[], host: HostFacts): InstallPlan {
  if (missing.length === 0) throw new TypeError('installPlan needs at least one server to install');
  const system = packageSystem(host.platform, host.osRelease);
  if (system === 'unknown') {
    const names = missing.map((m) => (m === 'postgres' ? 'PostgreSQL (postgres and initdb)' : 'Redis (redis-server)')).join(' and ');
    return {
      kind: 'print',
      system,
      packages: [],
      command: `install ${names} with this system's package manager`,
      reason: `n3xus does not know this system's package manager (${host.platform}${host.osRelease === undefined ? '' : `, ${osName(host.osRelease)}`})`,
    };
  }
  const packages = missing.map((m) => PACKAGES[system][m]);
  const typed = `${INSTALL[system]} ${packages.join(' ')}`;
  if (system !== 'apt') {
    const root = system === 'brew' ? '' : 'sudo ';
    return { kind: 'print', system, packages, command: `${root}${typed}`, reason: `n3xus installs through apt-get only (Debian, Ubuntu); on this system run the command yourself` };
  }
  const shown = `apt-get update && ${typed}`;
  if (host.uid === 0) return { kind: 'run', system, packages, argv: ['sh', '-c', APT_SCRIPT, 'n3xus-install', ...packages], command: shown, asRoot: 'root' };
  if (host.sudo) {
    // Without a terminal, sudo must fail at once rather than wait for a password nobody can type.
    return { kind: 'run', system, packages, argv: ['sudo', ...(host.tty ? [] : ['-n']), 'sh', '-c', APT_SCRIPT, 'n3xus-install', ...packages], command: `sudo sh -c '${shown}'`, asRoot: 'sudo' };
  }
  return { kind: 'print', system, packages, command: `su -c '${shown}'`, reason: 'installing needs root, and this user is not root and has no sudo' };
}

function osName(osRelease: string): string {
  const line = osRelease.split('\n').find((l) => l.startsWith('PRETTY_NAME=')) ?? osRelease.split('\n').find((l) => l.startsWith('ID=')) ?? '';
  return line.slice(line.indexOf('=') + 1).replace(/^["']|["']$/g, '') || 'unknown';
}
