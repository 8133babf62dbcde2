/**
 * Our own compose file cut down to a few services, as a small real fleet: the real images, environment, hardening
 * and healthchecks of those services. No test runner needed (test/support/fleet-cut.ts adds the tests' labels and
 * cleanup), so benches cut the same fleets the tests do.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../../src/util/project-root.ts';

export type Services = Record<string, Record<string, unknown>>;
const ours = parse(readFileSync(path.join(projectRoot(), 'compose/docker-compose.full.yml'), 'utf8'), { merge: true }) as { services: Services; secrets: Record<string, { file: string }> };

export interface CutOptions {
  /** `nexus-net` under this name (see cutNetworks). */
  network: { name: string; driver: 'bridge' | 'overlay' };
  /** Where the secret files go (a launch fills them). */
  secretsDir: string;
  /** The host port of each service on 127.0.0.1; a service not named keeps its port from our file. */
  ports?: Readonly<Record<string, number>>;
  /** Added to each service's labels. */
  labels?: Readonly<Record<string, string>>;
  /** Edits the service definitions before they are written. */
  patch?: (services: Services) => void;
}

/** The compose YAML of `names` from our file, on our networks named after `options.network`. */
export function cutCompose(names: readonly string[], options: CutOptions): string {
  const services: Services = {};
  for (const name of names) {
    const s = structuredClone(ours.services[name]);
    if (s === undefined) throw new Error(`cutCompose: no service ${name} in compose/docker-compose.full.yml`);
    const port = Number((s.labels as Record<string, string>)['n3xus.port']);
    const hostPort = options.ports?.[name];
    if (hostPort !== undefined) s.ports = [`127.0.0.1:${hostPort}:${port}`];
    s.labels = { ...(s.labels as Record<string, string>), ...options.labels };
    delete s.build;
    services[name] = s;
  }
  options.patch?.(services);
  // As YAML 1.1, which docker-compose reads: a string like "no" (Redis' --appendonly) stays quoted, not a boolean.
  return stringify({ services, networks: cutNetworks(options.network), volumes: { pgdata: {} }, secrets: cutSecrets(services, options.secretsDir) }, { version: '1.1' });
}

/**
 * The networks of a cut, under the caller's own names: `nexus-net` is `network`; the internal data network and the
 * admin network of the layout with one (src/fleet/compose.ts, DATA_NETWORK), `<its name>-data` and
 * `<its name>-admin`, for a cut that patches its services onto them.
 */
export function cutNetworks(network: { name: string; driver: 'bridge' | 'overlay' }): Record<string, Record<string, unknown>> {
  return {
    'nexus-net': network,
    'nexus-data': { name: `${network.name}-data`, driver: network.driver, internal: true },
    'nexus-admin': { name: `${network.name}-admin`, driver: network.driver },
  };
}

/** The top-level `secrets` of a cut of our compose file: those its services mount, as files in `dir`. */
export function cutSecrets(services: Readonly<Services>, dir: string): Record<string, { file: string }> {
  const secrets: Record<string, { file: string }> = {};
  for (const s of Object.values(services)) {
    for (const ref of (s.secrets as (string | { source: string })[] | undefined) ?? []) {
      const name = typeof ref === 'string' ? ref : ref.source;
      secrets[name] = { file: path.join(dir, path.basename(ours.secrets[name]?.file ?? name)) };
    }
  }
  return secrets;
}
