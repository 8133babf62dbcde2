import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { leaveSwarmMadeBy } from './swarm.ts';
import { startLocalPostgres, startLocalRedis, type LocalServer } from './local-servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin connection string of the test PostgreSQL, or '' when none could be had. */
    postgresUrl: string;
    /** Why there is no PostgreSQL (shown by skipped tests). */
    postgresMissing: string;
    redisUrl: string;
    redisMissing: string;
    /** Names this test run, for what the run sets up on its first need and undoes at its end (a swarm). */
    runId: string;
  }
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
  const runId = randomUUID();
  project.provide('runId', runId);
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
    // A swarm a test file made for this run (see test/support/swarm.ts) is left, so the engine is as it was.
    await leaveSwarmMadeBy(runId);
  };
}
