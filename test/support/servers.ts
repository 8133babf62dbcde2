import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** The run's PostgreSQL and Redis (see global-setup.ts), and the reason when one is missing. */
export const postgresUrl = inject('postgresUrl');
export const redisUrl = inject('redisUrl');
export const missingServers = [inject('postgresMissing'), inject('redisMissing')].filter(Boolean).join('; ');

/** A new, empty database on the test PostgreSQL, so that test files never see each other's schemas. */
export async function freshDatabase(): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Polls `check` every `intervalMs` until it returns a value that is not false/undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | false | undefined> | T | false | undefined, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
