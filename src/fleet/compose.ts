import { stringify } from 'yaml';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import type { Catalog, CatalogEntry } from './catalog.ts';
import { DEFAULT_NODE_IMAGE, HEALTHCHECK, INFRA_HEALTHCHECK, SECRETS_MOUNT, healthProbe, imageTag } from './service-files.ts';

/** Label keys under which every container carries its catalog metadata; the CLI reads them back. */
export const LABELS = {
  stage: 'n3xus.stage',
  phase: 'n3xus.phase',
  group: 'n3xus.group',
  category: 'n3xus.category',
  port: 'n3xus.port',
  calls: 'n3xus.calls',
} as const;

/** The fleet's network: every container, their calls to each other, and their ports on 127.0.0.1. */
export const NETWORK = 'nexus-net';

/**
 * The layout with an internal data network, which the shipped file does not use (see {@link ComposeOptions}):
 * - `nexus-data` (internal: no route out of it, no port published from it): PostgreSQL and Redis, and the
 *   microservices, which reach them only there;
 * - `nexus-admin`: PostgreSQL and Redis alone, for their ports on 127.0.0.1 (Docker publishes none from an internal
 *   network); no microservice joins it, so nothing on `nexus-net` can reach the data servers.
 */
export const DATA_NETWORK = 'nexus-data';
export const ADMIN_NETWORK = 'nexus-admin';

export interface ComposeOptions {
  /**
   * PostgreSQL and Redis on an internal network of their own (see {@link DATA_NETWORK}). Off in the shipped file:
   * every microservice then has two network endpoints, and on Docker 20.10.24 (Debian 12's docker.io) that hung the
   * engine in one down of eight (a libnetwork lock-order deadlock, moby/moby#46661, fixed in 20.10.27) and made down
   * 1.15x as long, launch unchanged beyond noise (0.96x): `node --import tsx bench/data-network.ts`.
   */
  dataNetwork?: boolean;
}

const handshake = `\${N3XUS_HANDSHAKE:-${N3XUS_LAW}}`;

/**
 * Where the secret files are, from the compose file's directory: the install's .n3xus/secrets, which git ignores
 * and `n3xus bootstrap --fix` (or launch) fills from the install's secrets file (src/secrets/secrets-file.ts).
 */
export const SECRETS_DIR = '../.n3xus/secrets';
const DATABASE_URL_TARGET = 'database-url';
/** Where a service reads its caller key and every caller's public key (services/_kit/src/caller.ts). */
const CALLER_KEY_TARGET = 'caller-key';
const CALLER_KEYS_TARGET = 'caller-keys';
const REDIS_URL_TARGET = 'redis-url';

/**
 * Processes and threads a container may run (`pids_limit`): a fork bomb or a thread leak stops there instead of
 * exhausting the host's. A Node service runs about a dozen threads; PostgreSQL runs one process per connection
 * (max_connections 500, plus its own helpers).
 */
export const PIDS_LIMIT = { service: 64, redis: 64, postgres: 600 } as const;

/**
 * The most CPU one microservice may take (`cpus`, a hard quota), so that one busy service cannot starve the others.
 * The seed budgets ~0.1 core per service on average (bootstrap sizes the machine by it); as a ceiling, 0.1 made the
 * launch of the full fleet 1.23x as long here (85.3 s → 104.7 s; the small stages 3x: core 1.6 → 5.3 s) and would
 * cap each service's throughput at a tenth of a core, while 0.5 cost 1.07x (91.7 s): `node --import tsx
 * bench/cpu-limit.ts --cpus 0.1,0.5`. PostgreSQL and Redis, which every service waits on, have none.
 */
export const SERVICE_CPUS = 0.5;

function labels(entry: CatalogEntry): Record<string, string> {
  const out: Record<string, string> = {
    [LABELS.stage]: entry.stage,
    [LABELS.group]: entry.group,
    [LABELS.category]: entry.category,
    [LABELS.port]: String(entry.port),
    [LABELS.calls]: entry.calls.join(','),
  };
  if (entry.phase !== undefined) out[LABELS.phase] = String(entry.phase);
  return out;
}

function healthcheck(test: string[], timing = HEALTHCHECK): Record<string, unknown> {
  return {
    test: ['CMD', ...test],
    interval: `${timing.intervalSeconds}s`,
    timeout: `${timing.timeoutSeconds}s`,
    retries: timing.retries,
    start_period: `${timing.startPeriodSeconds}s`,
  };
}

/**
 * Shared by every container: no privilege escalation, no capabilities beyond what is listed, and logs that do not
 * fill the disk (json-file, 3 files of 10 MiB at most per container; the process driver rotates by the same rule).
 */
const hardened = {
  security_opt: ['no-new-privileges:true'],
  restart: 'unless-stopped',
  logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
};

const dataServerNetworks = (options: ComposeOptions) => (options.dataNetwork ? [DATA_NETWORK, ADMIN_NETWORK] : [NETWORK]);

function infraService(entry: CatalogEntry, options: ComposeOptions): Record<string, unknown> {
  if (entry.name === 'postgres') {
    return {
      image: '${N3XUS_POSTGRES_IMAGE:-postgres:15}',
      // N3XUS_INIT_SQL_FILE: the services' roles, made at the first start (n3xus/postgres runs it after initdb), so
      // that plain docker-compose gets them too; launch makes and updates them on every run.
      environment: {
        POSTGRES_USER: 'n3xus',
        POSTGRES_PASSWORD_FILE: `${SECRETS_MOUNT}/postgres-password`,
        POSTGRES_DB: 'n3xus',
        PGDATA: '/var/lib/postgresql/data/pgdata',
        N3XUS_INIT_SQL_FILE: `${SECRETS_MOUNT}/postgres-roles`,
      },
      secrets: ['postgres-password', 'postgres-roles'],
      command: ['postgres', '-c', 'max_connections=500', '-c', 'shared_buffers=64MB'],
      ports: [`127.0.0.1:${entry.hostPort}:${entry.port}`],
      volumes: ['pgdata:/var/lib/postgresql/data'],
      healthcheck: healthcheck(['pg_isready', '-U', 'n3xus', '-d', 'n3xus', '-h', '127.0.0.1'], INFRA_HEALTHCHECK),
      ...hardened,
      networks: dataServerNetworks(options),
      // PostgreSQL's entrypoint switches from root to the postgres user and owns its data directory.
      cap_drop: ['ALL'],
      cap_add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID'],
      read_only: true,
      tmpfs: ['/tmp', '/run/postgresql'],
      mem_limit: '512m',
      shm_size: '128m',
      pids_limit: PIDS_LIMIT.postgres,
      labels: labels(entry),
    };
  }
  return {
    image: '${N3XUS_REDIS_IMAGE:-redis:7}',
    // Users and their rights come from the ACL file (passwords as SHA-256 hashes only): one user per service, an
    // admin for n3xus, and `health`, which can do nothing but PING. Protected mode stays on.
    command: ['redis-server', '--aclfile', `${SECRETS_MOUNT}/redis-acl`, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--maxmemory', '96mb', '--maxmemory-policy', 'allkeys-lru'],
    secrets: ['redis-acl'],
    ports: [`127.0.0.1:${entry.hostPort}:${entry.port}`],
    // As the `health` user, which may only PING (REDIS_HEALTHCHECK_COMMAND in src/secrets/redis-acl.ts; a unit test
    // keeps the two equal): -e exits 1 on an error reply, so only PONG is healthy.
    healthcheck: healthcheck(['redis-cli', '-e', '--no-auth-warning', '--user', 'health', '--pass', '', 'ping'], INFRA_HEALTHCHECK),
    ...hardened,
    networks: dataServerNetworks(options),
    user: '999:999',
    cap_drop: ['ALL'],
    read_only: true,
    tmpfs: ['/tmp', '/data'],
    mem_limit: '128m',
    pids_limit: PIDS_LIMIT.redis,
    labels: labels(entry),
  };
}

/**
 * The environment of one microservice: who it is, its handshake, where its PostgreSQL and Redis URLs are (secret
 * files: the URLs carry its own role's and user's passwords) and its peers' URLs.
 */
export function serviceEnvironment(catalog: Catalog, entry: CatalogEntry): Record<string, string> {
  const byName = new Map(catalog.services.map((s) => [s.name, s]));
  const peers = entry.calls.map((name) => `${name}=http://${name}:${byName.get(name)!.port}`).join(',');
  return {
    N3XUS_SERVICE: entry.name,
    PORT: String(entry.port),
    N3XUS_HANDSHAKE: handshake,
    DATABASE_URL_FILE: `${SECRETS_MOUNT}/${DATABASE_URL_TARGET}`,
    REDIS_URL_FILE: `${SECRETS_MOUNT}/${REDIS_URL_TARGET}`,
    N3XUS_CALLER_KEY_FILE: `${SECRETS_MOUNT}/${CALLER_KEY_TARGET}`,
    N3XUS_CALLER_KEYS_FILE: `${SECRETS_MOUNT}/${CALLER_KEYS_TARGET}`,
    N3XUS_PEERS: peers,
    // Hosts beyond the fleet that webhooks may be delivered to (host or host:port, comma-separated): the operator's.
    ...(entry.name === 'webhook-dispatcher' ? { N3XUS_WEBHOOK_ALLOWED_HOSTS: '${N3XUS_WEBHOOK_ALLOWED_HOSTS:-}' } : {}),
  };
}

function microservice(catalog: Catalog, entry: CatalogEntry, options: ComposeOptions): Record<string, unknown> {
  return {
    image: imageTag(catalog, entry.name),
    build: {
      context: '../dist/fleet',
      dockerfile: `services/${entry.name}/Dockerfile`,
      args: { BASE_IMAGE: `\${N3XUS_NODE_IMAGE:-${DEFAULT_NODE_IMAGE}}`, N3XUS_HANDSHAKE: handshake },
    },
    environment: serviceEnvironment(catalog, entry),
    secrets: [
      { source: `${entry.name}-database-url`, target: DATABASE_URL_TARGET },
      { source: `${entry.name}-redis-url`, target: REDIS_URL_TARGET },
      { source: `${entry.name}-caller-key`, target: CALLER_KEY_TARGET },
      { source: 'caller-keys', target: CALLER_KEYS_TARGET },
    ],
    ports: [`127.0.0.1:${entry.hostPort}:${entry.port}`],
    depends_on: { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } },
    healthcheck: healthcheck(healthProbe(entry.port)),
    ...hardened,
    networks: options.dataNetwork ? [NETWORK, DATA_NETWORK] : [NETWORK],
    user: '1000:1000',
    read_only: true,
    tmpfs: ['/tmp'],
    cap_drop: ['ALL'],
    mem_limit: '128m',
    cpus: SERVICE_CPUS,
    pids_limit: PIDS_LIMIT.service,
    labels: labels(entry),
  };
}

/** The compose document of the whole fleet, as an object. */
export function composeDocument(catalog: Catalog, options: ComposeOptions = {}): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const entry of catalog.infra) services[entry.name] = infraService(entry, options);
  for (const entry of catalog.services) services[entry.name] = microservice(catalog, entry, options);
  const secrets: Record<string, { file: string }> = {};
  for (const name of ['postgres-password', 'postgres-roles', 'redis-acl', 'caller-keys', ...catalog.services.flatMap((s) => [`${s.name}-database-url`, `${s.name}-redis-url`, `${s.name}-caller-key`])]) {
    secrets[name] = { file: `${SECRETS_DIR}/${name}` };
  }
  return {
    services,
    networks: {
      [NETWORK]: { driver: 'bridge', name: NETWORK },
      ...(options.dataNetwork
        ? { [DATA_NETWORK]: { driver: 'bridge', name: DATA_NETWORK, internal: true }, [ADMIN_NETWORK]: { driver: 'bridge', name: ADMIN_NETWORK } }
        : {}),
    },
    volumes: { pgdata: {} },
    secrets,
  };
}

/** The compose file's text: a header saying where it comes from, then the document. */
export function renderCompose(catalog: Catalog, options: ComposeOptions = {}): string {
  const header = [
    `# N3XUS COS v${catalog.version}: ${catalog.infra.length + catalog.services.length} containers (${catalog.services.length} microservices, PostgreSQL and Redis).`,
    '# Generated from services/catalog.yaml by `npm run gen` (src/fleet/compose.ts); do not edit: a test fails when they differ.',
    '# Build the service images first (`npm run build`, then `n3xus images build` or `docker-compose build`).',
    '',
  ].join('\n');
    // YAML 1.1 rules for quoting: docker-compose reads the file as YAML 1.1, where a bare `no` is `false`.
  return header + stringify(composeDocument(catalog, options), { lineWidth: 0, version: '1.1' });
}
