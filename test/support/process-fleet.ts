/**
 * A small fleet of local processes for the process driver's tests: our compose file cut to a few services on host
 * ports of the test's own (each differs from the container's port), with its secrets, and what the machine lacks to
 * run one (PostgreSQL, redis-server, the built bundles).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { findPostgres, findRedis } from '../../src/drivers/process/local-servers.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { projectRoot } from '../../src/util/project-root.ts';
import { cutSecrets } from './fleet-cut.ts';

type Services = Record<string, Record<string, unknown>>;

/**
 * What this machine lacks to run a process fleet of our services, as one reason for describeUnless ('' when
 * nothing), which fails the suite under CI=true instead of skipping it.
 */
export function missingForProcessFleet(): string {
  const bundles = path.join(projectRoot(), 'dist', 'fleet', 'services', 'identity-registry', 'main.mjs');
  const missing = [findPostgres() ? '' : 'PostgreSQL (postgres, initdb)', findRedis() ? '' : 'redis-server', existsSync(bundles) ? '' : 'dist/fleet (npm run build)'].filter((m) => m !== '');
  return missing.length === 0 ? '' : `needs ${missing.join(', ')}`;
}

let ours: { services: Services } | undefined;

/** `names` from our compose file, each published on `ports[name]`, as a fleet of project `project`; `patch` edits them first. */
export function cutProcessFleet(names: readonly string[], ports: Readonly<Record<string, number>>, project: string, patch: (services: Services) => void = () => undefined): Fleet {
  ours ??= parse(readFileSync(path.join(projectRoot(), 'compose', 'docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Services };
  const services: Services = {};
  for (const name of names) {
    const s = structuredClone(ours.services[name]!);
    s.ports = [`127.0.0.1:${ports[name]}:${(s.labels as Record<string, string>)['n3xus.port']}`];
    services[name] = s;
  }
  patch(services);
  const doc = { services, networks: { 'nexus-net': { driver: 'bridge' } }, volumes: { pgdata: {} }, secrets: cutSecrets(services, project) };
  return parseFleet(stringify(doc), path.join(projectRoot(), 'compose', 'test-fleet.yml'), { env: {} });
}
