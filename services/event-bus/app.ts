/**
 * event-bus: publish/subscribe over Redis, with PostgreSQL as the source of truth (transactional outbox).
 * An event is stored first and published second, so an event that was accepted is never lost: when Redis cannot
 * take it, the answer is 202 `published: false` and a background loop publishes it once Redis is back.
 * Subscribers PSUBSCRIBE `n3xus:events:*` and receive `{id, topic, payload, publishedAt}` (at least once: an
 * event may be published twice if the service dies between PUBLISH and recording it, so subscribers dedupe by id).
 */
import { HttpError, boundedInt, bodyOf, defineService, z, type Cache, type ServiceContext } from '@n3xus/kit';

type Redis = NonNullable<ReturnType<Cache['duplicate']>>;

const TOPIC = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CHANNEL_PREFIX = 'n3xus:events:';
const REPUBLISH_EVERY_MS = 2000;
const REPUBLISH_BATCH = 100;

interface EventRow { id: string; topic: string; payload: unknown; created_at: Date; published_at: Date | null }

const toEvent = (r: EventRow) => ({ id: r.id, topic: r.topic, payload: r.payload, createdAt: r.created_at.toISOString(), publishedAt: r.published_at?.toISOString() ?? null });

function checkTopic(topic: string): string {
  if (!TOPIC.test(topic)) throw new HttpError(400, 'INVALID_TOPIC', 'A topic is 1-64 characters: lower-case letters, digits, dot, dash and underscore, starting with a letter or digit.');
  return topic;
}

/** Any JSON value, including null; only its absence is refused. */
const publishBody = z.strictObject({ payload: z.json() });

/**
 * The publishing connection of each running instance. The cache client's `n3xus:event-bus:` key prefix must not
 * reach channel names, so events go out through a duplicate without a prefix. It exists from start() on; before
 * that (or without Redis) events are stored and left for the republish loop.
 */
const publishers = new WeakMap<ServiceContext, Redis>();

/** PUBLISH one stored event; returns the time it went out. Throws when Redis cannot take it. */
async function publish(redis: Redis, row: EventRow): Promise<Date> {
  const publishedAt = new Date();
  const envelope = { id: row.id, topic: row.topic, payload: row.payload, publishedAt: publishedAt.toISOString() };
  await redis.publish(CHANNEL_PREFIX + row.topic, JSON.stringify(envelope));
  return publishedAt;
}

/** One pass of the outbox: publishes unpublished events oldest first, stopping at the first failure. */
async function republish(ctx: ServiceContext, redis: Redis): Promise<number> {
  if (redis.status !== 'ready') return 0;
  // SKIP LOCKED: replicas (and a request publishing right now) never publish the same row at the same time.
  return ctx.db.transaction(async (client) => {
    const { rows } = await client.query<EventRow>(
      'SELECT * FROM events WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED',
      [REPUBLISH_BATCH],
    );
    let published = 0;
    for (const row of rows) {
      try {
        const at = await publish(redis, row);
        await client.query('UPDATE events SET published_at = $2 WHERE id = $1', [row.id, at]);
        published += 1;
      } catch (err) {
        ctx.log.warn('republish_failed', { eventId: row.id, err });
        break;
      }
    }
    if (published) ctx.log.info('republished', { count: published });
    return published;
  });
}

export default defineService({
  migrations: [
    {
      id: '001-events',
      sql: `CREATE TABLE events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        topic text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        published_at timestamptz
      );
      CREATE INDEX events_topic_created ON events (topic, created_at, id);
      CREATE INDEX events_unpublished ON events (created_at, id) WHERE published_at IS NULL;`,
    },
  ],

  routes(router, ctx) {
    const { db } = ctx;

    router.post('/topics/:topic/events', async (req, res) => {
      const topic = checkTopic(req.params.topic);
      const { payload } = publishBody.parse(bodyOf(req.body));
      // Stored and published in one transaction: the row is committed either marked published or left for the
      // loop, and the loop cannot pick it up (SKIP LOCKED) while this request is still publishing it.
      const row = await db.transaction(async (client) => {
        const inserted = (await client.query<EventRow>('INSERT INTO events (topic, payload) VALUES ($1, $2) RETURNING *', [topic, JSON.stringify(payload)])).rows[0]!;
        const redis = publishers.get(ctx);
        if (!redis || redis.status !== 'ready') return inserted;
        try {
          const at = await publish(redis, inserted);
          return (await client.query<EventRow>('UPDATE events SET published_at = $2 WHERE id = $1 RETURNING *', [inserted.id, at])).rows[0]!;
        } catch (err) {
          ctx.log.warn('publish_deferred', { eventId: inserted.id, err });
          return inserted;
        }
      });
      const published = row.published_at !== null;
      res.status(published ? 201 : 202).location(`${req.baseUrl}/topics/${topic}/events/${row.id}`).json({ ...toEvent(row), published });
    });

    // Oldest first from `since` (inclusive), so that a subscriber catching up can page forward.
    router.get('/topics/:topic/events', async (req, res) => {
      const topic = checkTopic(req.params.topic);
      const limit = boundedInt(req.query.limit, 50, 1, 500, 'limit');
      const rawSince = req.query.since;
      const since = rawSince === undefined ? new Date(0) : new Date(typeof rawSince === 'string' ? rawSince : NaN);
      if (Number.isNaN(since.getTime())) throw new HttpError(400, 'INVALID_QUERY', 'Query parameter since must be an ISO 8601 time.');
      const { rows } = await db.query<EventRow>(
        'SELECT * FROM events WHERE topic = $1 AND created_at >= $2 ORDER BY created_at, id LIMIT $3',
        [topic, since, limit],
      );
      res.json({ topic, items: rows.map(toEvent), limit });
    });

    router.get('/topics/:topic/events/:id', async (req, res) => {
      const topic = checkTopic(req.params.topic);
      const { id } = req.params;
      const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
      const { rows } = valid ? await db.query<EventRow>('SELECT * FROM events WHERE id = $1 AND topic = $2', [id, topic]) : { rows: [] };
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No event ${JSON.stringify(id)} on topic ${topic}.`);
      res.json(toEvent(rows[0]));
    });
  },

  async start(ctx) {
    const redis = ctx.cache.duplicate();
    if (!redis) {
      ctx.log.warn('event_bus_without_redis', { message: 'REDIS_URL is not set: events are stored but not published' });
      return;
    }
    publishers.set(ctx, redis);
    let pass: Promise<unknown> = Promise.resolve();
    let running = false;
    const timer = setInterval(() => {
      if (running) return; // a slow pass is never overlapped by the next one
      running = true;
      pass = republish(ctx, redis)
        .catch((err: unknown) => ctx.log.warn('republish_pass_failed', { err }))
        .finally(() => (running = false));
    }, REPUBLISH_EVERY_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await pass;
      publishers.delete(ctx);
      await redis.quit().catch(() => redis.disconnect());
    };
  },
});
