import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { Cache } from './cache.ts';
import { bucketOf, CALLER_HEADER, rememberingChecker, type CallerKeys } from './caller.ts';
import { kitRouter } from './calls.ts';
import { KIT_PATH } from './kit-routes.ts';
import { readConfig, type KitConfig } from './config.ts';
import { Database, message, type DependencyStatus, type Migration } from './db.ts';
import { HttpError, errorBody, errorHandler } from './errors.ts';
import {
  HANDSHAKE_HEADER,
  LAW_EXIT_CODE,
  LAW_LINK_PATH,
  LAW_REFUSAL_BODY,
  LAW_REFUSAL_HEADERS,
  handshakeFault,
  requestHandshakeFault,
  type HandshakeFault,
} from './law.ts';
import { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { Peers } from './peers.ts';
import { RefusalLog } from './refusal-log.ts';
import { RESOURCES_PATH, describeResources, resourceMigration, resourcePath, resourceRouter, type ResourceSchema } from './resources.ts';

/** What a service's own code gets to work with. */
export interface ServiceContext {
  readonly config: KitConfig;
  readonly log: Logger;
  readonly db: Database;
  readonly cache: Cache;
  readonly peers: Peers;
  readonly metrics: Metrics;
}

/** A service: its resources and migrations, its own routes, and work that runs once its schema is ready. */
export interface ServiceDefinition {
  /** Each entry becomes a table in the service's schema and a REST API at `/v1/<name>`. */
  resources?: Record<string, ResourceSchema>;
  /** The service's own schema changes, applied after the resources' tables, in order. */
  migrations?: Migration[];
  /** Mounts the service's own protected routes (under `/v1/...` by convention). */
  routes?: (router: Router, ctx: ServiceContext) => void;
  /** Starts background work after the migrations have run; returns what stops it. */
  start?: (ctx: ServiceContext) => Promise<(() => Promise<void>) | void>;
}

/** Types a service definition (an identity function, for inference in each service's app.ts). */
export function defineService(definition: ServiceDefinition): ServiceDefinition {
  return definition;
}

/** Raised when the process was given a missing or wrong handshake: it must not start. */
export class LawViolationError extends Error {
  override name = 'LawViolationError';
  /** `missing`, or `wrong` for any value that is not the law. */
  readonly reason: 'missing' | 'wrong';
  constructor(readonly fault: HandshakeFault) {
    const reason = fault === 'missing' ? 'missing' : 'wrong';
    super(`N3XUS LAW violation: the environment's N3XUS_HANDSHAKE is ${reason}.`);
    this.reason = reason;
  }
}

/** A started service. */
export interface RunningService {
  readonly ctx: ServiceContext;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly port: number;
  /** Resolves once the migrations have been applied (never rejects: failures are retried). */
  readonly ready: Promise<void>;
  /** Graceful stop: no new connections, in-flight requests finish within the grace period, then dependencies close. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `GET /ready`'s answer: 200 `ready` or 503 `degraded`. Without a valid handshake each check is only its `status`
 * and there are no `migrations`; with one, the checks' latency, circuit and error, and the migrations' state.
 */
export interface ReadyBody {
  status: 'ready' | 'degraded';
  service: string;
  checks: { postgres: DependencyStatus; redis: DependencyStatus };
  migrations?: { applied: number; pending: number; error?: string; complete: boolean };
}

/**
 * Starts a service: checks the law (throws LawViolationError), listens at once so that liveness answers while
 * the schema is migrated in the background, and retries the migrations with backoff until PostgreSQL lets them run.
 */
export async function startService(definition: ServiceDefinition, config: KitConfig, log = new Logger(config.service, config.logLevel)): Promise<RunningService> {
  const fault = handshakeFault(config.handshake);
  if (fault) throw new LawViolationError(fault);
  const handshake = config.handshake as string;

  const metrics = new Metrics(config.service);
  const db = new Database(config.databaseUrl, config.service, log);
  const cache = new Cache(config.redisUrl, config.service, log, config.rateLimitPerMinute);
  const peers = new Peers(config.peers, handshake, log, {}, config.caller);
  const ctx: ServiceContext = { config, log, db, cache, peers, metrics };
  const startedAt = Date.now();

  const migrations: Migration[] = [
    ...Object.keys(definition.resources ?? {}).map(resourceMigration),
    ...(definition.migrations ?? []),
  ];
  let migrated = false;
  let stopping = false;
  let stopBackground: (() => Promise<void>) | void;
  let retryTimer: NodeJS.Timeout | undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const refusals = new RefusalLog(log);
  app.use(requestContext(log, metrics, refusals));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: config.service, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  });
  // Readiness asks PostgreSQL and Redis for real each time, but calls that arrive while a round trip is under way
  // share it: a fleet polled while it starts must not multiply the connections PostgreSQL has to accept exactly
  // when it is busiest (seen here: 98 services polled every 300 ms kept PostgreSQL forking and authenticating
  // backends that timed out before they were used).
  let inFlight: Promise<[DependencyStatus, DependencyStatus]> | undefined;
  const dependencyChecks = (): Promise<[DependencyStatus, DependencyStatus]> => {
    inFlight ??= Promise.all([db.check(), cache.check()]).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  // Readiness needs no handshake (orchestrators ask it), so without one it says only up or down per dependency:
  // the driver's error text, latencies, circuits and migration errors (`password authentication failed for user
  // "n3xus"`) are the operator's view, given to a request that carries the handshake (launch and verify send it).
  app.get('/ready', async (req, res) => {
    const [postgres, redis] = await dependencyChecks();
    metrics.dependencyUp.set({ dependency: 'postgres' }, postgres.status === 'up' ? 1 : 0);
    metrics.dependencyUp.set({ dependency: 'redis' }, redis.status === 'up' ? 1 : 0);
    const ok = postgres.status === 'up' && redis.status === 'up' && migrated;
    const status = ok ? 'ready' : 'degraded';
    const detailed = requestHandshakeFault(req.headers, req.rawHeaders) === undefined;
    const body: ReadyBody = detailed
      ? { status, service: config.service, checks: { postgres, redis }, migrations: { ...db.migrations, complete: migrated } }
      : { status, service: config.service, checks: { postgres: { status: postgres.status }, redis: { status: redis.status } } };
    res.status(ok ? 200 : 503).vary(HANDSHAKE_HEADER).json(body);
  });
  app.get(LAW_LINK_PATH, (_req, res) => {
    res.json({
      law: 'N3XUS LAW 55-45-17',
      header: 'X-N3XUS-Handshake',
      rule: 'Every request except health and readiness must carry the fleet handshake in the X-N3XUS-Handshake header.',
    });
  });

  app.use(lawGuard(metrics));
  app.use(rateLimit(cache, metrics, config.callers));
  app.use(express.json({ limit: '64kb', strict: true }));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The kit's own protected routes (ping, and the declared calls made on demand): served before the schema is
  // migrated, since neither touches the database.
  app.use(KIT_PATH, kitRouter(config.service, peers));
  // Derived once from the definition; protected like the data it describes. Answers before the schema is migrated.
  const described = { service: config.service, resources: describeResources(definition.resources ?? {}) };
  app.get(RESOURCES_PATH, (_req, res) => {
    res.json(described);
  });

  const v1 = express.Router();
  v1.use((_req, _res, next) => {
    if (!migrated) throw new HttpError(503, 'NOT_READY', 'The service schema is not migrated yet; try again shortly.');
    next();
  });
  for (const [name, schema] of Object.entries(definition.resources ?? {})) {
    v1.use(`/${resourcePath(name)}`, resourceRouter(name, schema, db, cache));
  }
  definition.routes?.(v1, ctx);
  app.use('/v1', v1);
  app.use((req, res) => {
    res.status(404).json(errorBody('NOT_FOUND', `No route for ${req.method} ${req.path}.`));
  });
  app.use(errorHandler(log));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  // Idle keep-alive connections are kept for 65 s, longer than the watchers' sweeps (n3xus heal: 5 s) and verify's
  // waves, so a probe reuses its connection instead of opening one (and one through Docker's port proxy) each time;
  // a shutdown closes them at once (see stop below).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  log.info('listening', { port, host: config.host });
  void peers.warm();

  const ready = new Promise<void>((resolve) => {
    let delayMs = 250;
    const MIGRATION_RETRY_MAX_MS = 4_000;
    const attempt = async (): Promise<void> => {
      if (stopping) return resolve();
      try {
        // A service that stores nothing (federation-gateway) does not wait for PostgreSQL to serve its routes.
        const applied = migrations.length === 0 ? [] : await db.migrate(migrations);
        migrated = true;
        log.info('migrated', { schema: db.schema, applied });
        stopBackground = await definition.start?.(ctx);
        resolve();
      } catch (err) {
        db.noteMigrationError(err);
        log.warn('migration_deferred', { schema: db.schema, retryInMs: delayMs, err });
        retryTimer = setTimeout(() => void attempt(), delayMs);
        // Capped low: a fleet starting on a busy machine sees PostgreSQL time out for a few seconds, and a
        // long back-off would keep the service unready long after PostgreSQL answers again.
        delayMs = Math.min(delayMs * 2, MIGRATION_RETRY_MAX_MS);
      }
    };
    void attempt();
  });

  return {
    ctx,
    url: `http://${host}:${port}`,
    port,
    ready,
    async close() {
      if (stopping) return;
      stopping = true;
      clearTimeout(retryTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go idle as their last request finishes; close each as soon as it does.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(grace);
      await stopBackground?.().catch((err: unknown) => log.warn('stop_failed', { err }));
      await Promise.all([db.close(), cache.close()]);
      refusals.close();
      log.info('stopped', {});
    },
  };
}

/**
 * Request id, a JSON log line per request (health checks at debug level; law refusals summed up by `refusals`), and
 * the request metrics.
 */
function requestContext(log: Logger, metrics: Metrics, refusals: RefusalLog): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      const durationMs = performance.now() - started;
      const route = routeLabel(req);
      metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.duration.observe({ method: req.method, route }, durationMs / 1000);
      const line = { requestId, method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10 };
      const lawFault = res.locals.lawFault as string | undefined;
      if (res.statusCode === 451 && lawFault !== undefined) refusals.note(lawFault, line);
      else if (route === '/health' || route === '/ready') log.debug('request', line);
      else log.info('request', line);
    });
    next();
  };
}

/** A bounded route label for metrics: the matched route pattern, never the raw path. */
function routeLabel(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return `${req.baseUrl}${pattern === '/' ? '' : pattern}` || '/';
  return 'unmatched';
}

/** The request layer of the N3XUS LAW: 451 for every request without a valid handshake. */
function lawGuard(metrics: Metrics): RequestHandler {
  return (req, res: Response, next) => {
    const fault = requestHandshakeFault(req.headers, req.rawHeaders);
    if (!fault) return next();
    metrics.lawRefusals.inc({ reason: fault });
    res.locals.lawFault = fault;
    res.status(451).set(LAW_REFUSAL_HEADERS).json(LAW_REFUSAL_BODY);
  };
}

/**
 * Per-caller rate limit, answered with 429 and Retry-After: each caller that signs its requests (caller.ts) spends
 * its own bucket, unidentified clients their address's. A signature that does not check is refused with 401, and
 * the refusal is counted against the address it came from.
 */
function rateLimit(cache: Cache, metrics: Metrics, callers: CallerKeys | undefined): RequestHandler {
  const check = rememberingChecker(callers ?? { keys: new Map(), relays: new Set() });
  return async (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const caller = check(req.headers[CALLER_HEADER], req.method, req.originalUrl);
    const bucket = caller.kind === 'refused' ? bucketOf({ kind: 'anonymous' }, address) : bucketOf(caller, address);
    const decision = await cache.consume(bucket);
    if (caller.kind === 'refused') {
      metrics.callerRefusals.inc();
      res.status(401).json(errorBody('CALLER_REFUSED', `The ${CALLER_HEADER} header does not check: ${caller.reason}.`));
      return;
    }
    res.locals.caller = caller;
    if (decision.allowed) return next();
    metrics.rateLimited.inc({ bucket: bucket.slice(0, bucket.indexOf(':')) });
    res.status(429).set('Retry-After', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)))).json(errorBody('RATE_LIMITED', 'Too many requests; slow down.'));
  };
}

/**
 * The process entry point of every service image: reads the environment, enforces the runtime layer of the law
 * (one structured line, exit code 45), starts, and stops gracefully on SIGTERM or SIGINT.
 */
export async function main(definition: ServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: KitConfig;
  try {
    config = readConfig(env);
  } catch (err) {
    new Logger(env.N3XUS_SERVICE || 'unknown').fatal('invalid_configuration', { err });
    process.exit(78);
  }
  const log = new Logger(config.service, config.logLevel);
  let running: RunningService;
  try {
    running = await startService(definition, config, log);
  } catch (err) {
    if (err instanceof LawViolationError) {
      log.fatal('n3xus_law_violation', { reason: err.reason, exitCode: LAW_EXIT_CODE, message: err.message });
      process.exit(LAW_EXIT_CODE);
    }
    log.fatal('start_failed', { err: message(err) });
    process.exit(1);
  }
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info('shutdown', { signal });
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
