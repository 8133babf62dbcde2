/**
 * Our own compose file cut down to a few services, on host ports of a test's own, as a small real fleet for tests
 * on an engine: the real images, environment, hardening and healthchecks of those services.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { cutCompose, cutSecrets as secretsOfCut, type Services } from '../../bench/lib/fleet-cut.ts';
import type { FleetDriver } from '../../src/drivers/driver.ts';
import type { Fleet } from '../../src/fleet/model.ts';
import type { LaunchOptions } from '../../src/launch/launch.ts';
import { fleetSecrets } from '../../src/secrets/launch-secrets.ts';
import { TEST_LABELS } from './docker.ts';

/** The variables that point the compose file at the images built here (compose/airgap.env). */
export const AIRGAP: Readonly<Record<string, string>> = { N3XUS_NODE_IMAGE: 'n3xus/node:24', N3XUS_POSTGRES_IMAGE: 'n3xus/postgres:15', N3XUS_REDIS_IMAGE: 'n3xus/redis:7' };

/** The secrets directories this test file's cuts named, removed after its last test. */
const secretsDirs = new Set<string>();
afterAll(() => {
  for (const dir of secretsDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Where a cut fleet's secrets live: one directory per network (each test's own), so its launches agree on them;
 * removed once the test file is done.
 */
export function cutSecretsDir(network: string): string {
  const dir = path.join(tmpdir(), `n3xus-test-secrets-${network}`);
  secretsDirs.add(dir);
  return dir;
}

/**
 * The compose YAML of `names` from our file, each published on `ports[name]` and labelled with the test labels, on
 * our networks named after `network` (see cutNetworks); `patch` edits the service definitions before.
 */
export function cutFleet(names: readonly string[], ports: Readonly<Record<string, number>>, network: { name: string; driver: 'bridge' | 'overlay' }, patch: (services: Services) => void = () => undefined): string {
  return cutCompose(names, { network, ports, labels: TEST_LABELS, secretsDir: cutSecretsDir(network.name), patch });
}

/** A `patch` for cutFleet: PostgreSQL and Redis on the internal data network and the admin one, the services beside. */
export function onDataNetwork(services: Services): void {
  for (const [name, s] of Object.entries(services)) s.networks = name === 'postgres' || name === 'redis' ? ['nexus-data', 'nexus-admin'] : ['nexus-net', 'nexus-data'];
}

/**
 * The top-level `secrets` of a cut of our compose file: those its services mount, as files in the test's own
 * directory (see cutSecretsDir), which a launch fills (see launchSecrets).
 */
export function cutSecrets(services: Readonly<Services>, key: string): Record<string, { file: string }> {
  return secretsOfCut(services, cutSecretsDir(key));
}

/** What a launch of a cut fleet needs for its secrets, as the launch command does it: written, read, roles made. */
export function launchSecrets(fleet: Fleet, driver: FleetDriver): Pick<LaunchOptions, 'secretValues' | 'beforeServices'> {
  const secrets = fleetSecrets(fleet, fleet.services, driver, { dryRun: false });
  return { secretValues: secrets.values, ...(secrets.beforeServices === undefined ? {} : { beforeServices: secrets.beforeServices }) };
}
