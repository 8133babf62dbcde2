import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { INFRA_HEALTHCHECK } from '../../src/fleet/service-files.ts';
import { LABELS } from '../../src/fleet/compose.ts';
import { FleetFileError, loadFleet, parseFleet, type Env, type Fleet } from '../../src/fleet/model.ts';
import { STAGES } from '../../src/fleet/stages.ts';

const OUR_FILE = 'compose/docker-compose.full.yml';
const ours = loadFleet(OUR_FILE, { env: {} });
const byName = new Map(ours.services.map((s) => [s.name, s]));
const service = (name: string) => byName.get(name)!;

/** A one-service compose file in the n3xus shape; `patch` replaces or adds service keys. */
function oneService(patch: Record<string, unknown> = {}, labels: Record<string, string | undefined> = {}): string {
  const allLabels = { [LABELS.stage]: 'federation', [LABELS.group]: 'federation', [LABELS.category]: 'identity', [LABELS.port]: '3011', ...labels };
  const definition = { image: 'n3xus/identity-registry:3.0', ports: ['127.0.0.1:3011:3011'], labels: Object.fromEntries(Object.entries(allLabels).filter(([, v]) => v !== undefined)), ...patch };
  return stringify({ services: { 'identity-registry': definition } });
}

const parse = (text: string, env: Env = {}): Fleet => parseFleet(text, OUR_FILE, { env });

function errorOf(run: () => unknown): FleetFileError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FleetFileError);
    return error as FleetFileError;
  }
  throw new Error('expected a FleetFileError, but nothing was thrown');
}

describe('our compose file loads into the typed fleet model', () => {
  it('has 100 services in the file order: PostgreSQL, Redis, then the 98 microservices', () => {
    expect(ours.services).toHaveLength(100);
    expect(ours.services.slice(0, 4).map((s) => s.name)).toEqual(['postgres', 'redis', 'v-supercore', 'puabo-api-ai-hf']);
    expect(ours.warnings).toEqual([]);
  });

  it('gives each service the stage of its n3xus.stage label', () => {
    const perStage = Object.fromEntries(STAGES.map((stage) => [stage, ours.services.filter((s) => s.stage === stage).length]));
    expect(perStage).toEqual({ infra: 2, core: 2, federation: 4, domain: 11, compliance: 5, puabo: 16, vsuite: 13, extended: 47 });
    expect(service('identity-registry').stage).toBe('federation');
  });

  it('takes the container port from n3xus.port and the host port from the 127.0.0.1 publish', () => {
    expect([service('postgres').port, service('postgres').hostPort]).toEqual([5432, 15432]);
    expect([service('redis').port, service('redis').hostPort]).toEqual([6379, 16379]);
    expect([service('event-bus').port, service('webhook-dispatcher').port]).toEqual([4069, 4070]);
    expect(ours.services.filter((s) => s.stage !== 'infra').every((s) => s.hostPort === s.port)).toBe(true);
  });

  it('reads group, category, phase and calls from the labels', () => {
    expect(service('federation-gateway')).toMatchObject({ group: 'federation', category: 'federation', phase: 6, calls: ['federation-spine', 'identity-registry', 'attestation-service'] });
    expect(service('event-bus').phase).toBeUndefined();
    expect(service('v-supercore').calls).toEqual([]);
  });

  it("reads PostgreSQL's hardening, limits and healthcheck into fields with units", () => {
    expect(service('postgres')).toMatchObject({
      image: 'postgres:15',
      restart: 'unless-stopped',
      readOnly: true,
      capDrop: ['ALL'],
      capAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID'],
      securityOpt: ['no-new-privileges:true'],
      memLimitBytes: 512 * 1024 ** 2,
      shmSizeBytes: 128 * 1024 ** 2,
      tmpfs: ['/tmp', '/run/postgresql'],
      volumes: [{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data', readOnly: false }],
      networks: ['nexus-net'],
      healthcheck: {
        test: ['CMD', 'pg_isready', '-U', 'n3xus', '-d', 'n3xus', '-h', '127.0.0.1'],
        intervalMs: INFRA_HEALTHCHECK.intervalSeconds * 1000,
        timeoutMs: INFRA_HEALTHCHECK.timeoutSeconds * 1000,
        retries: INFRA_HEALTHCHECK.retries,
        startPeriodMs: INFRA_HEALTHCHECK.startPeriodSeconds * 1000,
      },
    });
    expect(service('redis')).toMatchObject({ user: '999:999', memLimitBytes: 128 * 1024 ** 2 });
    // Every container's logs are bounded: 3 json-file files of 10 MiB at most.
    for (const s of ours.services) expect(s.logging, s.name).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    expect(service('redis').command).toEqual(['redis-server', '--aclfile', '/run/secrets/redis-acl', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--maxmemory', '96mb', '--maxmemory-policy', 'allkeys-lru']);
    // Every container has a process limit; credentials are secret files, never environment.
    for (const s of ours.services) expect(s.pidsLimit, s.name).toBeGreaterThan(0);
    for (const s of ours.services) expect(s.cpus, s.name).toBe(s.stage === 'infra' ? undefined : 0.5);
    expect(service('postgres').pidsLimit).toBeGreaterThan(500);
    expect(service('postgres').secrets).toEqual([
      { source: 'postgres-password', target: 'postgres-password' },
      { source: 'postgres-roles', target: 'postgres-roles' },
    ]);
    expect(service('redis').secrets).toEqual([{ source: 'redis-acl', target: 'redis-acl' }]);
    expect(service('v-supercore').secrets).toEqual([
      { source: 'v-supercore-database-url', target: 'database-url' },
      { source: 'v-supercore-redis-url', target: 'redis-url' },
      { source: 'v-supercore-caller-key', target: 'caller-key' },
      { source: 'caller-keys', target: 'caller-keys' },
    ]);
    expect(ours.secrets['v-supercore-database-url']).toEqual({ file: path.resolve('.n3xus/secrets/v-supercore-database-url') });
    expect(Object.keys(ours.secrets)).toHaveLength(3 + 3 * 98 + 1);
  });

  it("resolves a build context against the compose file's directory", () => {
    expect(service('v-supercore').build).toEqual({
      context: path.resolve('dist/fleet'),
      dockerfile: 'services/v-supercore/Dockerfile',
      args: { BASE_IMAGE: 'node:24-bookworm-slim', N3XUS_HANDSHAKE: '55-45-17' },
    });
  });

  it("reads depends_on with each dependency's condition", () => {
    expect(service('v-supercore').dependsOn).toEqual([
      { name: 'postgres', condition: 'service_healthy', required: true, restart: false },
      { name: 'redis', condition: 'service_healthy', required: true, restart: false },
    ]);
  });

  it('fills the defaults of unset variables into the environment', () => {
    expect(service('v-supercore').environment).toEqual({
      N3XUS_SERVICE: 'v-supercore',
      PORT: '3001',
      N3XUS_HANDSHAKE: '55-45-17',
      DATABASE_URL_FILE: '/run/secrets/database-url',
      REDIS_URL_FILE: '/run/secrets/redis-url',
      N3XUS_CALLER_KEY_FILE: '/run/secrets/caller-key',
      N3XUS_CALLER_KEYS_FILE: '/run/secrets/caller-keys',
      N3XUS_PEERS: '',
    });
  });

  it('takes set variables from the given env over the defaults', () => {
    const text = oneService({ image: '${N3XUS_IMAGE:-n3xus/x:1}', environment: { DATABASE_URL: 'postgres://n3xus:${N3XUS_POSTGRES_PASSWORD:-n3xus}@postgres:5432/n3xus' } });
    const fleet = parse(text, { N3XUS_POSTGRES_PASSWORD: 's3cret', N3XUS_IMAGE: 'mirror/x:2' });
    expect(fleet.services[0]).toMatchObject({ image: 'mirror/x:2', environment: { DATABASE_URL: 'postgres://n3xus:s3cret@postgres:5432/n3xus' } });
  });

  it('declares the network and the volume of the top level', () => {
    expect(ours.networks).toEqual({ 'nexus-net': { name: 'nexus-net', driver: 'bridge', external: false, internal: false, labels: {} } });
    expect(ours.volumes).toEqual({ pgdata: { external: false, labels: {} } });
  });
});

describe('interpolation follows compose', () => {
  const value = (template: string, env: Env): string => parse(oneService({ environment: { V: template } }), env).services[0]!.environment.V!;

  it.each([
    ['${A}', { A: 'a' }, 'a'],
    ['$A/x', { A: 'a' }, 'a/x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['${A-d}', {}, 'd'],
    ['${A:+r}', { A: 'a' }, 'r'],
    ['${A:+r}', { A: '' }, ''],
    ['${A+r}', { A: '' }, 'r'],
    ['${A:-${B:-c}}', {}, 'c'],
    ['${A:-${B}}', { B: 'b' }, 'b'],
    ['cost $$5', {}, 'cost $5'],
    ['${A:?must be set}', { A: 'a' }, 'a'],
    ['${A?must be set}', { A: '' }, ''],
  ] as const)('%s with %o gives %j', (template, env, expected) => {
    expect(value(template, env)).toBe(expected);
  });

  it('an unset variable without a default becomes an empty string and one warning saying which and where', () => {
    const fleet = parse(oneService({ environment: { A: '${NOPE}', B: 'x$NOPE' } }));
    expect(fleet.services[0]!.environment).toEqual({ A: '', B: 'x' });
    expect(fleet.warnings).toEqual(['compose/docker-compose.full.yml: service "identity-registry": key "environment.A": variable NOPE is not set; using an empty string']);
  });

  it('${VAR:?message} of an unset variable is an error naming the variable and where it is used', () => {
    const error = errorOf(() => parse(oneService({ environment: { TOKEN: '${N3XUS_TOKEN:?set it to the API token}' } })));
    expect(error.message).toBe('compose/docker-compose.full.yml: service "identity-registry": key "environment.TOKEN": required variable N3XUS_TOKEN is missing a value: set it to the API token');
    expect(error.suggestions).toEqual(['Set N3XUS_TOKEN in the environment, or give it a default: ${N3XUS_TOKEN:-default}.']);
  });

  it('a "$" that starts no variable is an error that says to write "$$"', () => {
    expect(errorOf(() => parse(oneService({ command: 'echo $5' }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "command": invalid interpolation format in "echo $5"; write $VAR or ${VAR}, and "$$" for a literal "$"',
    );
  });

  it('an environment entry without a value takes it from the env, and is left out when the env has none', () => {
    const env = { FROM_HOST: 'h' };
    expect(parse(oneService({ environment: ['FROM_HOST', 'MISSING', 'SET=1'] }), env).services[0]!.environment).toEqual({ FROM_HOST: 'h', SET: '1' });
    expect(parse(oneService({ environment: { FROM_HOST: null, MISSING: null, N: 5 } }), env).services[0]!.environment).toEqual({ FROM_HOST: 'h', N: '5' });
  });
});

describe('other compose forms a foreign file may use', () => {
  it('splits a string command as a shell would', () => {
    expect(parse(oneService({ command: `node -e "console.log('a b')" 'x y'` })).services[0]!.command).toEqual(['node', '-e', "console.log('a b')", 'x y']);
  });

  it('reads depends_on as a list, healthcheck as a string, labels as a list and build as a path', () => {
    const text = oneService({
      depends_on: ['identity-registry'],
      healthcheck: { test: 'wget -q -O- http://127.0.0.1:3011/health', interval: '1m30s' },
      labels: [`${LABELS.stage}=federation`, `${LABELS.group}=federation`, `${LABELS.category}=identity`, `${LABELS.port}=3011`],
      build: './identity',
      image: undefined,
    });
    const [s] = parseFleet(text, '/srv/fleet/compose.yml', { env: {} }).services;
    expect(s).toMatchObject({
      dependsOn: [{ name: 'identity-registry', condition: 'service_started', required: true, restart: false }],
      healthcheck: { test: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1:3011/health'], intervalMs: 90_000 },
      build: { context: '/srv/fleet/identity', dockerfile: 'Dockerfile', args: {} },
      image: 'fleet-identity-registry',
      restart: 'no',
    });
  });
});

describe('an invalid file is an error naming the file, the service, the key and what was expected', () => {
  it('a misspelt stage label', () => {
    const error = errorOf(() => parse(oneService({}, { [LABELS.stage]: 'fedration' })));
    expect(error.message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "labels.n3xus.stage": expected one of infra, core, federation, domain, compliance, puabo, vsuite, extended; got "fedration"',
    );
    expect(error).toMatchObject({ name: 'FleetFileError', code: 'INVALID_FLEET_FILE', file: OUR_FILE, problems: [{ service: 'identity-registry', key: 'labels.n3xus.stage' }] });
    expect(error.suggestions[0]).toBe('Every service needs the labels n3xus.stage, n3xus.group, n3xus.category and n3xus.port; compose/docker-compose.full.yml shows them.');
  });

  it('a missing n3xus.stage label', () => {
    expect(errorOf(() => parse(oneService({}, { [LABELS.stage]: undefined }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "labels.n3xus.stage": expected one of infra, core, federation, domain, compliance, puabo, vsuite, extended; got nothing',
    );
  });

  it('a port mapping that is not HOST:CONTAINER numbers', () => {
    expect(errorOf(() => parse(oneService({ ports: ['127.0.0.1:web:3011'] }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "ports[0]": expected "127.0.0.1:HOST:CONTAINER" with ports from 1 to 65535; got "127.0.0.1:web:3011"',
    );
  });

  it('a publish on every interface rather than 127.0.0.1', () => {
    expect(errorOf(() => parse(oneService({ ports: ['3011:3011'] }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "ports[0]": expected "127.0.0.1:3011:3011" (n3xus publishes on 127.0.0.1 only: its services have no authentication); got "3011:3011"',
    );
    expect(errorOf(() => parse(oneService({ ports: [{ target: 3011, published: 3011, host_ip: '0.0.0.0' }] }))).problems[0]!.key).toBe('ports[0]');
  });

  it('a container port in n3xus.port that is not published', () => {
    expect(errorOf(() => parse(oneService({ ports: ['127.0.0.1:3012:3012'] }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "ports": expected a publish of the container port 3011 (n3xus.port), such as "127.0.0.1:3011:3011"; got ["127.0.0.1:3012:3012"]',
    );
  });

  it('a compose key n3xus does not run, rather than dropping it silently', () => {
    expect(errorOf(() => parse(oneService({ entrypoint: ['sh'] }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "entrypoint": not a key n3xus supports; supported keys: build, cap_add, cap_drop, command, cpus, depends_on, environment, healthcheck, image, labels, logging, mem_limit, networks, pids_limit, ports, read_only, restart, secrets, security_opt, shm_size, tmpfs, user, volumes',
    );
  });

  it('log options the engine and the process driver could not rotate by', () => {
    const error = errorOf(() => parse(oneService({ logging: { driver: 'json-file', options: { 'max-size': 'big', 'max-file': '0' } } })));
    expect(error.message).toBe(
      [
        'compose/docker-compose.full.yml: service "identity-registry": key "logging.options.max-size": expected a size such as 10m or 512k; got "big"',
        'compose/docker-compose.full.yml: service "identity-registry": key "logging.options.max-file": expected a whole number of files, 1 or more; got "0"',
      ].join('\n'),
    );
    expect(errorOf(() => parse(oneService({ logging: { rotate: true } }))).message).toContain('key "logging.rotate": not a key n3xus supports');
  });

  it('sizes and durations without units Docker understands', () => {
    const error = errorOf(() => parse(oneService({ mem_limit: 'lots', healthcheck: { test: ['CMD', 'true'], interval: 5 } })));
    expect(error.message).toBe(
      [
        'compose/docker-compose.full.yml: service "identity-registry": key "healthcheck.interval": expected a duration such as 30s or 1m30s; got 5',
        'compose/docker-compose.full.yml: service "identity-registry": key "mem_limit": expected a size such as 128m or 1g; got "lots"',
      ].join('\n'),
    );
  });

  it('a call to a service the file does not have', () => {
    expect(errorOf(() => parse(oneService({}, { [LABELS.calls]: 'identity-registry,ledger' }))).message).toBe(
      'compose/docker-compose.full.yml: service "identity-registry": key "labels.n3xus.calls": expected names of services in this file, separated by commas; got "identity-registry,ledger" ("ledger" is not a service)',
    );
  });

  it('two services publishing the same host port', () => {
    const text = stringify({
      services: {
        a: { image: 'a:1', ports: ['127.0.0.1:4000:80'], labels: { [LABELS.stage]: 'core', [LABELS.group]: 'g', [LABELS.category]: 'c', [LABELS.port]: '80' } },
        b: { image: 'b:1', ports: ['127.0.0.1:4000:80'], labels: { [LABELS.stage]: 'core', [LABELS.group]: 'g', [LABELS.category]: 'c', [LABELS.port]: '80' } },
      },
    });
    expect(errorOf(() => parse(text)).message).toBe('compose/docker-compose.full.yml: service "b": key "ports[0]": host port 4000 is already published by service "a"');
  });

  it('lists a problem of every service, not only the first', () => {
    const labels = { [LABELS.stage]: 'core', [LABELS.group]: 'g', [LABELS.category]: 'c', [LABELS.port]: '1' };
    const text = stringify({ services: { a: { image: 'a:1' }, b: { image: 'b:1', restart: 'sometimes', ports: ['127.0.0.1:1:1'], labels } } });
    const error = errorOf(() => parse(text));
    expect(error.problems.map((p) => `${p.service} ${p.key}`)).toEqual(['a labels.n3xus.stage', 'a labels.n3xus.group', 'a labels.n3xus.category', 'a labels.n3xus.port', 'b restart']);
  });

  it('a YAML syntax error names the line and the column', () => {
    const text = 'services:\n  a:\n    image: x\n   labels: {}\n';
    const error = errorOf(() => parse(text));
    expect(error.message).toBe('compose/docker-compose.full.yml:4:1: YAML syntax error: All mapping items must start at the same column');
    expect(error.problems[0]).toMatchObject({ line: 4, column: 1 });
  });

  it('a file without services', () => {
    expect(errorOf(() => parse('')).message).toBe('compose/docker-compose.full.yml: key "services": expected a mapping of service names to their definitions; got nothing');
  });

  it('a missing file says which path and suggests -f', () => {
    const error = errorOf(() => loadFleet('no/such/fleet.yml'));
    expect(error.message).toBe('no/such/fleet.yml: no such file; pass the compose file of the fleet with -f/--file');
    expect(error.suggestions).toEqual(['Pass the compose file with -f/--file, e.g. -f compose/docker-compose.full.yml']);
  });
});
