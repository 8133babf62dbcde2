/**
 * Docker compose interop without an engine: which containers, networks and volumes compose made for the fleet are
 * taken over, how the reconciliation adopts them, and how status shows them.
 */
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ComposeState, Instance } from '../../src/drivers/driver.ts';
import { parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { adoptedNames, adoptedResources, adoptSteps, composeContainers } from '../../src/launch/adopt.ts';
import { desiredInstances, desiredResources } from '../../src/launch/desired.ts';
import { NothingToAdoptError } from '../../src/launch/errors.ts';
import { COMPOSE_LABELS } from '../../src/launch/labels.ts';
import { reconcile, renderSteps } from '../../src/launch/reconcile.ts';
import { renderStatus, type FleetStatus } from '../../src/launch/status.ts';
import { EXIT_CODES } from '../../src/cli/base-command.ts';

const labels = (stage: string, port: number) => ({ 'n3xus.stage': stage, 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port) });

function fleetOf(networks: Record<string, unknown>, volumes: Record<string, unknown>): Fleet {
  const services = {
    db: { image: 'pg:1', ports: ['127.0.0.1:25432:5432'], volumes: ['data:/var/lib/data', 'logs:/var/log'], networks: ['net', 'back'], labels: labels('infra', 5432) },
    api: { image: 'api:1', environment: { PORT: '3001' }, ports: ['127.0.0.1:23001:3001'], networks: ['net'], labels: labels('core', 3001) },
  };
  return parseFleet(stringify({ services, networks, volumes }), 'fleet/test.yml', { env: {} });
}

/** `net` named (the same object for both tools), `back` and both volumes unnamed (`<project>_<key>`). */
const fleet = fleetOf({ net: { name: 'shared-net' }, back: {} }, { data: {}, logs: {} });

function container(service: string, patch: Partial<Instance> = {}, extra: Record<string, string> = {}): Instance {
  return {
    id: `compose-${service}`,
    name: `web_${service}_1`,
    image: 'x',
    imageId: '',
    labels: { [COMPOSE_LABELS.project]: 'web', [COMPOSE_LABELS.service]: service, ...extra },
    status: 'running',
    running: true,
    exitCode: 0,
    health: undefined,
    lastHealthOutput: undefined,
    ports: {},
    ...patch,
  };
}

function state(patch: Partial<ComposeState> = {}): ComposeState {
  return {
    containers: [container('db'), container('api')],
    // compose v1 labels a network with `name` by that name, v2 by its key; an unnamed one v1 by its key.
    networks: [{ name: 'shared-net', key: 'shared-net' }, { name: 'web_back', key: 'back' }],
    volumes: [{ name: 'web_data', key: 'data' }, { name: 'web_logs', key: 'logs' }],
    existing: { networks: ['bridge', 'shared-net', 'web_back'], volumes: ['web_data', 'web_logs'] },
    ...patch,
  };
}

describe('adoptedNames: what compose made that the fleet uses in place of its own', () => {
  it('takes compose\'s unnamed networks and volumes when n3xus has none of its own; a named network is the same object', () => {
    const names = adoptedNames(fleet, 'n3xus', 'web', state());
    expect([...names.networks]).toEqual([['back', 'web_back']]);
    expect([...names.volumes]).toEqual([['data', 'web_data'], ['logs', 'web_logs']]);
  });

  it('keeps n3xus\'s own where it exists', () => {
    const names = adoptedNames(fleet, 'n3xus', 'web', state({ existing: { networks: ['n3xus_back', 'web_back'], volumes: ['n3xus_data', 'web_data', 'web_logs'] } }));
    expect([...names.networks]).toEqual([]);
    expect([...names.volumes]).toEqual([['logs', 'web_logs']]);
  });

  it('finds a compose network by its v2 key, its v1 name, or the name compose gives it', () => {
    for (const network of [{ name: 'web_back', key: 'back' }, { name: 'web_back', key: 'web_back' }, { name: 'web_back', key: '' }]) {
      expect([...adoptedNames(fleet, 'n3xus', 'web', state({ networks: [network] })).networks]).toEqual([['back', 'web_back']]);
    }
  });

  it('takes nothing compose made for other keys, and nothing for an external or named network or volume', () => {
    expect(adoptedNames(fleet, 'n3xus', 'web', state({ networks: [{ name: 'web_front', key: 'front' }], volumes: [{ name: 'web_cache', key: 'cache' }] }))).toEqual({ networks: new Map(), volumes: new Map() });
    const named = fleetOf({ net: { name: 'shared-net' }, back: { external: true, name: 'back-ext' } }, { data: { name: 'pgdata-fixed' }, logs: { external: true } });
    expect(adoptedNames(named, 'n3xus', 'web', state())).toEqual({ networks: new Map(), volumes: new Map() });
  });

  it('names them in the desired instances and resources, so the PostgreSQL container mounts compose\'s volume', () => {
    const adopted = adoptedNames(fleet, 'n3xus', 'web', state());
    const [db] = desiredInstances(fleet, 'n3xus', fleet.services, new Map(), new Map(), undefined, adopted);
    expect(db!.mounts.map((m) => m.source)).toEqual(['web_data', 'web_logs']);
    expect(db!.networks).toEqual(['shared-net', 'web_back']);
    const resources = desiredResources(fleet, 'n3xus', fleet.services, new Map(), adopted);
    expect(resources.volumes.map((v) => v.name)).toEqual(['web_data', 'web_logs']);
    expect(resources.networks.map((n) => n.name)).toEqual(['shared-net', 'web_back']);
    // Without: n3xus's own names.
    expect(desiredInstances(fleet, 'n3xus', fleet.services, new Map())[0]!.mounts.map((m) => m.source)).toEqual(['n3xus_data', 'n3xus_logs']);
  });
});

describe('adoptedResources: what down removes with the fleet', () => {
  it('nothing while a compose container still runs a service of the fleet (they are compose\'s)', () => {
    expect(adoptedResources(fleet, 'n3xus', 'web', state())).toEqual({ networks: [], volumes: [] });
    expect(adoptedResources(fleet, 'n3xus', 'web', state({ containers: [container('api', { running: false, status: 'exited' })] }))).toEqual({ networks: [], volumes: [] });
  });

  it('once none does: the networks and volumes of compose\'s the fleet uses, named ones included', () => {
    expect(adoptedResources(fleet, 'n3xus', 'web', state({ containers: [] }))).toEqual({ networks: ['shared-net', 'web_back'], volumes: ['web_data', 'web_logs'] });
  });

  it('not a compose volume n3xus has its own of, nor one the fleet does not declare', () => {
    const s = state({ containers: [], volumes: [{ name: 'web_data', key: 'data' }, { name: 'web_cache', key: 'cache' }], existing: { networks: [], volumes: ['n3xus_data', 'web_data', 'web_cache'] } });
    expect(adoptedResources(fleet, 'n3xus', 'web', s).volumes).toEqual([]);
  });

  it('a container of a service outside the fleet, or a one-off, does not hold them', () => {
    expect(adoptedResources(fleet, 'n3xus', 'web', state({ containers: [container('elsewhere')] })).networks).toEqual(['shared-net', 'web_back']);
  });
});

describe('composeContainers', () => {
  it('one per service of the fleet, the running one of several', () => {
    const stopped = container('db', { id: 'old', running: false, status: 'exited' });
    const map = composeContainers(fleet, { containers: [stopped, container('db'), container('elsewhere')] });
    expect([...map.keys()]).toEqual(['db']);
    expect(map.get('db')!.id).toBe('compose-db');
  });
});

describe('adoptSteps: the reconciliation with compose\'s containers taken over', () => {
  const desired = desiredInstances(fleet, 'n3xus', fleet.services, new Map());
  const compose = composeContainers(fleet, state());

  it('a service only compose runs is recreated from compose\'s container, in its stage\'s turn', () => {
    const adopted = adoptSteps(reconcile(desired, []), compose, 'web');
    expect(adopted.steps).toEqual([
      { service: 'db', action: 'recreate', cause: 'made by docker compose (project web, container web_db_1): adopted', containerId: 'compose-db' },
      { service: 'api', action: 'recreate', cause: 'made by docker compose (project web, container web_api_1): adopted', containerId: 'compose-api' },
    ]);
    expect(adopted.duplicates).toEqual([]);
    expect(renderSteps(adopted)).toBe('db: recreate (made by docker compose (project web, container web_db_1): adopted)\napi: recreate (made by docker compose (project web, container web_api_1): adopted)\n');
  });

  it('a compose container of a service n3xus already runs is a duplicate, removed first; n3xus\'s step stands', () => {
    const ours: Instance = { ...container('api'), id: 'ours-api', name: 'n3xus-api', labels: desired[1]!.labels };
    const adopted = adoptSteps(reconcile(desired, [ours]), compose, 'web');
    expect(adopted.steps.map((s) => [s.service, s.action, s.containerId])).toEqual([
      ['db', 'recreate', 'compose-db'],
      ['api', 'keep', 'ours-api'],
    ]);
    expect(adopted.duplicates).toEqual([{ service: 'api', containerId: 'compose-api', name: 'web_api_1' }]);
  });

  it('changes nothing without compose containers', () => {
    const plain = reconcile(desired, []);
    expect(adoptSteps(plain, new Map(), 'web')).toEqual(plain);
  });
});

describe('bad input', () => {
  it('--adopt with nothing to adopt: one message naming the compose project and file, exit 27', () => {
    const error = new NothingToAdoptError('compose/docker-compose.full.yml', 'compose', 'any service', []);
    expect(error.message).toBe('--adopt: no container made by docker compose (label com.docker.compose.project=compose) runs any service of compose/docker-compose.full.yml. Nothing was changed.');
    expect(error.suggestions[0]).toContain('--project');
    expect(EXIT_CODES[error.code]).toBe(27);
    const partial = new NothingToAdoptError('f.yml', 'web', 'any of the 2 services planned (a, b)', ['c']);
    expect(partial.message).toContain('(compose runs c, outside it)');
  });
});

describe('renderStatus with compose\'s containers', () => {
  it('marks each as compose-managed and says how to take them over', () => {
    const status: FleetStatus = {
      project: 'n3xus',
      healthy: 1,
      total: 2,
      compose: { project: 'web', containers: 1 },
      services: [
        { service: 'db', stage: 'infra', state: 'running', healthy: true, detail: 'accepting', port: 25432, configChanged: false, managedBy: 'compose', restarts: 0, uptimeS: 5 },
        { service: 'api', stage: 'core', state: 'not launched', healthy: false, detail: 'no container with its label', port: 23001, configChanged: false },
      ],
    };
    const lines = renderStatus(status).split('\n');
    expect(lines[1]).toMatch(/^db +infra +running, compose +healthy +127\.0\.0\.1:25432 +0 +5s$/);
    expect(lines.at(-1)).toBe('1 of 2 run in containers docker compose made (project web), not launched by n3xus: take them over with n3xus launch --adopt (their data is kept).');
  });
});
