/**
 * How bootstrap --fix installs PostgreSQL and Redis for the process driver: the plan (which command, for which
 * system, as root, through sudo or not at all) as pure logic; the check's verdicts; and the runner on real
 * processes standing in for a package manager, so nothing is installed here.
 */
import { describe, expect, it } from 'vitest';
import { checkServers, serversToInstall, type ServerFacts } from '../../src/bootstrap/checks.ts';
import { installServers } from '../../src/bootstrap/install-servers.ts';
import { APT_SCRIPT, installPlan, packageSystem, type HostFacts, type InstallPlan } from '../../src/bootstrap/packages.ts';

const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n';
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';
const ROCKY = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';
const ALPINE = 'NAME="Alpine Linux"\nID=alpine\n';
const ARCH = 'NAME="Arch Linux"\nID=arch\n';
const SUSE = 'NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\n';
const VOID = 'NAME="Void"\nID="void"\nPRETTY_NAME="Void Linux"\n';

const host = (patch: Partial<HostFacts> = {}): HostFacts => ({ platform: 'linux', osRelease: DEBIAN, uid: 0, sudo: false, tty: false, ...patch });

describe('packageSystem', () => {
  it('reads ID, then ID_LIKE, from /etc/os-release', () => {
    expect(packageSystem('linux', DEBIAN)).toBe('apt');
    expect(packageSystem('linux', UBUNTU)).toBe('apt');
    expect(packageSystem('linux', MINT)).toBe('apt');
    expect(packageSystem('linux', FEDORA)).toBe('dnf');
    expect(packageSystem('linux', ROCKY)).toBe('dnf');
    expect(packageSystem('linux', ALPINE)).toBe('apk');
    expect(packageSystem('linux', ARCH)).toBe('pacman');
    expect(packageSystem('linux', SUSE)).toBe('zypper');
    expect(packageSystem('linux', VOID)).toBe('unknown');
    expect(packageSystem('linux', undefined)).toBe('unknown');
    expect(packageSystem('darwin', undefined)).toBe('brew');
    expect(packageSystem('win32', undefined)).toBe('unknown');
  });
});

describe('installPlan', () => {
  it('Debian as root: apt-get through sh, the packages as arguments, no service started', () => {
    const plan = installPlan(['postgres', 'redis'], host());
    expect(plan).toEqual({
      kind: 'run',
      system: 'apt',
      packages: ['postgresql', 'redis-server'],
      argv: ['sh', '-c', APT_SCRIPT, 'n3xus-install', 'postgresql', 'redis-server'],
      command: 'apt-get update && apt-get install -y postgresql redis-server',
      asRoot: 'root',
    });
    expect(APT_SCRIPT).toContain('exit 101');
    expect(APT_SCRIPT).toContain("trap 'rm -f /usr/sbin/policy-rc.d' EXIT");
    expect(APT_SCRIPT).toContain('if [ ! -e /usr/sbin/policy-rc.d ]');
    expect(APT_SCRIPT.split('\n').at(-1)).toBe('apt-get install -y -qq --no-install-recommends "$@"');
  });

  it('only what is missing', () => {
    expect(installPlan(['redis'], host()).packages).toEqual(['redis-server']);
    expect(installPlan(['postgres'], host({ osRelease: UBUNTU })).packages).toEqual(['postgresql']);
  });

  it('not root, with sudo: through sudo, which may ask for a password in a terminal and must not wait for one elsewhere', () => {
    const inTerminal = installPlan(['redis'], host({ uid: 1000, sudo: true, tty: true }));
    expect(inTerminal).toMatchObject({ kind: 'run', asRoot: 'sudo', command: "sudo sh -c 'apt-get update && apt-get install -y redis-server'" });
    expect((inTerminal as Extract<InstallPlan, { kind: 'run' }>).argv.slice(0, 3)).toEqual(['sudo', 'sh', '-c']);
    const batch = installPlan(['redis'], host({ uid: 1000, sudo: true, tty: false }));
    expect((batch as Extract<InstallPlan, { kind: 'run' }>).argv.slice(0, 4)).toEqual(['sudo', '-n', 'sh', '-c']);
  });

  it('not root and no sudo: prints the command to run as root', () => {
    expect(installPlan(['postgres', 'redis'], host({ uid: 1000 }))).toEqual({
      kind: 'print',
      system: 'apt',
      packages: ['postgresql', 'redis-server'],
      command: "su -c 'apt-get update && apt-get install -y postgresql redis-server'",
      reason: 'installing needs root, and this user is not root and has no sudo',
    });
  });

  it('other systems: prints their own command, never runs it', () => {
    expect(installPlan(['postgres', 'redis'], host({ platform: 'darwin', osRelease: undefined, uid: 501 }))).toMatchObject({ kind: 'print', command: 'brew install postgresql redis' });
    expect(installPlan(['postgres', 'redis'], host({ osRelease: FEDORA }))).toMatchObject({ kind: 'print', command: 'sudo dnf install -y postgresql-server redis' });
    expect(installPlan(['redis'], host({ osRelease: ALPINE }))).toMatchObject({ kind: 'print', command: 'sudo apk add redis' });
    expect(installPlan(['redis'], host({ osRelease: ARCH }))).toMatchObject({ kind: 'print', command: 'sudo pacman -S --noconfirm redis' });
    expect(installPlan(['postgres'], host({ osRelease: SUSE }))).toMatchObject({ kind: 'print', command: 'sudo zypper install -y postgresql-server' });
    const unknown = installPlan(['redis'], host({ osRelease: VOID }));
    expect(unknown).toMatchObject({ kind: 'print', command: "install Redis (redis-server) with this system's package manager" });
    expect((unknown as Extract<InstallPlan, { kind: 'print' }>).reason).toBe("n3xus does not know this system's package manager (linux, Void Linux)");
  });

  it('refuses an empty list', () => {
    expect(() => installPlan([], host())).toThrow(TypeError);
  });
});

describe('checkServers (the process driver)', () => {
  const found: ServerFacts = { postgres: { binDir: '/usr/lib/postgresql/15/bin', version: '15' }, embeddedPostgres: true, redis: '/usr/bin/redis-server' };
  const plan = (missing: Parameters<typeof installPlan>[0]): InstallPlan => installPlan(missing, host());

  it('both installed: ok, naming where', () => {
    expect(checkServers(found)).toEqual({ result: { id: 'servers', title: 'PostgreSQL and Redis', status: 'ok', detail: 'PostgreSQL 15 (/usr/lib/postgresql/15/bin)\nredis-server (/usr/bin/redis-server)' } });
  });

  it('no redis-server: a failure, with the command that installs it', () => {
    const facts = { ...found, redis: undefined };
    expect(serversToInstall(facts)).toEqual(['redis']);
    const { result, repair } = checkServers({ ...facts, plan: plan(['redis']) });
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('redis-server is not installed: the fleet would run without Redis (degraded), and verify fails');
    expect(result.fix).toBe('n3xus bootstrap --fix --yes installs redis-server (apt-get update && apt-get install -y redis-server); no system service is started: the process driver runs its own servers');
    expect(repair).toEqual({ kind: 'install-servers', plan: plan(['redis']) });
  });

  it('no PostgreSQL: a warning while the embedded one stands in, a failure without it', () => {
    const facts = { ...found, postgres: undefined };
    expect(serversToInstall(facts)).toEqual(['postgres']);
    expect(checkServers({ ...facts, plan: plan(['postgres']) }).result.status).toBe('warn');
    expect(checkServers({ ...facts, embeddedPostgres: false, plan: plan(['postgres']) }).result).toMatchObject({ status: 'fail', detail: expect.stringContaining('nor the embedded PGlite') });
  });

  it('what the environment turned off on purpose is a warning saying its cost, and nothing to install', () => {
    const facts: ServerFacts = { ...found, postgres: undefined, redis: undefined, postgresMode: 'embedded', redisMode: 'none' };
    expect(serversToInstall(facts)).toEqual([]);
    const { result, repair } = checkServers(facts);
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('as N3XUS_POSTGRES=embedded asks');
    expect(result.detail).toContain('off, as N3XUS_REDIS=none asks: the services run degraded');
    expect(repair).toBeUndefined();
  });

  it('no root and no sudo: the fix is the command to run', () => {
    const { result } = checkServers({ ...found, redis: undefined, plan: installPlan(['redis'], host({ uid: 1000 })) });
    expect(result.fix).toBe("installing needs root, and this user is not root and has no sudo: su -c 'apt-get update && apt-get install -y redis-server'");
  });
});

describe('installServers, on real processes standing in for apt-get', () => {
  const runPlan = (script: string): InstallPlan => ({ kind: 'run', system: 'apt', packages: ['redis-server'], argv: ['sh', '-c', script], command: 'apt-get update && apt-get install -y redis-server', asRoot: 'root' });

  it('runs the plan once allowed, passing each line on, and says what it installed', async () => {
    const lines: string[] = [];
    const done = await installServers(runPlan('echo Setting up redis-server; echo done >&2'), { allowed: true }, (l) => lines.push(l));
    expect(done).toBe('installed redis-server (apt-get update && apt-get install -y redis-server; no system service started)');
    expect(lines.sort()).toEqual(['Setting up redis-server', 'done']);
  });

  it('a failing package manager: its last lines, and the exit', async () => {
    const script = 'for i in $(seq 1 30); do echo "Reading package lists... $i"; done; echo "E: Unable to locate package redis-server" >&2; exit 100';
    const error = await installServers(runPlan(script), { allowed: true }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message.split('\n')[0]).toBe('apt-get update && apt-get install -y redis-server exited 100; its last lines:');
    expect(message).toContain('E: Unable to locate package redis-server');
    expect(message).not.toContain('Reading package lists... 1\n');
    expect(message.split('\n')).toHaveLength(13);
  });

  it('without consent it runs nothing: no terminal names --yes; a "no" says how to install by hand', async () => {
    const marker = `/tmp/n3xus-test-install-${process.pid}`;
    const plan = runPlan(`touch ${marker}`);
    await expect(installServers(plan, { allowed: false, why: 'no-terminal' })).rejects.toThrow(
      'not installed: bootstrap installs system packages only when told to, and there is no terminal to ask in. Run again with --yes to install redis-server (apt-get update && apt-get install -y redis-server).',
    );
    await expect(installServers(plan, { allowed: false, why: 'declined' })).rejects.toThrow('not installed: you answered no. Install them yourself (apt-get update && apt-get install -y redis-server), or run again with --yes.');
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });

  it('a plan to print is never run: the message is the command', async () => {
    await expect(installServers(installPlan(['redis'], host({ uid: 1000 })), { allowed: true })).rejects.toThrow(
      "installing needs root, and this user is not root and has no sudo. Run: su -c 'apt-get update && apt-get install -y redis-server'",
    );
  });
});
