/**
 * Our own compose file cut down to a few services, on host ports of a test's own, as a small real fleet for tests
 * on an engine: the real images, environment, hardening and healthchecks of those services.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { TEST_LABELS } from './docker.ts';

/** The variables that point the compose file at the images built here (compose/airgap.env). */
export const AIRGAP: Readonly<Record<string, string>> = { N3XUS_NODE_IMAGE: 'n3xus/node:24', N3XUS_POSTGRES_IMAGE: 'n3xus/postgres:15', N3XUS_REDIS_IMAGE: 'n3xus/redis:7' };

type Services = Record<string, Record<string, unknown>>;
const ours = parse(readFileSync('compose/docker-compose.full.yml', 'utf8'), { merge: true }) as { services: Services };

/**
 * The compose YAML of `names` from our file, each published on `ports[name]` and labelled with the test labels, on
 * one network `network` (its engine name and driver); `patch` edits the service definitions before.
 */
export function cutFleet(names: readonly string[], ports: Readonly<Record<string, number>>, network: { name: string; driver: 'bridge' | 'overlay' }, patch: (services: Services) => void = () => undefined): string {
  const services: Services = {};
  for (const name of names) {
    const s = structuredClone(ours.services[name]!);
    const port = Number((s.labels as Record<string, string>)['n3xus.port']);
    s.ports = [`127.0.0.1:${ports[name]}:${port}`];
    s.labels = { ...(s.labels as Record<string, string>), ...TEST_LABELS };
    delete s.build;
    services[name] = s;
  }
  patch(services);
  return stringify({ services, networks: { 'nexus-net': network }, volumes: { pgdata: {} } });
}
