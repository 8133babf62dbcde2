/**
 * webhook-dispatcher: delivers event-bus events to registered HTTP endpoints, with retries, exponential backoff
 * and a delivery log.
 *
 * - Events arrive live over Redis (PSUBSCRIBE `n3xus:events:*`). Because pub/sub forgets what nobody heard, a
 *   catch-up pass also reads recent events from event-bus (its stored outbox) at start and every 30 s.
 * - Each (event, webhook) pair becomes one `deliveries` row; the unique key makes a redelivered or caught-up
 *   event a no-op, and lets replicas race safely (only the inserter delivers).
 * - Attempts follow cockatiel's retry policy with exponential backoff and jitter; each one is logged. 2xx is
 *   delivered; 4xx except 408/429 (and 3xx: redirects are not followed) fail at once; the rest are retried.
 * - A delivery still pending when the process stops is resumed by the next start.
 *
 * Delivery is at least once: endpoints dedupe by the X-N3XUS-Event-Id header.
 *
 * Signatures. Each webhook gets a secret at creation (`whsec_` and 32 random bytes in base64url), returned once,
 * in the answer to POST /v1/webhooks, and never by a GET. Every attempt carries
 * `X-N3XUS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, keyed with the whole secret string (UTF-8) over
 * `<t>.<raw body>`: the scheme of Stripe's and GitHub's webhooks. A receiver recomputes it from the raw body,
 * compares in constant time, and refuses a `t` too far from its clock (replays).
 *
 * Targets. A webhook may go to a fleet service or to a host the operator lists in N3XUS_WEBHOOK_ALLOWED_HOSTS;
 * link-local and cloud metadata addresses never (see targets.ts for the rules). The target is judged at creation
 * (400 TARGET_NOT_ALLOWED) and again at each delivery, where every address its name resolves to is checked
 * too: a webhook whose target is no longer allowed fails without a request.
 *
 * The handshake. The N3XUS LAW has every fleet service refuse a request without X-N3XUS-Handshake (451), so a
 * delivery to an in-fleet receiver (audit-trail's POST /v1/ingest/events, which `n3xus verify --full` relies on)
 * carries it. It is sent to fleet services only, never to a host the operator listed: a webhook is not a way to
 * hand the fleet's handshake to the outside.
 *
 * Failures. The API tells why an attempt failed only by its class (`target answered 500`, `connection refused`,
 * `timed out`): what a target answered is the service log's (`delivery_attempt_failed`, the operator's view), and
 * is not stored, so that webhooks cannot be used to read what hosts reachable from the fleet reply.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { bodyOf, boundedInt, defineService, ExponentialBackoff, handleWhen, HttpError, retry, type ServiceContext, z } from '@n3xus/kit';
import { guardedLookup, judgeTarget, TargetRefusedError, type TargetRules } from './targets.ts';

const TOPIC = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PATTERN = 'n3xus:events:*';
const MAX_ATTEMPTS = 5;
const BACKOFF = { initialDelay: 200, maxDelay: 10_000 };
const ATTEMPT_TIMEOUT_MS = 5000;
/** How much of a failed attempt's reply the service log keeps, in characters. */
const EXCERPT_CHARS = 200;
const SIGNATURE_HEADER = 'x-n3xus-signature';
/** The class of an attempt refused by the allow-list (at delivery, or by the lookup of the target's addresses). */
const NOT_ALLOWED = 'target not allowed';
const CATCH_UP_EVERY_MS = 30_000;
/** How far back the first catch-up pass looks: older events are history, not missed deliveries. */
const CATCH_UP_WINDOW_MS = 60 * 60_000;

const webhookBody = z.strictObject({
  topic: z.string().regex(TOPIC, 'must be a topic name: lower-case letters, digits, dot, dash, underscore'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
  active: z.boolean().optional(),
});

const envelopeSchema = z.object({
  id: z.string().regex(UUID),
  topic: z.string().regex(TOPIC),
  payload: z.json(),
  publishedAt: z.string(),
});
type Envelope = z.infer<typeof envelopeSchema>;
/** A page of event-bus's GET /v1/topics/:topic/events. */
const eventPage = z.object({ items: z.array(envelopeSchema.extend({ createdAt: z.string(), publishedAt: z.string().nullable() })) });

interface WebhookRow { id: string; topic: string; url: string; active: boolean; secret: string; created_at: Date }
interface DeliveryRow {
  id: string; event_id: string; webhook_id: string; topic: string; envelope: Envelope; status: string; attempts: number;
  last_status: number | null; last_error: string | null; created_at: Date; updated_at: Date; delivered_at: Date | null;
  log?: unknown[];
}

/** A webhook as the API shows it: never its secret, which only the creation answer carries. */
const toWebhook = (r: WebhookRow) => ({ id: r.id, topic: r.topic, url: r.url, active: r.active, createdAt: r.created_at.toISOString() });
const toDelivery = (r: DeliveryRow) => ({
  id: r.id, eventId: r.event_id, webhookId: r.webhook_id, topic: r.topic, status: r.status, attempts: r.attempts,
  lastStatus: r.last_status, lastError: r.last_error, createdAt: r.created_at.toISOString(),
  deliveredAt: r.delivered_at?.toISOString() ?? null, log: r.log ?? [],
});

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** The X-N3XUS-Signature value of `body` sent at `unixSeconds`. */
function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * The class of a request that got no answer, as the API shows it: never the error's own text, which can name
 * addresses, certificates or resolver details of the hosts the fleet reaches.
 */
function failureClass(err: unknown): string {
  if (err instanceof TargetRefusedError) return NOT_ALLOWED;
  const first = err instanceof AggregateError && err.errors[0] !== undefined ? err.errors[0] : err;
  const { code, name, cause } = (first ?? {}) as { code?: unknown; name?: unknown; cause?: { name?: unknown } };
  if (name === 'TimeoutError' || cause?.name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timed out';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (typeof code === 'string' && /^ERR_(TLS|SSL)|CERT|SIGNATURE/.test(code)) return 'TLS failure';
  return 'request failed';
}

/** Sends one POST with node:http(s), resolving through `lookup`; resolves with the status and the reply's start. */
function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal, lookup: LookupFunction): Promise<{ status: number; excerpt: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // No shared agent: a kept-alive socket would skip the lookup that checks where it connects.
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal, lookup, agent: false }, (res) => {
      let excerpt = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (excerpt.length < EXCERPT_CHARS) excerpt += chunk.slice(0, EXCERPT_CHARS - excerpt.length);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, excerpt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A failed attempt; `retryable` tells the retry policy whether another attempt can help. */
class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}
const retryableStatus = (status: number) => status >= 500 || status === 408 || status === 429;

/** Raised by work started after stop(): the process is going away, the row stays pending for the next start. */
class Stopped extends Error {}

/** The delivery engine of one running instance. */
class Dispatcher {
  private readonly stopping = new AbortController();
  /** Deliveries being worked on (including those waiting out a backoff), so that none is started twice. */
  private readonly inFlight = new Set<string>();
  /** Database and HTTP work in progress, which stop() waits for (backoff sleeps it does not). */
  private readonly busy = new Set<Promise<unknown>>();
  private readonly cursors = new Map<string, Date>();

  private readonly rules: TargetRules;

  constructor(private readonly ctx: ServiceContext) {
    this.rules = { peers: ctx.config.peers, allowedHosts: ctx.config.webhookAllowedHosts };
  }

  /** Creates the deliveries of one event (for webhooks created by `createdBy`, when given) and starts them. */
  async enqueue(envelope: Envelope, createdBy?: Date): Promise<void> {
    const { rows } = await this.guarded(() => this.ctx.db.query<{ id: string }>(
      `INSERT INTO deliveries (event_id, webhook_id, topic, envelope)
       SELECT $1, id, topic, $3 FROM webhooks
       WHERE topic = $2 AND active AND ($4::timestamptz IS NULL OR created_at <= $4::timestamptz + interval '1 millisecond')
       ON CONFLICT (event_id, webhook_id) DO NOTHING RETURNING id`,
      [envelope.id, envelope.topic, JSON.stringify(envelope), createdBy ?? null],
    ));
    for (const { id } of rows) this.dispatch(id);
  }

  /** Resumes every delivery left pending by a previous process. */
  async resume(): Promise<void> {
    const { rows } = await this.guarded(() => this.ctx.db.query<{ id: string }>("SELECT id FROM deliveries WHERE status = 'pending' ORDER BY created_at"));
    if (rows.length) this.ctx.log.info('deliveries_resumed', { count: rows.length });
    for (const { id } of rows) this.dispatch(id);
  }

  dispatch(id: string): void {
    if (this.inFlight.has(id) || this.stopping.signal.aborted) return;
    this.inFlight.add(id);
    this.deliver(id)
      .catch((err: unknown) => {
        if (!(err instanceof Stopped)) this.ctx.log.warn('delivery_interrupted', { deliveryId: id, err });
      })
      .finally(() => this.inFlight.delete(id));
  }

  private async deliver(id: string): Promise<void> {
    const { db } = this.ctx;
    const { rows } = await this.guarded(() => db.query<DeliveryRow & { url: string; active: boolean; secret: string }>(
      `SELECT d.*, w.url, w.active, w.secret FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.status = 'pending'`,
      [id],
    ));
    const delivery = rows[0];
    if (!delivery) return;
    if (!delivery.active) {
      await this.guarded(() => db.query("UPDATE deliveries SET status = 'failed', last_error = 'webhook deleted', updated_at = now() WHERE id = $1", [id]));
      return;
    }
    // Judged again: the allow-list may have changed since the webhook was created.
    const verdict = judgeTarget(delivery.url, this.rules);
    if (!verdict.allowed) {
      this.ctx.log.warn('delivery_refused', { deliveryId: id, webhookId: delivery.webhook_id, reason: verdict.reason });
      await this.guarded(() => this.record(delivery, delivery.attempts + 1, null, NOT_ALLOWED, 0));
      await this.guarded(() => db.query("UPDATE deliveries SET status = 'failed', updated_at = now() WHERE id = $1", [id]));
      return;
    }
    const target = { url: new URL(delivery.url), fleet: verdict.fleet, lookup: guardedLookup() };
    // A resumed delivery gets only the attempts it has left (at least one).
    const policy = retry(handleWhen((err) => err instanceof DeliveryError && err.retryable), {
      maxAttempts: Math.max(0, MAX_ATTEMPTS - 1 - delivery.attempts),
      backoff: new ExponentialBackoff(BACKOFF),
    }).dangerouslyUnref();
    let attempt = delivery.attempts;
    let status: 'delivered' | 'failed' = 'delivered';
    try {
      await policy.execute(() => this.guarded(() => this.attempt(delivery, target, ++attempt)), this.stopping.signal);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      status = 'failed';
    }
    await this.guarded(() => db.query(
      `UPDATE deliveries SET status = $2, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END, updated_at = now() WHERE id = $1`,
      [id, status],
    ));
    this.ctx.log.info('delivery_finished', { deliveryId: id, eventId: delivery.event_id, status, attempts: attempt });
  }

  /**
   * One signed POST (with the handshake only to a fleet service), recorded in the log whatever its outcome; throws
   * a DeliveryError unless it was a 2xx. Redirects are not followed.
   */
  private async attempt(delivery: DeliveryRow & { secret: string }, target: { url: URL; fleet: boolean; lookup: LookupFunction }, attempt: number): Promise<void> {
    const started = Date.now();
    const body = JSON.stringify(delivery.envelope);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'n3xus-webhook-dispatcher/3.0',
      [SIGNATURE_HEADER]: signature(delivery.secret, body, Math.floor(Date.now() / 1000)),
      'x-n3xus-event-id': delivery.event_id,
      'x-n3xus-delivery-id': delivery.id,
      'x-n3xus-delivery-attempt': String(attempt),
    };
    if (target.fleet) headers['x-n3xus-handshake'] = this.ctx.config.handshake ?? '';
    let status: number | null = null;
    let error: string | null = null;
    let detail: string | undefined;
    try {
      const answer = await post(target.url, headers, body, AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]), target.lookup);
      status = answer.status;
      if (status < 200 || status > 299) {
        error = `target answered ${status}`;
        detail = answer.excerpt;
      }
    } catch (err) {
      if (this.stopping.signal.aborted) throw new Stopped(); // cut short by shutdown: not the endpoint's failure
      error = failureClass(err);
      detail = err instanceof Error ? err.message : String(err);
    }
    if (error !== null) {
      // The operator's view: what the target answered, or the error's own text. The API has the class only.
      this.ctx.log.warn('delivery_attempt_failed', { deliveryId: delivery.id, webhookId: delivery.webhook_id, target: target.url.origin, attempt, status, error, detail });
    }
    await this.record(delivery, attempt, status, error, Date.now() - started);
    if (error !== null) throw new DeliveryError(error, error !== NOT_ALLOWED && (status === null || retryableStatus(status)));
  }

  /** Adds attempt `attempt` to the delivery's log and makes it the delivery's last. */
  private async record(delivery: DeliveryRow, attempt: number, status: number | null, error: string | null, durationMs: number): Promise<void> {
    await this.ctx.db.query(
      `WITH logged AS (INSERT INTO delivery_attempts (delivery_id, attempt, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5))
       UPDATE deliveries SET attempts = $2, last_status = $3, last_error = $4, updated_at = now() WHERE id = $1`,
      [delivery.id, attempt, status, error, durationMs],
    );
  }

  /**
   * Reads the events published on each active topic since the last pass from event-bus and enqueues them: an
   * event published while this service was down or its subscription was reconnecting is delivered all the same.
   */
  async catchUp(): Promise<void> {
    const { db, peers } = this.ctx;
    if (!peers.has('event-bus')) return;
    const { rows } = await this.guarded(() => db.query<{ topic: string; since: Date }>('SELECT topic, min(created_at) AS since FROM webhooks WHERE active GROUP BY topic'));
    for (const { topic, since } of rows) {
      let cursor = new Date(Math.max(since.getTime(), this.cursors.get(topic)?.getTime() ?? 0, Date.now() - CATCH_UP_WINDOW_MS));
      for (let page = 0; page < 10 && !this.stopping.signal.aborted; page += 1) {
        const answer = await peers.call('event-bus', `/v1/topics/${topic}/events?since=${encodeURIComponent(cursor.toISOString())}&limit=100`);
        if (answer.status !== 200) throw new Error(`event-bus answered ${answer.status}`);
        const { items } = eventPage.parse(answer.body);
        let next = cursor;
        for (const item of items) {
          // An event not published yet will be; the cursor waits for it rather than skipping past.
          if (item.publishedAt === null) break;
          await this.enqueue({ id: item.id, topic: item.topic, payload: item.payload, publishedAt: item.publishedAt }, new Date(item.createdAt));
          next = new Date(item.createdAt);
        }
        this.cursors.set(topic, next);
        if (items.length < 100 || next.getTime() === cursor.getTime()) break;
        cursor = next;
      }
    }
  }

  /** Stops taking work, aborts requests in flight (their deliveries stay pending) and waits for database work. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.busy]);
  }

  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    if (this.stopping.signal.aborted) throw new Stopped();
    const promise = work();
    this.busy.add(promise);
    try {
      return await promise;
    } finally {
      this.busy.delete(promise);
    }
  }
}

export default defineService({
  migrations: [
    {
      id: '001-webhooks-and-deliveries',
      sql: `CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        topic text NOT NULL,
        url text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX webhooks_active_topic ON webhooks (topic) WHERE active;
      CREATE TABLE deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL,
        webhook_id uuid NOT NULL REFERENCES webhooks (id),
        topic text NOT NULL,
        envelope jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        last_status int,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        UNIQUE (event_id, webhook_id)
      );
      CREATE INDEX deliveries_pending ON deliveries (created_at) WHERE status = 'pending';
      CREATE TABLE delivery_attempts (
        delivery_id uuid NOT NULL REFERENCES deliveries (id),
        attempt int NOT NULL,
        status int,
        error text,
        duration_ms int NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (delivery_id, attempt)
      );`,
    },
    {
      // Existing webhooks get a secret of the same form as new ones: 32 bytes, here a SHA-256 of two v4 UUIDs
      // (244 bits from PostgreSQL's strong random source; gen_random_bytes would need pgcrypto). The errors stored
      // before it held the first 200 characters of what targets answered: they become the classes the API shows.
      id: '002-webhook-secrets-and-error-classes',
      sql: `ALTER TABLE webhooks ADD COLUMN secret text;
      UPDATE webhooks SET secret = 'whsec_' || rtrim(translate(encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'base64'), '+/', '-_'), '=');
      ALTER TABLE webhooks ALTER COLUMN secret SET NOT NULL;
      UPDATE delivery_attempts SET error = CASE
          WHEN status IS NOT NULL THEN 'target answered ' || status
          WHEN error LIKE '%ECONNREFUSED%' THEN 'connection refused'
          ELSE 'request failed' END
        WHERE error IS NOT NULL;
      UPDATE deliveries SET last_error = CASE
          WHEN last_status IS NOT NULL THEN 'target answered ' || last_status
          WHEN last_error LIKE '%ECONNREFUSED%' THEN 'connection refused'
          ELSE 'request failed' END
        WHERE last_error IS NOT NULL AND last_error <> 'webhook deleted';`,
    },
  ],

  routes(router, { db, config }) {
    const rules: TargetRules = { peers: config.peers, allowedHosts: config.webhookAllowedHosts };
    const webhookById = async (id: string): Promise<WebhookRow> => {
      const { rows } = UUID.test(id) ? await db.query<WebhookRow>('SELECT * FROM webhooks WHERE id = $1', [id]) : { rows: [] };
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No webhook with id ${JSON.stringify(id)}.`);
      return rows[0];
    };

    router.post('/webhooks', async (req, res) => {
      const body = webhookBody.parse(bodyOf(req.body));
      const verdict = judgeTarget(body.url, rules);
      if (!verdict.allowed) throw new HttpError(400, 'TARGET_NOT_ALLOWED', verdict.reason);
      const { rows } = await db.query<WebhookRow>('INSERT INTO webhooks (topic, url, active, secret) VALUES ($1, $2, $3, $4) RETURNING *', [body.topic, body.url, body.active ?? true, newSecret()]);
      const webhook = rows[0]!;
      // The one answer that carries the secret: the receiver needs it to check signatures, and no GET returns it.
      res.status(201).location(`${req.baseUrl}/webhooks/${webhook.id}`).json({ ...toWebhook(webhook), secret: webhook.secret });
    });

    router.get('/webhooks', async (req, res) => {
      const limit = boundedInt(req.query.limit, 50, 1, 100, 'limit');
      const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
      const { rows } = await db.query<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2', [limit, offset]);
      res.json({ items: rows.map(toWebhook), limit, offset });
    });

    router.get('/webhooks/:id', async (req, res) => {
      res.json(toWebhook(await webhookById(req.params.id)));
    });

    // Deactivates rather than deletes: the deliveries made to it stay in the log.
    router.delete('/webhooks/:id', async (req, res) => {
      const webhook = await webhookById(req.params.id);
      await db.query('UPDATE webhooks SET active = false WHERE id = $1', [webhook.id]);
      res.status(204).end();
    });

    const DELIVERY_SELECT = `SELECT d.*, COALESCE((
        SELECT json_agg(json_build_object('attempt', a.attempt, 'status', a.status, 'error', a.error, 'durationMs', a.duration_ms, 'at', a.at) ORDER BY a.attempt)
        FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]'::json) AS log
      FROM deliveries d`;

    router.get('/deliveries', async (req, res) => {
      const limit = boundedInt(req.query.limit, 50, 1, 100, 'limit');
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [param, column] of [['eventId', 'event_id'], ['webhookId', 'webhook_id']] as const) {
        const value = req.query[param];
        if (value === undefined) continue;
        if (typeof value !== 'string' || !UUID.test(value)) throw new HttpError(400, 'INVALID_QUERY', `Query parameter ${param} must be a UUID.`);
        params.push(value);
        where.push(`d.${column} = $${params.length}`);
      }
      const status = req.query.status;
      if (status !== undefined) {
        if (status !== 'pending' && status !== 'delivered' && status !== 'failed') throw new HttpError(400, 'INVALID_QUERY', 'Query parameter status must be pending, delivered or failed.');
        params.push(status);
        where.push(`d.status = $${params.length}`);
      }
      params.push(limit);
      const sql = `${DELIVERY_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length}`;
      const { rows } = await db.query<DeliveryRow>(sql, params);
      res.json({ items: rows.map(toDelivery), limit });
    });

    router.get('/deliveries/:id', async (req, res) => {
      const { id } = req.params;
      const { rows } = UUID.test(id) ? await db.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1`, [id]) : { rows: [] };
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No delivery with id ${JSON.stringify(id)}.`);
      res.json(toDelivery(rows[0]));
    });
  },

  async start(ctx) {
    const dispatcher = new Dispatcher(ctx);
    const subscriber = ctx.cache.duplicate();
    if (subscriber) {
      // The connection refuses commands until it is ready (no offline queue), so subscribe on every `ready`:
      // the first connect and each reconnect (PSUBSCRIBE to a pattern already subscribed is harmless).
      const subscribe = () =>
        void subscriber.psubscribe(PATTERN).then(
          () => ctx.log.info('subscribed', { pattern: PATTERN }),
          (err: unknown) => ctx.log.warn('subscribe_failed', { err }),
        );
      subscriber.on('ready', subscribe);
      if (subscriber.status === 'ready') subscribe();
      subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
        let envelope: Envelope;
        try {
          envelope = envelopeSchema.parse(JSON.parse(message));
          if (channel !== `n3xus:events:${envelope.topic}`) throw new Error(`topic ${envelope.topic} published on ${channel}`);
        } catch (err) {
          ctx.log.warn('event_ignored', { channel, err });
          return;
        }
        dispatcher.enqueue(envelope).catch((err: unknown) => {
          // Not lost: the next catch-up pass reads it from event-bus.
          if (!(err instanceof Stopped)) ctx.log.warn('enqueue_failed', { eventId: envelope.id, err });
        });
      });
    } else {
      ctx.log.warn('dispatcher_without_redis', { message: 'REDIS_URL is not set: events are picked up by the catch-up pass only' });
    }

    await dispatcher.resume();
    let catching = false; // a slow pass (event-bus slow or down) is never overlapped by the next one
    const catchUp = async () => {
      if (catching) return;
      catching = true;
      await dispatcher.catchUp().catch((err: unknown) => {
        if (!(err instanceof Stopped)) ctx.log.warn('catch_up_failed', { err });
      });
      catching = false;
    };
    void catchUp();
    const timer = setInterval(() => void catchUp(), CATCH_UP_EVERY_MS);
    timer.unref();

    return async () => {
      clearInterval(timer);
      await subscriber?.quit().catch(() => subscriber.disconnect());
      await dispatcher.stop();
    };
  },
});
