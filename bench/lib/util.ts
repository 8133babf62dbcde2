import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { FleetDriver } from '../../src/drivers/driver.ts';
import { down } from '../../src/launch/down.ts';
import { projectRoot } from '../../src/util/project-root.ts';

/** `12.3 s` */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The value after `name` on the command line, if given. */
export function option(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
}

/** A whole-number option of at least 1 (`fallback` when absent); a bad value ends the bench with a message. */
export function countOption(name: string, fallback: number): number {
  const given = option(name);
  const value = Number(given ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a whole number of at least 1, got ${given}`);
  return value;
}

/** A TCP port free on 127.0.0.1 now, and not one of `taken` (to which it is added). */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * A copy of the fleet file in `dir` whose published ports are free ones (the fleet may be up on its own), its build
 * context pointed at this checkout's dist/fleet; returns its path.
 */
export async function fleetFileOnFreePorts(dir: string): Promise<string> {
  const root = projectRoot();
  const doc = parse(readFileSync(path.join(root, 'compose', 'docker-compose.full.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { ports?: string[]; build?: { context: string } }>;
  };
  const taken = new Set<number>();
  for (const service of Object.values(doc.services)) {
    const ports: string[] = [];
    for (const p of service.ports ?? []) ports.push(p.replace(/^127\.0\.0\.1:\d+:/, `127.0.0.1:${await freePort(taken)}:`));
    service.ports = ports;
    if (service.build) service.build.context = path.join(root, 'dist', 'fleet');
  }
  const file = path.join(dir, 'fleet.yml');
  writeFileSync(file, stringify(doc));
  return file;
}

/** Every process whose process group is one of `groups` (with `live`, zombies left out). */
export function groupMembers(groups: ReadonlySet<number>, options: { live?: boolean } = {}): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (options.live && fields[0] === 'Z') continue;
      if (groups.has(Number(fields[2]))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Takes a bench's project down (volumes too) and fails, saying so, when the engine keeps its network: Docker 20.10's
 * stale endpoint count (moby/moby#42119), which only an engine restart clears; a later launch would find it in the way.
 */
export async function downProject(driver: FleetDriver, project: string): Promise<void> {
  const { staleNetworks } = await down(driver, project, { volumes: true, timeoutS: 2 });
  if (staleNetworks !== undefined) throw new Error(`the engine would not remove network ${staleNetworks.join(', ')} of project ${project} (a stale endpoint, moby/moby#42119): restart dockerd, then run the bench again`);
}
