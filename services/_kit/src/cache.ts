import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { message, withTimeout, type DependencyStatus } from './db.ts';
import type { Logger } from './log.ts';
import { resilience, type Resilience } from './resilience.ts';

/** Outcome of a rate-limit decision. */
export interface RateDecision {
  allowed: boolean;
  remaining: number;
  /** When the client may try again, in ms (0 when allowed). */
  retryAfterMs: number;
}

/**
 * The service's Redis: every key under `n3xus:<service>:` so services never collide, every cached value with a
 * TTL, and a per-client rate limiter that falls back to an in-process limiter while Redis is down. Commands are
 * never queued while disconnected: a cache that is down is skipped, not waited on.
 */
export class Cache {
  readonly prefix: string;
  readonly client: Redis | undefined;
  private readonly guard: Resilience;
  private readonly limiter: RateLimiterRedis | RateLimiterMemory;
  private lastErrorLogMs = 0;

  constructor(url: string | undefined, service: string, private readonly log: Logger, rateLimitPerMinute: number) {
    this.prefix = `n3xus:${service}:`;
    this.guard = resilience('redis', log, { maxAttempts: 1, breakAfter: 3, halfOpenAfterMs: 3000 });
    const memory = new RateLimiterMemory({ points: rateLimitPerMinute, duration: 60, keyPrefix: 'rl' });
    if (url) {
      this.client = new Redis(url, {
        keyPrefix: this.prefix,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        commandTimeout: 1000,
        // Each service logs in as an ACL user allowed only the commands it uses (src/secrets/redis-acl.ts), so the
        // client sends none of its own beyond AUTH: no INFO ready check (@dangerous; it waits for a dataset to load,
        // and the fleet's Redis keeps none) and no CLIENT SETINFO (a library name for CLIENT LIST).
        enableReadyCheck: false,
        disableClientInfo: true,
        // Keep reconnecting (up to every 5 s) for as long as the service lives: Redis may come back.
        retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
      });
      this.client.on('error', (err) => this.logError(err));
      this.limiter = new RateLimiterRedis({
        storeClient: this.client,
        points: rateLimitPerMinute,
        duration: 60,
        keyPrefix: 'rl',
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    } else {
      this.client = undefined;
      this.limiter = memory;
    }
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** The cached JSON value of `key`, or undefined when absent, expired or Redis is down. */
  async get<T>(key: string): Promise<T | undefined> {
    const client = this.client;
    if (!client || client.status !== 'ready') return undefined;
    try {
      const raw = await this.guard.policy.execute(() => client.get(key));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    } catch (err) {
      this.logError(err);
      return undefined;
    }
  }

  /** Caches `value` as JSON for `ttlSeconds` (default 60); does nothing when Redis is down. */
  async set(key: string, value: unknown, ttlSeconds = 60): Promise<void> {
    const client = this.client;
    if (!client || client.status !== 'ready') return;
    try {
      await this.guard.policy.execute(() => client.set(key, JSON.stringify(value), 'EX', ttlSeconds));
    } catch (err) {
      this.logError(err);
    }
  }

  /** Forgets `key`; does nothing when Redis is down (the TTL bounds how stale a survivor can be). */
  async delete(key: string): Promise<void> {
    const client = this.client;
    if (!client || client.status !== 'ready') return;
    try {
      await this.guard.policy.execute(() => client.del(key));
    } catch (err) {
      this.logError(err);
    }
  }

  /** Counts one request of `clientKey` against the per-minute limit. */
  async consume(clientKey: string): Promise<RateDecision> {
    try {
      const res = await this.limiter.consume(clientKey, 1);
      return { allowed: true, remaining: res.remainingPoints, retryAfterMs: 0 };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return { allowed: false, remaining: 0, retryAfterMs: rejection.msBeforeNext };
      }
      // Neither Redis nor the insurance limiter could decide: let the request through rather than fail it.
      this.logError(rejection);
      return { allowed: true, remaining: -1, retryAfterMs: 0 };
    }
  }

  /** A real round trip (`PING`) with its latency. */
  async check(timeoutMs = 1000): Promise<DependencyStatus> {
    const client = this.client;
    if (!client) return { status: 'unconfigured' };
    const started = performance.now();
    try {
      if (client.status !== 'ready') throw new Error(`connection ${client.status}`);
      await withTimeout(client.ping(), timeoutMs);
      return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10, circuit: this.guard.state() };
    } catch (err) {
      return { status: 'down', circuit: this.guard.state(), error: message(err) };
    }
  }

  /** A second connection for SUBSCRIBE (a subscribed connection can run no other command). */
  duplicate(): Redis | undefined {
    const copy = this.client?.duplicate({ keyPrefix: '' });
    copy?.on('error', (err) => this.logError(err));
    return copy;
  }

  async close(): Promise<void> {
    if (!this.client) return;
    await this.client.quit().catch(() => this.client?.disconnect());
  }

  /** Redis errors repeat on every reconnect attempt; one line every 10 s says enough. */
  private logError(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLogMs < 10_000) return;
    this.lastErrorLogMs = now;
    this.log.warn('redis_unavailable', { err });
  }
}
