/**
 * The driver contract, the same on every driver: a small fleet (one kit service, the real image or bundle) is
 * created, started, observed, read, stopped, started again and removed through the driver alone, and each step is
 * checked on the real thing (the engine, the swarm, the process table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DockerEngine } from '../../src/docker/engine.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import type { FleetDriver, Instance } from '../../src/drivers/driver.ts';
import { ProcessDriver } from '../../src/drivers/process/process-driver.ts';
import { SwarmDriver } from '../../src/drivers/swarm/swarm-driver.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { desiredInstances, desiredResources } from '../../src/launch/desired.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { describeWithImage, describeWithSwarm, eventually, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { freePort } from '../support/local-servers.ts';

const IMAGE = 'n3xus/v-supercore:3.0';

/** One kit service without PostgreSQL or Redis: it runs degraded, which is all the contract needs. */
function smallFleet(project: string, port: number, network: { driver: string }): Fleet {
  const doc = {
    services: {
      'v-supercore': {
        image: IMAGE,
        environment: { N3XUS_SERVICE: 'v-supercore', PORT: '3001', N3XUS_HANDSHAKE: '55-45-17', N3XUS_PEERS: '' },
        ports: [`127.0.0.1:${port}:3001`],
        networks: ['net'],
        restart: 'unless-stopped',
        labels: { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'core', 'n3xus.port': '3001', ...TEST_LABELS },
      },
    },
    networks: { net: { ...network, name: `${project}-net` } },
  };
  return parseFleet(stringify(doc), path.resolve('test-contract.yml'), { env: {} });
}

function contract(name: string, make: (project: string, port: number) => Promise<{ driver: FleetDriver; fleet: Fleet; cleanup: () => Promise<void> }>): void {
  const project = `n3xus-contract-${name}-${SESSION_ID.slice(0, 6)}`;
  let driver: FleetDriver;
  let fleet: Fleet;
  let cleanup: () => Promise<void> = async () => undefined;
  let id = '';
  const mine = async (): Promise<Instance[]> => (await driver.observe(project)).filter((i) => i.labels[STATE_LABELS.service] === 'v-supercore');

  beforeAll(async () => {
    ({ driver, fleet, cleanup } = await make(project, await freePort()));
  });
  afterAll(async () => {
    for (const i of await driver.observe(project).catch(() => [])) await driver.remove(i.id).catch(() => undefined);
    await driver.removeResources(project, { volumes: true }).catch(() => undefined);
    await cleanup();
  });

  it('observes nothing before a launch', async () => {
    expect(await mine()).toEqual([]);
  });

  it('creates and starts an instance that observe finds running, by its labels', async () => {
    const imageIds = await driver.resolveImages([IMAGE]);
    expect(imageIds.get(IMAGE)).toBeTruthy();
    const [want] = desiredInstances(fleet, project, fleet.services, new Map([[IMAGE, imageIds.get(IMAGE)!]]));
    await driver.prepare(desiredResources(fleet, project, fleet.services));
    id = await driver.create(want!);
    await driver.start(id);
    const [instance] = await eventually(async () => {
      const found = await mine();
      if (found.length !== 1 || !found[0]!.running) throw new Error(`not running yet: ${JSON.stringify(found.map((i) => i.status))}`);
      return found;
    }, 30_000);
    expect(instance!.id).toBe(id);
    expect(instance!.labels[STATE_LABELS.configHash]).toBe(want!.configHash);
    expect(instance!.labels[STATE_LABELS.driver]).toBe(driver.kind);
  });

  it('reads what the instance printed, whole and as a stream', async () => {
    const lines = await eventually(async () => {
      const tail = await driver.logs(id, 50);
      if (!tail.some((l) => l.includes('"event":"listening"'))) throw new Error(`no start line yet: ${tail.join(' | ')}`);
      return tail;
    }, 20_000);
    expect(lines.length).toBeLessThanOrEqual(50);
    const chunks: Buffer[] = [];
    const { interrupted } = await driver.streamLogs(id, { follow: false, onOutput: (_stream, payload) => chunks.push(payload) });
    expect(interrupted).toBe(false);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('"event":"listening"');
  });

  it('stops the instance without removing it, and starts it again', async () => {
    await driver.stop(id, { timeoutS: 2 });
    await eventually(async () => {
      const found = await mine();
      if (found.length !== 1 || found[0]!.running) throw new Error(`still running: ${JSON.stringify(found.map((i) => i.status))}`);
    }, 30_000);
    await driver.start(id);
    await eventually(async () => {
      const found = await mine();
      if (found.length !== 1 || !found[0]!.running) throw new Error(`not running again: ${JSON.stringify(found.map((i) => i.status))}`);
    }, 30_000);
    expect((await driver.inspect(id)).running).toBe(true);
  });

  it('removes the instance, after which observe finds nothing of it', async () => {
    await driver.remove(id);
    await eventually(async () => {
      if ((await mine()).length > 0) throw new Error('still observed');
    }, 30_000);
    await driver.removeResources(project, { volumes: true });
  });
}

await describeWithImage(IMAGE, 'driver contract: docker', () => {
  contract('docker', async (project, port) => ({ driver: new DockerDriver(new DockerEngine()), fleet: smallFleet(project, port, { driver: 'bridge' }), cleanup: async () => undefined }));
});

await describeWithSwarm(IMAGE, 'driver contract: swarm', () => {
  contract('swarm', async (project, port) => {
    const fleet = smallFleet(project, port, { driver: 'overlay' });
    return { driver: new SwarmDriver(new DockerEngine(), { fleet }), fleet, cleanup: async () => undefined };
  });
});

describe('driver contract: process', () => {
  contract('process', async (project, port) => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-contract-'));
    // The process driver runs the bundle from dist/fleet under the service's name, without an image.
    const fleet = smallFleet(project, port, { driver: 'bridge' });
    return { driver: new ProcessDriver({ stateDir, fleet }), fleet, cleanup: () => rm(stateDir, { recursive: true, force: true }) };
  });
});
