import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseFleet } from '../../src/fleet/model.ts';
import { desiredInstances, desiredResources } from '../../src/launch/desired.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { dataNodeLabel, secretOwner, serviceSpec, tmpfsOptions } from '../../src/drivers/swarm/service-spec.ts';

const labels = (stage: string, port: number) => ({ 'n3xus.stage': stage, 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port) });
const fleet = parseFleet(
  stringify({
    services: {
      db: {
        image: 'pg:1',
        environment: { POSTGRES_USER: 'u', POSTGRES_PASSWORD: 's3cret' },
        ports: ['127.0.0.1:25432:5432'],
        volumes: ['data:/var/lib/data'],
        tmpfs: ['/run/postgresql'],
        shm_size: '128m',
        healthcheck: { test: ['CMD', 'pg_isready'], interval: '30s' },
        labels: labels('infra', 5432),
      },
      api: {
        image: 'api:1',
        environment: { N3XUS_HANDSHAKE: '55-45-17', PORT: '3001', DATABASE_URL: 'postgres://u:s3cret@db:5432/d', REDIS_URL: '' },
        ports: ['127.0.0.1:23001:3001'],
        restart: 'on-failure:3',
        tmpfs: ['/tmp:size=1m,mode=1777'],
        mem_limit: '128m',
        cap_drop: ['ALL'],
        read_only: true,
        logging: { driver: 'json-file', options: { 'max-size': '10m' } },
        healthcheck: { test: ['CMD', 'true'], interval: '900s' },
        labels: labels('core', 3001),
      },
    },
    networks: { default: { name: 'net' } },
    volumes: { data: {} },
  }),
  'test.yml',
  { env: {} },
);
const ids = new Map([['pg:1', 'sha256:pg'], ['api:1', 'sha256:api']]);
const [db, api] = desiredInstances(fleet, 'proj', fleet.services, ids, new Map([['api', 3]]));
const resources = desiredResources(fleet, 'proj', fleet.services);
const secretIds = new Map(resources.secrets.map((s, i) => [s.name, `secret-${i}`]));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's own loose shape, read field by field below
type Template = Record<string, any>;
type Spec = { Name: string; Labels: Record<string, string>; TaskTemplate: Template; Mode: { Replicated: { Replicas: number } }; EndpointSpec: { Mode: string } };
const spec = (want: typeof api, imageUser = '1000:1000'): Spec => serviceSpec(want!, { secretIds, imageUser }) as unknown as Spec;

describe('Swarm service spec: a desired instance in Swarm words', () => {
  it('names the service <project>-<service>, labels it and its containers with the state labels and the driver', () => {
    const s = spec(api);
    expect(s.Name).toBe('proj-api');
    expect(s.Labels).toMatchObject({ [STATE_LABELS.project]: 'proj', [STATE_LABELS.service]: 'api', [STATE_LABELS.configHash]: api!.configHash, [STATE_LABELS.driver]: 'swarm', 'n3xus.replicas': '3' });
    expect(s.TaskTemplate.ContainerSpec.Labels).toEqual(s.Labels);
  });

  it('hands each credential over as a secret file, and puts none in the environment', () => {
    const s = spec(api);
    const env: string[] = s.TaskTemplate.ContainerSpec.Env;
    expect(env).toContain('N3XUS_HANDSHAKE_FILE=/run/secrets/n3xus_handshake');
    expect(env).toContain('DATABASE_URL_FILE=/run/secrets/database_url');
    expect(env.join('\n')).not.toMatch(/s3cret|55-45-17/);
    // An empty credential is no credential: it stays an (empty) variable.
    expect(env).toContain('REDIS_URL=');
    expect(s.TaskTemplate.ContainerSpec.Secrets).toEqual([
      { SecretID: secretIds.get(api!.secrets[0]!.name), SecretName: api!.secrets[0]!.name, File: { Name: 'n3xus_handshake', UID: '1000', GID: '1000', Mode: 0o400 } },
      { SecretID: secretIds.get(api!.secrets[1]!.name), SecretName: api!.secrets[1]!.name, File: { Name: 'database_url', UID: '1000', GID: '1000', Mode: 0o400 } },
    ]);
  });

  it('gives a secret to every user of its own container when the image starts as root (entrypoints drop privileges after reading it)', () => {
    expect(spec(db, '').TaskTemplate.ContainerSpec.Secrets[0].File).toEqual({ Name: 'postgres_password', UID: '0', GID: '0', Mode: 0o444 });
    expect(spec(db, '').TaskTemplate.ContainerSpec.Env).toContain('POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password');
  });

  it('names secrets by their value: a changed credential is a new secret, the same one is shared', () => {
    expect(api!.secrets[1]!.name).toMatch(/^proj_database-url_[0-9a-f]{12}$/);
    const names = resources.secrets.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(resources.secrets.every((s) => s.labels[STATE_LABELS.project] === 'proj')).toBe(true);
  });

  it('runs the replicas asked for, with no healthcheck, on DNS round robin, one task at a time on update', () => {
    const s = spec(api);
    expect(s.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(s.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['NONE'] });
    expect(s.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(spec(db).Mode).toEqual({ Replicated: { Replicas: 1 } });
  });

  it('carries hardening, limits, restart, logging and the network alias', () => {
    const t = spec(api).TaskTemplate;
    expect(t.ContainerSpec).toMatchObject({ ReadOnly: true, CapabilityDrop: ['ALL'] });
    expect(t.ContainerSpec.Mounts).toEqual([{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024 * 1024, Mode: 0o1777 } }]);
    expect(t.Resources).toEqual({ Limits: { MemoryBytes: 128 * 1024 * 1024 } });
    expect(t.RestartPolicy).toMatchObject({ Condition: 'on-failure', MaxAttempts: 3 });
    expect(t.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '10m' } });
    expect(t.Networks).toEqual([{ Target: 'net', Aliases: ['api'] }]);
  });

  it('attaches a task to every network its service names, with its aliases on each', () => {
    const split = parseFleet(
      stringify({ services: { api: { image: 'api:1', ports: ['127.0.0.1:23001:3001'], networks: ['edge', 'data'], labels: labels('core', 3001) } }, networks: { edge: {}, data: { internal: true } } }),
      'test.yml',
      { env: {} },
    );
    const [one] = desiredInstances(split, 'proj', split.services, ids);
    expect(spec(one).TaskTemplate.Networks).toEqual([
      { Target: 'proj_edge', Aliases: ['api'] },
      { Target: 'proj_data', Aliases: ['api'] },
    ]);
  });

  it('places a service with a named volume on the node labelled as the project data node, and gives it its shm size', () => {
    const t = spec(db).TaskTemplate;
    expect(t.Placement).toEqual({ Constraints: [`node.labels.${dataNodeLabel('proj')} == true`] });
    expect(t.ContainerSpec.Mounts).toContainEqual({ Type: 'volume', Source: 'proj_data', Target: '/var/lib/data', ReadOnly: false });
    expect(t.ContainerSpec.Mounts).toContainEqual({ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 128 * 1024 * 1024 } });
    expect(spec(api).TaskTemplate.Placement).toEqual({});
  });

  it('places the rest of infra (Redis: no volume) on the data node too, so that the data of the fleet stays on one node', () => {
    const cache = parseFleet(stringify({ services: { cache: { image: 'redis:7', ports: ['127.0.0.1:26379:6379'], labels: labels('infra', 6379) } } }), 'test.yml', { env: {} });
    const [want] = desiredInstances(cache, 'proj', cache.services, new Map([['redis:7', 'sha256:redis']]));
    expect(spec(want).TaskTemplate.Placement).toEqual({ Constraints: [`node.labels.${dataNodeLabel('proj')} == true`] });
  });

  it('refuses to translate an instance whose secrets were not created first', () => {
    expect(() => serviceSpec(api!, { secretIds: new Map(), imageUser: '' })).toThrow(/was not created first/);
  });

  it('reads owners and tmpfs options', () => {
    expect(secretOwner('')).toEqual({ uid: '0', gid: '0' });
    expect(secretOwner('999')).toEqual({ uid: '999', gid: '999' });
    expect(secretOwner('1000:2000')).toEqual({ uid: '1000', gid: '2000' });
    expect(secretOwner('node')).toBeUndefined();
    expect(tmpfsOptions('')).toEqual({});
    expect(tmpfsOptions('size=64k')).toEqual({ SizeBytes: 65536 });
    expect(tmpfsOptions('size=2g,mode=700')).toEqual({ SizeBytes: 2 * 1024 ** 3, Mode: 0o700 });
  });

  it('keeps the config hash of a one-replica instance equal to the definition alone, and changes it with the count', () => {
    const [single] = desiredInstances(fleet, 'proj', [fleet.services[1]!], ids);
    expect(single!.configHash).not.toBe(api!.configHash);
    const [again] = desiredInstances(fleet, 'proj', [fleet.services[1]!], ids, new Map([['api', 1]]));
    expect(again!.configHash).toBe(single!.configHash);
  });
});
