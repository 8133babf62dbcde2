import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyFleet } from '../../src/verify/verify.ts';
import type { ContainerInfo } from '../../src/docker/inspect.ts';
import { freePort } from '../support/local-servers.ts';
import { startHttpServer, writeFleetFile } from './support.ts';

// verify --driver auto hands the instance source over as a lookup (reading the process driver's state, then
// pinging the engine): it must run once the first answer is back, so that the probes never wait for it, and what
// it finds must still decide the container checks.
let server: Awaited<ReturnType<typeof startHttpServer>>;
let firstAnswerAt: number | undefined;
let fleetFile: string;

beforeAll(async () => {
  server = await startHttpServer((_req, res) => {
    res.on('finish', () => (firstAnswerAt ??= performance.now()));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  fleetFile = await writeFleetFile([{ name: 'analytics-core', stage: 'extended', group: 'extended', category: 'analytics', port: server.port }], 'lookup-test');
});
afterAll(() => server.close());

it('runs the instance lookup after the first answer, and judges the instances it returns', async () => {
  let lookedUpAt: number | undefined;
  const listed: string[] = [];
  const instance: ContainerInfo = {
    id: 'p-1',
    name: 'lookup-test-analytics-core',
    image: 'n3xus/analytics-core:3.0',
    imageId: 'sha256:0',
    labels: { 'n3xus.project': 'lookup-test', 'n3xus.service': 'analytics-core' },
    status: 'exited',
    running: false,
    exitCode: 3,
    health: undefined,
    lastHealthOutput: undefined,
    ports: {},
  };
  const report = await verifyFleet({
    fleetFile,
    mode: 'full',
    cacheDir: await mkdtemp(path.join(os.tmpdir(), 'n3xus-lookup-cache-')),
    instances: async (project) => {
      lookedUpAt = performance.now();
      listed.push(`lookup for ${project}`);
      return { kind: 'process', where: 'the test state', list: async (project) => (listed.push(project), [instance]) };
    },
  });
  expect(firstAnswerAt).toBeDefined();
  expect(lookedUpAt).toBeDefined();
  expect(lookedUpAt!).toBeGreaterThanOrEqual(firstAnswerAt!);
  expect(listed).toEqual(['lookup for lookup-test', 'lookup-test']);
  expect(report.docker).toMatchObject({ used: true, driver: 'process' });
  const container = report.services.find((s) => s.name === 'analytics-core')!.checks.find((c) => c.name === 'container');
  expect(container).toMatchObject({ status: 'fail' });
});

it('a lookup that fails fails verify with its message, and leaves no rejection unhandled', async () => {
  // The inter-service flow's services do not answer, so the flow never asks where they run: the failed lookup
  // must still end verify with its own message, not with an unhandled rejection.
  const closed = [await freePort(), await freePort(), await freePort()];
  const file = await writeFleetFile(
    [
      { name: 'analytics-core', stage: 'extended', group: 'extended', category: 'analytics', port: server.port },
      ...['event-bus', 'webhook-dispatcher', 'audit-trail'].map((name, i) => ({ name, stage: 'extended' as const, group: 'extended', category: 'integration', port: closed[i]! })),
    ],
    'lookup-test',
  );
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await expect(
      verifyFleet({
        fleetFile: file,
        mode: 'full',
        cacheDir: await mkdtemp(path.join(os.tmpdir(), 'n3xus-lookup-cache-')),
        instances: async () => {
          throw new Error('.n3xus/lookup-test/state.json is not a process driver state file (version 1).');
        },
      }),
    ).rejects.toThrow('is not a process driver state file');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
