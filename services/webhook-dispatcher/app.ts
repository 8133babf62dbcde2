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
 * Delivery is at least once: endpoints dedupe by the X-N3XUS-Event-Id header. The fleet handshake is sent so
 * that in-fleet receivers (such as audit-trail) accept the call; register only endpoints trusted with it.
 */
import { bodyOf, boundedInt, defineService, ExponentialBackoff, handleWhen, HttpError, retry, type ServiceContext, z } from '@n3xus/kit';

const TOPIC = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PATTERN = 'n3xus:events:*';
const MAX_ATTEMPTS = 5;
const BACKOFF = { initialDelay: 200, maxDelay: 10_000 };
const ATTEMPT_TIMEOUT_MS = 5000;
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

interface WebhookRow { id: string; topic: string; url: string; active: boolean; created_at: Date }
interface DeliveryRow {
  id: string; event_id: string; webhook_id: string; topic: string; envelope: Envelope; status: string; attempts: number;
  last_status: number | null; last_error: string | null; created_at: Date; updated_at: Date; delivered_at: Date | null;
  log?: unknown[];
}

const toWebhook = (r: WebhookRow) => ({ id: r.id, topic: r.topic, url: r.url, active: r.active, createdAt: r.created_at.toISOString() });
const toDelivery = (r: DeliveryRow) => ({
  id: r.id, eventId: r.event_id, webhookId: r.webhook_id, topic: r.topic, status: r.status, attempts: r.attempts,
  lastStatus: r.last_status, lastError: r.last_error, createdAt: r.created_at.toISOString(),
  deliveredAt: r.delivered_at?.toISOString() ?? null, log: r.log ?? [],
});

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

  constructor(private readonly ctx: ServiceContext) {}

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
    const { rows } = await this.guarded(() => db.query<DeliveryRow & { url: string; active: boolean }>(
      `SELECT d.*, w.url, w.active FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.status = 'pending'`,
      [id],
    ));
    const delivery = rows[0];
    if (!delivery) return;
    if (!delivery.active) {
      await this.guarded(() => db.query("UPDATE deliveries SET status = 'failed', last_error = 'webhook deleted', updated_at = now() WHERE id = $1", [id]));
      return;
    }
    // A resumed delivery gets only the attempts it has left (at least one).
    const policy = retry(handleWhen((err) => err instanceof DeliveryError && err.retryable), {
      maxAttempts: Math.max(0, MAX_ATTEMPTS - 1 - delivery.attempts),
      backoff: new ExponentialBackoff(BACKOFF),
    }).dangerouslyUnref();
    let attempt = delivery.attempts;
    let status: 'delivered' | 'failed' = 'delivered';
    try {
      await policy.execute(() => this.guarded(() => this.attempt(delivery, delivery.url, ++attempt)), this.stopping.signal);
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

  /** One POST, recorded in the log whatever its outcome; throws a DeliveryError unless it was a 2xx. */
  private async attempt(delivery: DeliveryRow, url: string, attempt: number): Promise<void> {
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'n3xus-webhook-dispatcher/3.0',
          'x-n3xus-handshake': this.ctx.config.handshake ?? '',
          'x-n3xus-event-id': delivery.event_id,
          'x-n3xus-delivery-id': delivery.id,
          'x-n3xus-delivery-attempt': String(attempt),
        },
        body: JSON.stringify(delivery.envelope),
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      status = res.status;
      const text = await res.text().catch(() => '');
      if (!res.ok) error = `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    } catch (err) {
      if (this.stopping.signal.aborted) throw new Stopped(); // cut short by shutdown: not the endpoint's failure
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      error = cause instanceof Error ? cause.message : String(cause);
    }
    await this.ctx.db.query(
      `WITH logged AS (INSERT INTO delivery_attempts (delivery_id, attempt, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5))
       UPDATE deliveries SET attempts = $2, last_status = $3, last_error = $4, updated_at = now() WHERE id = $1`,
      [delivery.id, attempt, status, error, Date.now() - started],
    );
    if (error !== null) throw new DeliveryError(error, status === null || retryableStatus(status));
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
  ],

  routes(router, { db }) {
    const webhookById = async (id: string): Promise<WebhookRow> => {
      const { rows } = UUID.test(id) ? await db.query<WebhookRow>('SELECT * FROM webhooks WHERE id = $1', [id]) : { rows: [] };
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No webhook with id ${JSON.stringify(id)}.`);
      return rows[0];
    };

    router.post('/webhooks', async (req, res) => {
      const body = webhookBody.parse(bodyOf(req.body));
      const { rows } = await db.query<WebhookRow>('INSERT INTO webhooks (topic, url, active) VALUES ($1, $2, $3) RETURNING *', [body.topic, body.url, body.active ?? true]);
      res.status(201).location(`${req.baseUrl}/webhooks/${rows[0]!.id}`).json(toWebhook(rows[0]!));
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
