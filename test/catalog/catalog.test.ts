import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CatalogError, loadCatalog, parseCatalog } from '../../src/fleet/catalog.ts';
import { ADMIN_NETWORK, composeDocument, DATA_NETWORK, LABELS, NETWORK } from '../../src/fleet/compose.ts';
import { COMPOSE_FILE, REPO_ROOT, generatedFiles } from '../../src/fleet/generate.ts';
import { STAGES } from '../../src/fleet/stages.ts';

const catalog = loadCatalog();
const services = catalog.services;
const byName = new Map(services.map((s) => [s.name, s]));
const inStages = (...stages: string[]) => services.filter((s) => stages.includes(s.stage));

describe('the catalog: 98 microservices + PostgreSQL + Redis', () => {
  it('has exactly 98 microservices and the two infrastructure containers', () => {
    expect(services).toHaveLength(98);
    expect(catalog.infra.map((s) => s.name)).toEqual(['postgres', 'redis']);
  });

  it('splits them as 17 core (3001-3051), 5 compliance (4001-4005), 16 PUABO, 13 V-Suite and 47 extended (4010-4099)', () => {
    const core = inStages('core', 'federation', 'domain');
    expect(core).toHaveLength(17);
    expect(core.every((s) => s.port >= 3001 && s.port <= 3051)).toBe(true);
    expect(core.every((s) => s.phase !== undefined && s.phase >= 3 && s.phase <= 12)).toBe(true);
    const compliance = inStages('compliance');
    expect(compliance.map((s) => s.port).sort()).toEqual([4001, 4002, 4003, 4004, 4005]);
    expect(inStages('puabo')).toHaveLength(16);
    expect(inStages('vsuite')).toHaveLength(13);
    expect(inStages('extended')).toHaveLength(47);
    expect(inStages('puabo', 'vsuite', 'extended').every((s) => s.port >= 4010 && s.port <= 4099)).toBe(true);
  });

  it('uses the seed names and puts event-bus on 4069 and webhook-dispatcher on 4070', () => {
    for (const name of ['v-supercore', 'puabo-api-ai-hf', 'federation-spine', 'identity-registry', 'federation-gateway', 'attestation-service', 'event-bus', 'webhook-dispatcher']) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get('event-bus')!.port).toBe(4069);
    expect(byName.get('webhook-dispatcher')!.port).toBe(4070);
    expect(byName.get('v-supercore')!.stage).toBe('core');
    expect(['federation-spine', 'identity-registry', 'federation-gateway', 'attestation-service'].map((n) => byName.get(n)!.stage)).toEqual(Array(4).fill('federation'));
  });

  it('has unique names and unique published ports', () => {
    const all = [...catalog.infra, ...services];
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.hostPort)).size).toBe(all.length);
  });

  it('only lets a service call its own or an earlier stage', () => {
    for (const s of services) {
      for (const callee of s.calls) {
        expect(STAGES.indexOf(byName.get(callee)!.stage), `${s.name} -> ${callee}`).toBeLessThanOrEqual(STAGES.indexOf(s.stage));
      }
    }
  });
});

describe('catalog validation names the service and the rule', () => {
  const base = readFileSync(join(REPO_ROOT, 'services/catalog.yaml'), 'utf8');
  const broken = (from: string, to: string) => {
    expect(base).toContain(from);
    return () => parseCatalog(base.replace(from, to));
  };
  it.each([
    ['a duplicate port', 'port: 4069,', 'port: 4070,', /services event-bus and webhook-dispatcher both publish port 4070/],
    ['a port outside its stage range', 'name: audit-trail, stage: compliance, group: compliance, category: compliance, port: 4002', 'name: audit-trail, stage: compliance, group: compliance, category: compliance, port: 4039', /audit-trail \(stage compliance\) has port 4039, outside 4001-4005/],
    ['a call to a later stage', 'name: v-supercore, stage: core, phase: 3, group: core-runtime, category: governance, port: 3001, calls: []', 'name: v-supercore, stage: core, phase: 3, group: core-runtime, category: governance, port: 3001, calls: [event-bus]', /v-supercore \(stage core\) calls event-bus of the later stage extended/],
    ['a call to an unknown service', 'calls: [model-registry]', 'calls: [model-registri]', /ml-inference calls model-registri, which is not in the catalog/],
    ['an unknown stage', 'stage: vsuite, group: vsuite-creative, category: creative, port: 4026', 'stage: v-suite, group: vsuite-creative, category: creative, port: 4026', /services\.\d+\.stage/],
    ['an unknown key', 'name: redis, stage: infra', 'name: redis, stag: infra, stage: infra', /infra\.1: Unrecognized key/],
  ])('rejects %s', (_label, from, to, message) => {
    expect(broken(from, to)).toThrow(CatalogError);
    expect(broken(from, to)).toThrow(message);
  });
});

describe('services/<name>/ folders', () => {
  const folders = readdirSync(join(REPO_ROOT, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== '_kit')
    .map((d) => d.name)
    .sort();

  it('exist for exactly the catalog services, nothing more', () => {
    expect(folders).toEqual(services.map((s) => s.name).sort());
  });

  it('are complete: Dockerfile, app.ts and package.json', () => {
    for (const name of folders) {
      for (const file of ['Dockerfile', 'app.ts', 'package.json']) {
        expect(existsSync(join(REPO_ROOT, 'services', name, file)), `${name}/${file}`).toBe(true);
      }
    }
  });

  it('have a Dockerfile that takes its base as an ARG and checks the handshake at build time', () => {
    for (const s of services) {
      const dockerfile = readFileSync(join(REPO_ROOT, 'services', s.name, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^ARG BASE_IMAGE=node:24-bookworm-slim$/m);
      expect(dockerfile).toMatch(/^ARG N3XUS_HANDSHAKE$/m);
      expect(dockerfile).toContain('law-check.sh');
      expect(dockerfile).toMatch(/^USER 1000:1000$/m);
      expect(dockerfile).toContain(`EXPOSE ${s.port}`);
    }
  });

  it('each define real behaviour: at least one resource or route of their own', async () => {
    for (const s of services) {
      const mod = (await import(`../../services/${s.name}/app.ts`)) as { default: { resources?: object; routes?: unknown } };
      const resources = Object.keys(mod.default.resources ?? {}).length;
      expect(resources > 0 || typeof mod.default.routes === 'function', s.name).toBe(true);
    }
  });
});

describe('generated files are in sync with the catalog', () => {
  it('compose file, Dockerfiles and manifests equal what `npm run gen` writes', () => {
    const stale: string[] = [];
    for (const [path, content] of generatedFiles(catalog)) {
      const full = join(REPO_ROOT, path);
      if (!existsSync(full) || readFileSync(full, 'utf8') !== content) stale.push(path);
    }
    expect(stale, 'run `npm run gen` and commit the result').toEqual([]);
  });
});

describe('compose/docker-compose.full.yml', () => {
  const doc = parse(readFileSync(join(REPO_ROOT, COMPOSE_FILE), 'utf8')) as {
    services: Record<string, Record<string, unknown>>;
    networks: Record<string, { driver: string }>;
  };
  const entries = Object.entries(doc.services);

  it('has 100 containers on the isolated nexus-net bridge', () => {
    expect(entries).toHaveLength(100);
    expect(doc.networks).toEqual({ [NETWORK]: { driver: 'bridge', name: NETWORK } });
    for (const [name, svc] of entries) expect(svc.networks, name).toEqual([NETWORK]);
  });

  it('can put PostgreSQL and Redis on an internal network that only the services join (the layout bench/data-network.ts measures)', () => {
    const split = composeDocument(loadCatalog(), { dataNetwork: true }) as typeof doc;
    expect(split.networks).toEqual({
      [NETWORK]: { driver: 'bridge', name: NETWORK },
      [DATA_NETWORK]: { driver: 'bridge', name: DATA_NETWORK, internal: true },
      [ADMIN_NETWORK]: { driver: 'bridge', name: ADMIN_NETWORK },
    });
    for (const [name, svc] of Object.entries(split.services)) {
      expect(svc.networks, name).toEqual(name === 'postgres' || name === 'redis' ? [DATA_NETWORK, ADMIN_NETWORK] : [NETWORK, DATA_NETWORK]);
    }
  });

  it('gives every container a healthcheck, a restart policy, hardening and a memory limit', () => {
    for (const [name, svc] of entries) {
      expect((svc.healthcheck as { test: string[] }).test[0], name).toBe('CMD');
      expect(svc.restart, name).toBe('unless-stopped');
      expect(svc.read_only, name).toBe(true);
      expect(svc.security_opt, name).toEqual(['no-new-privileges:true']);
      expect(svc.cap_drop, name).toEqual(['ALL']);
      expect(svc.mem_limit, name).toMatch(/^\d+m$/);
      expect(svc.user ?? (name === 'postgres' ? 'image' : undefined), name).toBeDefined();
    }
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, svc] of entries) {
      for (const port of svc.ports as string[]) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('makes every microservice wait for healthy PostgreSQL and Redis and pass the handshake as build arg and env', () => {
    for (const s of services) {
      const svc = doc.services[s.name]!;
      expect(svc.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
      expect((svc.build as { args: Record<string, string> }).args.N3XUS_HANDSHAKE).toBe('${N3XUS_HANDSHAKE:-55-45-17}');
      expect((svc.environment as Record<string, string>).N3XUS_HANDSHAKE).toBe('${N3XUS_HANDSHAKE:-55-45-17}');
    }
  });

  it('carries each service stage, group, category and calls as labels the CLI reads', () => {
    for (const s of [...catalog.infra, ...services]) {
      const labels = doc.services[s.name]!.labels as Record<string, string>;
      expect(labels[LABELS.stage], s.name).toBe(s.stage);
      expect(labels[LABELS.group]).toBe(s.group);
      expect(labels[LABELS.category]).toBe(s.category);
      expect(labels[LABELS.calls]).toBe(s.calls.join(','));
    }
  });

  it("points each service's peers at the services it calls", () => {
    const env = doc.services['federation-gateway']!.environment as Record<string, string>;
    expect(env.N3XUS_PEERS).toBe('federation-spine=http://federation-spine:3010,identity-registry=http://identity-registry:3011,attestation-service=http://attestation-service:3013');
  });
});

describe('docker-compose accepts the compose file', () => {
  const composeBinary = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).stdout.trim();
  const ci = process.env.CI === 'true';
  if (!composeBinary && !ci) console.warn('[skipped] docker-compose is not installed (apt-get install docker-compose)');
  it.skipIf(!composeBinary && !ci)('`docker-compose config` validates it (Debian docker-compose 1.29)', () => {
    const res = spawnSync(composeBinary || 'docker-compose', ['-f', join(REPO_ROOT, COMPOSE_FILE), 'config', '-q'], { encoding: 'utf8' });
    expect(res.error, 'docker-compose must be installed under CI=true').toBeUndefined();
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
