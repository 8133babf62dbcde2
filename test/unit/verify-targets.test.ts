import { describe, expect, it } from 'vitest';
import { loadFleet } from '../../src/fleet/model.ts';
import { internalUrl, peerNames, selectTargets, targetKind } from '../../src/verify/targets.ts';

const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });

describe('verify targets', () => {
  it('full mode checks all 100 containers individually, in fleet order, on their published ports', () => {
    const targets = selectTargets(fleet.services, 'full', '127.0.0.1');
    expect(targets).toHaveLength(100);
    expect(targets.filter((t) => t.kind === 'service')).toHaveLength(98);
    expect(targets[0]).toMatchObject({ name: 'postgres', kind: 'postgres', port: 15432, url: 'tcp://127.0.0.1:15432' });
    expect(targets[1]).toMatchObject({ name: 'redis', kind: 'redis', port: 16379 });
    expect(targets.find((t) => t.name === 'event-bus')).toMatchObject({ url: 'http://127.0.0.1:4069', stage: 'extended', group: expect.any(String) });
  });

  it('sampling checks PostgreSQL, Redis and one service of each category, drawn from the seed', () => {
    const targets = selectTargets(fleet.services, 'sample', '127.0.0.1', 'published', { seed: 7 });
    const categories = new Set(fleet.services.filter((s) => s.stage !== 'infra').map((s) => s.category));
    expect(targets.filter((t) => t.kind === 'service').map((t) => t.category).sort()).toEqual([...categories].sort());
    expect(targets.slice(0, 2).map((t) => t.name)).toEqual(['postgres', 'redis']);
    expect(targets).toHaveLength(categories.size + 2);
    expect(selectTargets(fleet.services, 'sample', '127.0.0.1', 'published', { seed: 7 })).toEqual(targets);
  });

  it('puts the host into URLs, bracketing IPv6', () => {
    expect(selectTargets(fleet.services, 'full', 'staging.example.com')[2]!.url).toBe('http://staging.example.com:3001');
    expect(selectTargets(fleet.services, 'full', '::1')[2]!.url).toBe('http://[::1]:3001');
  });

  it('speaks to infrastructure by category', () => {
    expect(targetKind({ name: 'db', stage: 'infra', category: 'database' })).toBe('postgres');
    expect(targetKind({ name: 'kv', stage: 'infra', category: 'cache' })).toBe('redis');
    expect(targetKind({ name: 'mq', stage: 'infra', category: 'queue' })).toBe('tcp');
    expect(targetKind({ name: 'x', stage: 'core', category: 'database' })).toBe('service');
  });

  it("reads federation-gateway's peers and how the fleet reaches audit-trail", () => {
    expect(peerNames(fleet.services.find((s) => s.name === 'federation-gateway')!)).toEqual(['federation-spine', 'identity-registry', 'attestation-service']);
    expect(internalUrl(fleet.services, 'audit-trail')).toBe('http://audit-trail:4002');
    expect(internalUrl([{ name: 'solo', port: 9000, environment: {} }], 'solo')).toBe('http://solo:9000');
    expect(internalUrl([{ name: 'a', port: 1, environment: { N3XUS_PEERS: 'not a list' } }], 'b')).toBeUndefined();
  });
});
