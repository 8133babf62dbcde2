import type { TestProject } from 'vitest/node';
import { startLocalPostgres, startLocalRedis, type LocalServer } from './local-servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin connection string of the test PostgreSQL, or '' when none could be had. */
    postgresUrl: string;
    /** Why there is no PostgreSQL (shown by skipped tests). */
    postgresMissing: string;
    redisUrl: string;
    redisMissing: string;
    /** Why there is no swarm to test the Swarm driver on, or '' when the engine is a swarm manager. */
    swarmMissing: string;
  }
}

/**
 * Makes the engine a one-node swarm for the Swarm driver's tests when it answers and is in none, and returns how to
 * leave it again (undefined when this run did not make it). An engine already in a swarm is used as it is.
 */
async function setUpSwarm(): Promise<{ missing: string; leave?: () => Promise<void> }> {
  const { DockerEngine } = await import('../../src/docker/engine.ts');
  const engine = new DockerEngine();
  try {
    await engine.ping({ timeoutMs: 3_000 });
  } catch (err) {
    return { missing: `no Docker engine: ${(err as Error).message}` };
  }
  const state = await engine.swarm.state();
  if (state.state === 'active') return { missing: state.manager ? '' : 'the engine is a swarm worker, not a manager' };
  try {
    await engine.swarm.init({ advertiseAddr: '127.0.0.1' });
  } catch (err) {
    return { missing: `docker swarm init failed: ${(err as Error).message}` };
  }
  return { missing: '', leave: () => engine.swarm.leave({ force: true }) };
}

/**
 * Starts one throwaway PostgreSQL and one Redis for the whole run (or uses N3XUS_TEST_DATABASE_URL and
 * N3XUS_TEST_REDIS_URL). Where a server cannot be had the tests that need it skip and say why; under CI=true
 * that is an error, because CI must run every test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: LocalServer[] = [];
  const ci = process.env.CI === 'true';

  let postgresUrl = process.env.N3XUS_TEST_DATABASE_URL ?? '';
  let postgresMissing = '';
  if (!postgresUrl) {
    try {
      const pg = await startLocalPostgres();
      started.push(pg);
      postgresUrl = pg.url;
    } catch (err) {
      postgresMissing = (err as Error).message;
    }
  }
  let redisUrl = process.env.N3XUS_TEST_REDIS_URL ?? '';
  let redisMissing = '';
  if (!redisUrl) {
    try {
      const redis = await startLocalRedis();
      started.push(redis);
      redisUrl = redis.url;
    } catch (err) {
      redisMissing = (err as Error).message;
    }
  }
  if (ci && (postgresMissing || redisMissing)) {
    await Promise.all(started.map((s) => s.stop()));
    throw new Error(`CI=true but a test server is missing: ${[postgresMissing, redisMissing].filter(Boolean).join('; ')}`);
  }
  for (const reason of [postgresMissing, redisMissing].filter(Boolean)) {
    console.warn(`[skipped] tests that need a real PostgreSQL and Redis: ${reason}`);
  }
  project.provide('postgresUrl', postgresUrl);
  project.provide('postgresMissing', postgresMissing);
  project.provide('redisUrl', redisUrl);
  project.provide('redisMissing', redisMissing);
  const swarm = await setUpSwarm();
  if (swarm.missing) console.warn(`[skipped] tests that need a swarm: ${swarm.missing}`);
  project.provide('swarmMissing', swarm.missing);
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
    await swarm.leave?.();
  };
}
