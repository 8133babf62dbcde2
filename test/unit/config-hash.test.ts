import { describe, expect, it } from 'vitest';
import { configHash } from '../../src/fleet/config-hash.ts';
import { parseFleet, type Env, type FleetService } from '../../src/fleet/model.ts';

/** One service written in the given key order, so that tests can reorder the file without changing meaning. */
function hashOf(text: string, env: Env = {}): string {
  return configHash(parseFleet(text, 'test/fleet.yml', { env }).services.find((s) => s.name === 'api')!);
}

const API = `services:
  db:
    image: postgres:15
    ports: ["127.0.0.1:15432:5432"]
    labels: { n3xus.stage: infra, n3xus.group: infrastructure, n3xus.category: database, n3xus.port: "5432" }
  api:
    image: n3xus/api:3.0
    build:
      context: ../dist/fleet
      dockerfile: services/api/Dockerfile
      args: { BASE_IMAGE: "node:24" }
    environment:
      PORT: "3001"
      DATABASE_URL: postgres://n3xus:\${PGPASSWORD:-n3xus}@db:5432/n3xus
    ports: ["127.0.0.1:3001:3001"]
    depends_on:
      db: { condition: service_healthy }
    read_only: true
    mem_limit: 128m
    labels:
      n3xus.stage: core
      n3xus.group: core-runtime
      n3xus.category: governance
      n3xus.port: "3001"
`;

describe('configHash', () => {
  it('is the sha256 of the definition, as 64 hex digits, and the same on every run', () => {
    expect(hashOf(API)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf(API)).toBe(hashOf(API));
  });

  it('does not depend on the order of keys in the file', () => {
    const reordered = API.replace('      PORT: "3001"\n      DATABASE_URL: postgres://n3xus:${PGPASSWORD:-n3xus}@db:5432/n3xus\n', '      DATABASE_URL: postgres://n3xus:${PGPASSWORD:-n3xus}@db:5432/n3xus\n      PORT: "3001"\n').replace(
      '    read_only: true\n    mem_limit: 128m\n',
      '    mem_limit: 128m\n    read_only: true\n',
    );
    expect(reordered).not.toBe(API);
    expect(hashOf(reordered)).toBe(hashOf(API));
  });

  it('does not depend on the order of fields in the object', () => {
    const service = parseFleet(API, 'test/fleet.yml', { env: {} }).services[1]!;
    const reversed = Object.fromEntries(Object.entries(service).reverse()) as unknown as FleetService;
    expect(configHash(reversed)).toBe(configHash(service));
  });

  it('changes when an environment value changes', () => {
    expect(hashOf(API.replace('PORT: "3001"', 'PORT: "3002"'))).not.toBe(hashOf(API));
  });

  it('changes when a variable the definition interpolates changes', () => {
    expect(hashOf(API, { PGPASSWORD: 'rotated' })).not.toBe(hashOf(API));
  });

  it('changes when the image changes', () => {
    expect(hashOf(API.replace('image: n3xus/api:3.0', 'image: n3xus/api:3.1'))).not.toBe(hashOf(API));
  });

  it('changes when a limit or a label changes', () => {
    expect(hashOf(API.replace('mem_limit: 128m', 'mem_limit: 256m'))).not.toBe(hashOf(API));
    expect(hashOf(API.replace('n3xus.category: governance', 'n3xus.category: ledger'))).not.toBe(hashOf(API));
  });

  it('is unchanged when only a depends_on condition changes', () => {
    expect(hashOf(API.replace('condition: service_healthy', 'condition: service_started'))).toBe(hashOf(API));
  });

  it('is unchanged when only depends_on entries are added or removed', () => {
    expect(hashOf(API.replace('    depends_on:\n      db: { condition: service_healthy }\n', ''))).toBe(hashOf(API));
  });

  it('is unchanged when only the build section changes', () => {
    expect(hashOf(API.replace('BASE_IMAGE: "node:24"', 'BASE_IMAGE: "node:24-slim"').replace('context: ../dist/fleet', 'context: ../build'))).toBe(hashOf(API));
  });
});
