import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseFleet } from '../../src/fleet/model.ts';
import { givenUrl, localEnvironment, publishedAddresses, rewriteAddresses } from '../../src/drivers/process/local-env.ts';

const labels = (port: number) => ({ 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': String(port) });
const fleet = parseFleet(
  stringify({
    services: {
      postgres: { image: 'postgres:15', ports: ['127.0.0.1:15432:5432'], labels: { ...labels(5432), 'n3xus.stage': 'infra' } },
      redis: { image: 'redis:7', ports: ['127.0.0.1:16379:6379'], labels: { ...labels(6379), 'n3xus.stage': 'infra' } },
      'event-bus': { image: 'n3xus/event-bus:3.0', ports: ['127.0.0.1:41000:4069'], labels: labels(4069), environment: { PORT: '4069' } },
      audit: {
        image: 'n3xus/audit:3.0',
        ports: ['127.0.0.1:3005:3005'],
        labels: labels(3005),
        environment: {
          PORT: '3005',
          DATABASE_URL: 'postgres://n3xus:n3xus@postgres:5432/n3xus',
          REDIS_URL: 'redis://redis:6379',
          N3XUS_PEERS: 'event-bus=http://event-bus:4069,elsewhere=http://example.org:4069',
        },
      },
    },
  }),
  'fleet.yml',
  { env: {} },
);
const byName = (name: string) => fleet.services.find((s) => s.name === name)!;

describe('the environment of a service run as a process', () => {
  it('points DATABASE_URL, REDIS_URL and the peers at the ports those services publish on 127.0.0.1', () => {
    const env = localEnvironment(byName('audit'), publishedAddresses(fleet));
    expect(env.DATABASE_URL).toBe('postgres://n3xus:n3xus@127.0.0.1:15432/n3xus');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:16379');
    expect(env.N3XUS_PEERS).toBe('event-bus=http://127.0.0.1:41000,elsewhere=http://example.org:4069');
  });

  it('listens on its host port, on 127.0.0.1 only, and names itself like the image does', () => {
    expect(localEnvironment(byName('event-bus'), publishedAddresses(fleet))).toMatchObject({ PORT: '41000', HOST: '127.0.0.1', N3XUS_SERVICE: 'event-bus' });
  });

  it('leaves a host and port that no service of the fleet publishes as they are', () => {
    expect(rewriteAddresses('http://postgres:5433/x and user:5432', publishedAddresses(fleet))).toBe('http://postgres:5433/x and user:5432');
  });
});

describe('servers given by URL', () => {
  const given = new Map([['postgres', 'postgres://app:secret@db.internal:6432/fleet']]);

  it('replace the whole URL that names their service, credentials and database included', () => {
    const env = localEnvironment(byName('audit'), publishedAddresses(fleet), given);
    expect(env.DATABASE_URL).toBe('postgres://app:secret@db.internal:6432/fleet');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:16379');
  });

  it('leave values that are not URLs of that service alone', () => {
    expect(givenUrl('event-bus=http://event-bus:4069', given)).toBeUndefined();
    expect(givenUrl('redis://redis:6379', given)).toBeUndefined();
  });
});
