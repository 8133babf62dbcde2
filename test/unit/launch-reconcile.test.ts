import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/docker/inspect.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { containerSpec, HTTP_START_INTERVAL_MS, START_INTERVAL_MS } from '../../src/drivers/docker/container-spec.ts';
import { checkInternal, NetworkMismatchError } from '../../src/drivers/docker/docker-driver.ts';
import { desiredInstances, desiredResources, reachNetworks, type DesiredInstance } from '../../src/launch/desired.ts';
import { instanceFailure } from '../../src/launch/health.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { busyPorts, missingImages, PortBusyError, wrongHandshakes } from '../../src/launch/prechecks.ts';
import { isNoOp, reconcile, renderSteps } from '../../src/launch/reconcile.ts';

const labels = (stage: string, port: number) => ({ 'n3xus.stage': stage, 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port) });

function fleetOf(services: Record<string, Record<string, unknown>>): Fleet {
  return parseFleet(stringify({ services, networks: { net: { name: 'test-net' } }, volumes: { data: {} } }), 'test.yml', { env: {} });
}

const fleet = fleetOf({
  db: {
    image: 'pg:1',
    ports: ['127.0.0.1:25432:5432'],
    volumes: ['data:/var/lib/data'],
    networks: ['net'],
    healthcheck: { test: ['CMD', 'pg_isready'], interval: '30s' },
    labels: labels('infra', 5432),
  },
  api: {
    image: 'api:1',
    environment: { N3XUS_HANDSHAKE: '55-45-17', PORT: '3001' },
    ports: ['127.0.0.1:23001:3001'],
    networks: ['net'],
    restart: 'on-failure:3',
    tmpfs: ['/tmp', '/run:size=1m'],
    mem_limit: '128m',
    depends_on: { db: { condition: 'service_healthy' } },
    labels: labels('core', 3001),
  },
  web: { image: 'web:1', ports: ['127.0.0.1:23002:3002'], networks: ['net'], labels: labels('domain', 3002) },
});
const ids = new Map([['pg:1', 'sha256:pg'], ['api:1', 'sha256:api'], ['web:1', 'sha256:web']]);
const desired = desiredInstances(fleet, 'proj', fleet.services, ids);
const want = (name: string): DesiredInstance => desired.find((d) => d.service.name === name)!;
const spec = (name: string) => containerSpec(want(name));

/** A listed container as the engine would report one this launch created. */
function observed(name: string, patch: Partial<ContainerInfo> = {}, labelPatch: Record<string, string> = {}): ContainerInfo {
  const d = want(name);
  return {
    id: `id-${name}`,
    name: d.name,
    image: d.service.image,
    imageId: d.imageId,
    labels: { ...containerSpec(d).labels, ...labelPatch },
    status: 'running',
    running: true,
    exitCode: 0,
    health: undefined,
    lastHealthOutput: undefined,
    ports: {},
    ...patch,
  };
}

describe('desired containers: what launch asks the engine for', () => {
  it('names each container <project>-<service> and labels it with project, service, config hash and image ID', () => {
    const api = want('api');
    expect(api.name).toBe('proj-api');
    expect(containerSpec(api).labels).toMatchObject({
      [STATE_LABELS.project]: 'proj',
      [STATE_LABELS.service]: 'api',
      [STATE_LABELS.configHash]: api.configHash,
      [STATE_LABELS.imageId]: 'sha256:api',
      'n3xus.stage': 'core',
    });
    expect(api.configHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('carries the compose definition into the container spec: ports on 127.0.0.1, network alias, restart, tmpfs, memory', () => {
    const api = spec('api');
    expect(api.publish).toEqual([{ containerPort: 3001, hostPort: 23001, protocol: 'tcp' }]);
    expect(api.network).toBe('test-net');
    expect(api.extraNetworks).toBeUndefined();
    expect(api.networkAliases).toEqual(['api']);
    expect(api.restartPolicy).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(api.tmpfs).toEqual({ '/tmp': '', '/run': 'size=1m' });
    expect(api.memoryBytes).toBe(128 * 1024 * 1024);
    expect(api.env).toEqual({ N3XUS_HANDSHAKE: '55-45-17', PORT: '3001' });
  });

  it("hands the service's logging to the engine as its log config, and leaves the engine's default otherwise", () => {
    const logged = fleetOf({ api: { image: 'api:1', ports: ['127.0.0.1:23001:3001'], logging: { options: { 'max-size': '1m' } }, labels: labels('core', 3001) } });
    expect(containerSpec(desiredInstances(logged, 'proj', logged.services, new Map())[0]!).logConfig).toEqual({ type: '', config: { 'max-size': '1m' } });
    expect(spec('api').logConfig).toBeUndefined();
  });

  it('mounts named volumes under the project name, as compose does', () => {
    expect(spec('db').mounts).toEqual([{ type: 'volume', source: 'proj_data', target: '/var/lib/data', readOnly: false }]);
    expect(desiredResources(fleet, 'proj', fleet.services).volumes.map((v) => v.name)).toEqual(['proj_data']);
    expect(desiredResources(fleet, 'proj', fleet.services).networks).toEqual([{ name: 'test-net', external: false, internal: false, labels: { [STATE_LABELS.project]: 'proj' } }]);
  });

  it('joins every network a service names: the first at create, the others connected before start, with the same aliases', () => {
    const split = parseFleet(
      stringify({
        services: {
          db: { image: 'pg:1', ports: ['127.0.0.1:25432:5432'], networks: ['data', 'admin'], labels: labels('infra', 5432) },
          api: { image: 'api:1', ports: ['127.0.0.1:23001:3001'], networks: ['edge', 'data'], labels: labels('core', 3001) },
          lone: { image: 'lone:1', ports: ['127.0.0.1:23003:3003'], labels: labels('core', 3003) },
        },
        networks: { edge: { name: 'edge-net' }, data: { name: 'data-net', internal: true }, admin: {} },
      }),
      'test.yml',
      { env: {} },
    );
    const [db, api, lone] = desiredInstances(split, 'proj', split.services, new Map());
    expect(db!.networks).toEqual(['data-net', 'proj_admin']);
    expect(containerSpec(api!)).toMatchObject({ network: 'edge-net', extraNetworks: ['data-net'], networkAliases: ['api'] });
    expect(containerSpec(lone!).network).toBe('proj_default');
    expect(containerSpec(lone!).extraNetworks).toBeUndefined();
    expect(desiredResources(split, 'proj', split.services).networks.map((n) => [n.name, n.internal])).toEqual([
      ['data-net', true],
      ['proj_admin', false],
      ['edge-net', false],
      ['proj_default', false],
    ]);
    // n3xus's own containers (the Swarm gateway, in-network verify) never join an internal network; the services' come first.
    expect(reachNetworks(split, 'proj').map((n) => n.name)).toEqual(['edge-net', 'proj_default', 'proj_admin']);
    expect(reachNetworks(split, 'proj')[0]!.labels).toEqual({ [STATE_LABELS.project]: 'proj' });
  });

  it('refuses a network that exists with the other internal flag, naming it and how to replace it; an external one is the owner\'s', () => {
    const existing = new Map([['data-net', { internal: false }], ['edge-net', { internal: false }]]);
    expect(() => checkInternal([{ name: 'edge-net', internal: false, external: false }, { name: 'new-net', internal: true, external: false }], existing)).not.toThrow();
    expect(() => checkInternal([{ name: 'data-net', internal: true, external: true }], existing)).not.toThrow();
    let error: unknown;
    try {
      checkInternal([{ name: 'data-net', internal: true, external: false }], existing);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetworkMismatchError);
    expect((error as NetworkMismatchError).message).toBe('The network "data-net" exists on the engine as a network that is not internal, and the fleet file declares it internal: true. Nothing was created.');
    expect((error as NetworkMismatchError).suggestions[0]).toContain('docker network rm data-net');
  });

  it('probes HTTP services on their port, PostgreSQL and Redis by their protocol, other infra by the engine check', () => {
    expect(want('api').probe).toBe('http');
    expect(want('db').probe).toBe('postgres');
    const other = fleetOf({ mq: { image: 'mq:1', ports: ['127.0.0.1:25672:5672'], healthcheck: { test: ['CMD', 'mq-ping'] }, labels: labels('infra', 5672) } });
    const mq = desiredInstances(other, 'proj', other.services, new Map())[0]!;
    expect(mq.probe).toBe('docker');
    // Engines from API 1.44 use it; older ones ignore it.
    expect(containerSpec(mq).healthcheck).toMatchObject({ test: ['CMD', 'mq-ping'], startIntervalMs: START_INTERVAL_MS });
    expect(spec('api').healthcheck).toBeUndefined();
    // An HTTP service with a healthcheck (ours: every 15 min) is checked every 5 s while it starts, until it passes.
    const checked = fleetOf({ web: { image: 'web:1', ports: ['127.0.0.1:28080:8080'], healthcheck: { test: ['CMD', 'probe'], interval: '900s', start_period: '60s' }, labels: labels('core', 8080) } });
    expect(containerSpec(desiredInstances(checked, 'proj', checked.services, new Map())[0]!).healthcheck).toMatchObject({ intervalMs: 900_000, startPeriodMs: 60_000, startIntervalMs: HTTP_START_INTERVAL_MS });
  });
});

describe('reconcile: what to do with each service, and why', () => {
  it('creates every service when nothing exists', () => {
    const r = reconcile(desired, []);
    expect(renderSteps(r)).toBe('db: create (no existing container)\napi: create (no existing container)\nweb: create (no existing container)\n');
    expect(isNoOp(r)).toBe(false);
  });

  it('keeps a running, unchanged fleet: a no-op', () => {
    const r = reconcile(desired, [observed('db'), observed('api'), observed('web')]);
    expect(renderSteps(r)).toBe('3 up to date\n');
    expect(isNoOp(r)).toBe(true);
  });

  it('recreates only the service whose configuration changed', () => {
    const r = reconcile(desired, [observed('db'), observed('api', {}, { [STATE_LABELS.configHash]: 'old' }), observed('web')]);
    expect(renderSteps(r)).toBe('api: recreate (config changed)\n2 up to date\n');
  });

  it('recreates a service whose image was rebuilt', () => {
    const r = reconcile(desired, [observed('db'), observed('api', { imageId: 'sha256:older' }), observed('web')]);
    expect(r.steps.find((s) => s.service === 'api')).toMatchObject({ action: 'recreate', cause: 'image changed', containerId: 'id-api' });
  });

  it('starts a container an interrupted launch created but never started, and one that exited', () => {
    const r = reconcile(desired, [observed('db', { status: 'created', running: false }), observed('api', { status: 'exited', running: false, exitCode: 137 }), observed('web')]);
    expect(renderSteps(r)).toBe('db: start (created, never started)\napi: start (exited (137))\n1 up to date\n');
  });

  it('keeps a Swarm service whose tasks are still starting: the orchestrator is at work, and the health wait follows it', () => {
    const r = reconcile(desired, [observed('db'), observed('api', { status: 'starting', running: false }), observed('web')]);
    expect(r.steps.find((s) => s.service === 'api')).toMatchObject({ action: 'keep', cause: 'up to date, starting' });
  });

  it('removes a duplicate container of a service and keeps the one with the wanted name', () => {
    const stray = observed('web', { id: 'id-stray', name: 'web-copy', running: false, status: 'exited' });
    const r = reconcile(desired, [observed('db'), observed('api'), stray, observed('web')]);
    expect(r.duplicates).toEqual([{ service: 'web', containerId: 'id-stray', name: 'web-copy' }]);
    expect(renderSteps(r)).toBe('web: remove duplicate container web-copy\n3 up to date\n');
    expect(isNoOp(r)).toBe(false);
  });

  it('reports containers of services no longer in the file, and leaves them alone', () => {
    const gone = { ...observed('web'), id: 'id-old', name: 'proj-old', labels: { [STATE_LABELS.project]: 'proj', [STATE_LABELS.service]: 'old' } };
    const r = reconcile(desired, [observed('db'), observed('api'), observed('web'), gone]);
    expect(r.orphans).toEqual([{ service: 'old', containerId: 'id-old', name: 'proj-old' }]);
    expect(isNoOp(r)).toBe(true);
  });

  it('recreates a dead container and one without a config hash label', () => {
    const noHash = observed('api');
    delete noHash.labels[STATE_LABELS.configHash];
    const r = reconcile(desired, [observed('db', { status: 'dead', running: false }), noHash, observed('web')]);
    expect(renderSteps(r)).toBe('db: recreate (dead, cannot be started as it is)\napi: recreate (no config hash label)\n1 up to date\n');
  });
});

describe('instance failures: when waiting longer cannot help', () => {
  const base = observed('api');
  it('reads exit 45 as the runtime law, not a crash', () => {
    expect(instanceFailure({ ...base, status: 'exited', running: false, exitCode: 45 })).toMatchObject({ kind: 'law-violation', exitCode: 45 });
    expect(instanceFailure({ ...base, status: 'restarting', running: true, exitCode: 45 })).toMatchObject({ kind: 'law-violation' });
  });
  it('reads other exits, a restart loop, OOM and an unhealthy verdict', () => {
    expect(instanceFailure({ ...base, status: 'exited', running: false, exitCode: 1 })).toMatchObject({ kind: 'exited', exitCode: 1, reason: 'exited (exit 1)' });
    expect(instanceFailure({ ...base, status: 'restarting', exitCode: 2 })).toMatchObject({ kind: 'exited', reason: 'crashed and is being restarted (exit 2)' });
    expect(instanceFailure({ ...base, status: 'exited', running: false, exitCode: 137, oomKilled: true })).toMatchObject({ kind: 'oom' });
    expect(instanceFailure({ ...base, health: 'unhealthy' })).toMatchObject({ kind: 'unhealthy' });
  });
  it('has nothing to say about a running or starting instance', () => {
    expect(instanceFailure(base)).toBeUndefined();
    expect(instanceFailure({ ...base, health: 'starting' })).toBeUndefined();
    expect(instanceFailure({ ...base, status: 'created', running: false })).toBeUndefined();
  });
});

describe('prechecks: bad input stops launch before anything is created', () => {
  it('names the services whose handshake is not the law', () => {
    const bad = fleetOf({ a: { image: 'a', environment: { N3XUS_HANDSHAKE: '1-2-3' }, ports: ['127.0.0.1:1:1'], labels: labels('core', 1) } });
    const error = wrongHandshakes(bad.services)!;
    expect(error.code).toBe('LAW_VIOLATION');
    expect(error.message).toContain('"a" would start with N3XUS_HANDSHAKE="1-2-3"');
    expect(error.suggestions[0]).toContain('N3XUS_HANDSHAKE=55-45-17');
    expect(wrongHandshakes(fleet.services)).toBeUndefined();
  });

  it('names a missing image and the services that need it', () => {
    const error = missingImages(fleet.services, new Map([['pg:1', 'sha256:pg'], ['api:1', undefined], ['web:1', 'sha256:web']]))!;
    expect(error.code).toBe('IMAGE_MISSING');
    expect(error.message).toContain('api:1 (service "api") is not on this engine');
    expect(error.suggestions.join(' ')).toContain('n3xus images build');
    expect(missingImages(fleet.services, ids)).toBeUndefined();
  });

  it('names each busy port with its service', async () => {
    const error = (await busyPorts(fleet.services, async (port) => port !== 23001))!;
    expect(error.code).toBe('PORT_BUSY');
    expect(error.message).toBe('Port 127.0.0.1:23001 (service "api") is in use by another program. Nothing was created.');
    expect(error.suggestions[0]).toContain("ss -ltnp 'sport = :23001'");
    expect(await busyPorts(fleet.services, async () => true)).toBeUndefined();
  });

  it('names the container that holds a busy port, and for a docker compose fleet says how to proceed', () => {
    const compose = new PortBusyError([
      { port: 25432, service: 'db', container: { container: 'compose_db_1', compose: { project: 'compose', service: 'db' } } },
      { port: 23001, service: 'api', container: { container: 'compose_api_1', compose: { project: 'compose', service: 'api' } } },
    ]);
    expect(compose.message).toBe(
      '2 ports are in use: 127.0.0.1:25432 (service "db", held by container compose_db_1, service db of docker compose project "compose"), 127.0.0.1:23001 (service "api", held by container compose_api_1, service api of docker compose project "compose"). Nothing was created.',
    );
    expect(compose.suggestions).toHaveLength(1);
    expect(compose.suggestions[0]).toContain('docker-compose -p compose -f <its compose file> down (its volumes stay unless you add -v)');
    const other = new PortBusyError([{ port: 23001, service: 'api', container: { container: 'squatter' } }]);
    expect(other.message).toBe('Port 127.0.0.1:23001 (service "api", held by container squatter) is in use. Nothing was created.');
    expect(other.suggestions).toEqual(["Stop that container (docker stop squatter), or publish this fleet's services on other ports in the fleet file."]);
  });
});
