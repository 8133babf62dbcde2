/**
 * audit-trail: tamper-evident audit records. Each record's hash is sha256(previous hash + canonical record), so
 * the records form a hash chain: changing, removing or reordering any stored record breaks every hash after it,
 * which GET /v1/verify-chain detects. (Dropping records at the tail is only detectable against a head hash kept
 * elsewhere; the verification answer returns the head for that purpose.)
 *
 * It also receives event-bus events from webhook-dispatcher (POST /v1/ingest/events), recording each event once
 * whatever the number of deliveries, which is how a published event can be observed end to end.
 */
import { createHash, randomUUID } from 'node:crypto';
import { HttpError, boundedInt, bodyOf, canonicalJson, defineService, z, type PoolClient } from '@n3xus/kit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GENESIS = '0'.repeat(64);

interface RecordRow {
  seq: string; id: string; actor: string; action: string; subject: string; detail: Record<string, unknown> | null;
  event_id: string | null; created_at: Date; prev_hash: string; hash: string;
}
type Entry = { actor: string; action: string; subject: string; detail?: Record<string, unknown> | undefined; eventId?: string | undefined };

/** The hash of a record given its predecessor's: exactly the stored columns, so verification can redo it. */
function chainHash(prevHash: string, r: { id: string; actor: string; action: string; subject: string; detail: unknown; eventId: string | null; createdAt: string }): string {
  const content = { id: r.id, actor: r.actor, action: r.action, subject: r.subject, detail: r.detail ?? null, eventId: r.eventId, createdAt: r.createdAt };
  return createHash('sha256').update(prevHash).update(canonicalJson(content)).digest('hex');
}
const hashOf = (row: RecordRow) =>
  chainHash(row.prev_hash, { ...row, eventId: row.event_id, createdAt: row.created_at.toISOString() });

const toRecord = (r: RecordRow) => ({
  id: r.id, seq: Number(r.seq), actor: r.actor, action: r.action, subject: r.subject, detail: r.detail,
  eventId: r.event_id, createdAt: r.created_at.toISOString(), prevHash: r.prev_hash, hash: r.hash,
});

/**
 * Appends one record. The table lock serializes appends, so each one chains onto the true latest hash; with an
 * event id, an event already recorded returns its record instead (idempotent ingestion).
 */
async function append(client: PoolClient, entry: Entry): Promise<{ row: RecordRow; created: boolean }> {
  await client.query('LOCK TABLE records IN EXCLUSIVE MODE');
  if (entry.eventId) {
    const existing = await client.query<RecordRow>('SELECT * FROM records WHERE event_id = $1', [entry.eventId]);
    if (existing.rows[0]) return { row: existing.rows[0], created: false };
  }
  const last = await client.query<{ hash: string }>('SELECT hash FROM records ORDER BY seq DESC LIMIT 1');
  const prevHash = last.rows[0]?.hash ?? GENESIS;
  // The time is fixed here, at millisecond precision, so the hashed value and the stored one are the same.
  const record = { id: randomUUID(), ...entry, detail: entry.detail ?? null, eventId: entry.eventId ?? null, createdAt: new Date().toISOString() };
  const hash = chainHash(prevHash, record);
  const { rows } = await client.query<RecordRow>(
    `INSERT INTO records (id, actor, action, subject, detail, event_id, created_at, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [record.id, record.actor, record.action, record.subject, record.detail === null ? null : JSON.stringify(record.detail), record.eventId, record.createdAt, prevHash, hash],
  );
  return { row: rows[0]!, created: true };
}

const recordBody = z.strictObject({
  actor: z.string().trim().min(1).max(200),
  action: z.string().trim().min(1).max(200),
  subject: z.string().trim().min(1).max(500),
  detail: z.record(z.string(), z.json()).optional(),
});
/** The envelope webhook-dispatcher posts: `{id, topic, payload, publishedAt}` (extra fields are ignored). */
const envelopeBody = z.object({
  id: z.string().regex(UUID, 'must be an event id (UUID)'),
  topic: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a topic name'),
  payload: z.json(),
  publishedAt: z.iso.datetime({ offset: true }),
});

export default defineService({
  migrations: [
    {
      id: '001-records',
      sql: `CREATE TABLE records (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        detail jsonb,
        event_id uuid UNIQUE,
        created_at timestamptz NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL UNIQUE
      );`,
    },
  ],

  routes(router, { db }) {
    const notFound = (what: string) => new HttpError(404, 'NOT_FOUND', `No audit record ${what}.`);

    router.post('/records', async (req, res) => {
      const entry = recordBody.parse(bodyOf(req.body));
      const { row } = await db.transaction((client) => append(client, entry));
      res.status(201).location(`${req.baseUrl}/records/${row.id}`).json(toRecord(row));
    });

    router.get('/records', async (req, res) => {
      const limit = boundedInt(req.query.limit, 50, 1, 100, 'limit');
      const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
      const { rows } = await db.query<RecordRow>('SELECT * FROM records ORDER BY seq DESC LIMIT $1 OFFSET $2', [limit, offset]);
      res.json({ items: rows.map(toRecord), limit, offset });
    });

    router.get('/records/:id', async (req, res) => {
      const { id } = req.params;
      const { rows } = UUID.test(id) ? await db.query<RecordRow>('SELECT * FROM records WHERE id = $1', [id]) : { rows: [] };
      if (!rows[0]) throw notFound(`with id ${JSON.stringify(id)}`);
      res.json(toRecord(rows[0]));
    });

    // 201 the first time an event arrives, 200 with the same record for every redelivery.
    router.post('/ingest/events', async (req, res) => {
      const event = envelopeBody.parse(bodyOf(req.body));
      const { row, created } = await db.transaction((client) =>
        append(client, { actor: 'event-bus', action: 'event', subject: event.topic, detail: { payload: event.payload, publishedAt: event.publishedAt }, eventId: event.id.toLowerCase() }),
      );
      res.status(created ? 201 : 200).json(toRecord(row));
    });

    router.get('/ingest/events/:eventId', async (req, res) => {
      const { eventId } = req.params;
      if (!UUID.test(eventId)) throw new HttpError(400, 'INVALID_EVENT_ID', 'An event id is a UUID.');
      const { rows } = await db.query<RecordRow>('SELECT * FROM records WHERE event_id = $1', [eventId]);
      if (!rows[0]) throw notFound(`for event ${eventId} (not received yet)`);
      res.json(toRecord(rows[0]));
    });

    // Walks the whole chain in order, in pages, recomputing every hash from the stored columns.
    router.get('/verify-chain', async (_req, res) => {
      let prevHash = GENESIS;
      let length = 0;
      let after = '0';
      for (;;) {
        const { rows } = await db.query<RecordRow>('SELECT * FROM records WHERE seq > $1 ORDER BY seq LIMIT 1000', [after]);
        for (const row of rows) {
          if (row.prev_hash !== prevHash || hashOf(row) !== row.hash) {
            res.json({ valid: false, length, brokenAt: { id: row.id, seq: Number(row.seq) } });
            return;
          }
          prevHash = row.hash;
          length += 1;
        }
        if (rows.length < 1000) break;
        after = rows[rows.length - 1]!.seq;
      }
      res.json({ valid: true, length, head: prevHash });
    });
  },
});
