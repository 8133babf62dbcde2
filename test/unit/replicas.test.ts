import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseFleet } from '../../src/fleet/model.ts';
import { MAX_REPLICAS, parseReplicas, ReplicasError } from '../../src/launch/replicas.ts';

const labels = (stage: string, port: number) => ({ 'n3xus.stage': stage, 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': String(port) });
const fleet = parseFleet(
  stringify({
    services: {
      db: { image: 'pg:1', ports: ['127.0.0.1:25432:5432'], labels: labels('infra', 5432) },
      api: { image: 'api:1', ports: ['127.0.0.1:23001:3001'], labels: labels('core', 3001) },
      store: { image: 'st:1', ports: ['127.0.0.1:23002:3002'], volumes: ['data:/data'], labels: labels('core', 3002) },
    },
    volumes: { data: {} },
  }),
  'test.yml',
  { env: {} },
);
const fails = (values: string[], driver: 'swarm' | 'docker' = 'swarm'): ReplicasError => {
  try {
    parseReplicas(values, fleet, driver);
  } catch (error) {
    if (error instanceof ReplicasError) return error;
    throw error;
  }
  throw new Error('expected a ReplicasError');
};

describe('--replicas service=N', () => {
  it('reads each count, and nothing given is nothing asked for', () => {
    expect(parseReplicas(['api=3'], fleet, 'swarm')).toEqual(new Map([['api', 3]]));
    expect(parseReplicas([], fleet, 'docker')).toEqual(new Map());
  });

  it('refuses a count that is not a whole number from 1 up, naming the value', () => {
    for (const bad of ['api=0', 'api=-1', 'api=1.5', 'api=two', 'api=', `api=${MAX_REPLICAS + 1}`]) {
      const error = fails([bad]);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(bad);
    }
  });

  it('refuses a value without =, an unknown service, and a service that keeps state', () => {
    expect(fails(['api']).message).toContain('service=N');
    expect(fails(['nope=2']).code).toBe('UNKNOWN_SERVICE');
    expect(fails(['db=2']).message).toContain('keeps state');
    expect(fails(['store=2']).message).toContain('named volume');
  });

  it('needs the Swarm driver', () => {
    const error = fails(['api=2'], 'docker');
    expect(error.message).toContain('--driver swarm');
  });
});
