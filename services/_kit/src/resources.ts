import express, { type Router } from 'express';
import { z } from 'zod';
import type { Cache } from './cache.ts';
import type { Database, Migration } from './db.ts';
import { HttpError } from './errors.ts';

/** A resource's body: a zod object or its shape (`{ title: f.text() }`); the kit adds `id`, `createdAt`, `updatedAt`. */
export type ResourceSchema = z.ZodObject<z.ZodRawShape> | z.ZodRawShape;

/** A stored record as the API returns it. */
export interface ResourceRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
}

const NAME = /^[a-z][a-z0-9_]{0,40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `policy_rules` → `policy-rules`: tables are snake_case, paths kebab-case. */
export function resourcePath(name: string): string {
  return name.replace(/_/g, '-');
}

export { RESOURCES_PATH } from './kit-routes.ts';

/** One resource as {@link RESOURCES_PATH} describes it: where its API is, and its body as JSON Schema. */
export interface ResourceDescription {
  name: string;
  path: string;
  schema: Record<string, unknown>;
}

/**
 * The resources of a definition, derived from their zod shapes: what a client (verify's functional check) needs to
 * write a valid record without a hand-kept list. The schema is of the body as sent (`io: 'input'`): optional fields
 * are not required, and the kit's own `id`, `createdAt` and `updatedAt` are not in it.
 */
export function describeResources(resources: Record<string, ResourceSchema>): ResourceDescription[] {
  return Object.entries(resources).map(([name, schema]) => ({
    name,
    path: `/v1/${resourcePath(name)}`,
    schema: z.toJSONSchema(schema instanceof z.ZodObject ? schema : z.object(schema), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  }));
}

/** The migration that creates a resource's table in the service's schema. */
export function resourceMigration(name: string): Migration {
  if (!NAME.test(name)) throw new Error(`Resource name ${JSON.stringify(name)} is not valid: expected lower_snake_case.`);
  return {
    id: `resource:${name}`,
    sql: `CREATE TABLE ${name} (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ${name}_created_at ON ${name} (created_at DESC, id DESC);`,
  };
}

interface Row {
  id: string;
  data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: Row): ResourceRecord {
  return { ...row.data, id: row.id, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

/**
 * A small REST API over one table: POST creates, GET lists (newest first, `limit` ≤ 100 and `offset`),
 * GET/PATCH/DELETE `/:id` read, merge and remove one record. Reads by id are cached in Redis for 60 s and
 * invalidated on change; while Redis is down they go to PostgreSQL alone.
 */
export function resourceRouter(name: string, schema: ResourceSchema, db: Database, cache: Cache): Router {
  const router = express.Router();
  const table = name;
  const object = schema instanceof z.ZodObject ? schema : z.object(schema);
  const strict = object.strict();
  const partial = object.partial().strict();
  const cacheKey = (id: string) => `res:${name}:${id}`;
  const checkId = (id: string | undefined): string => {
    if (!id || !UUID.test(id)) throw new HttpError(404, 'NOT_FOUND', `No ${name} record with id ${JSON.stringify(id ?? '')}.`);
    return id.toLowerCase();
  };
  const notFound = (id: string) => new HttpError(404, 'NOT_FOUND', `No ${name} record with id ${JSON.stringify(id)}.`);

  router.post('/', async (req, res) => {
    const data = strict.parse(bodyOf(req.body));
    const { rows } = await db.query<Row>(`INSERT INTO ${table} (data) VALUES ($1) RETURNING *`, [data]);
    res.status(201).location(`${req.baseUrl}/${rows[0]!.id}`).json(toRecord(rows[0]!));
  });

  router.get('/', async (req, res) => {
    const limit = boundedInt(req.query.limit, 20, 1, 100, 'limit');
    const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
    const { rows } = await db.query<Row>(`SELECT * FROM ${table} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, [limit, offset]);
    res.json({ items: rows.map(toRecord), limit, offset });
  });

  router.get('/:id', async (req, res) => {
    const id = checkId(req.params.id);
    const cached = await cache.get<ResourceRecord>(cacheKey(id));
    if (cached) {
      res.set('X-Cache', 'hit').json(cached);
      return;
    }
    const { rows } = await db.query<Row>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    if (!rows[0]) throw notFound(id);
    const record = toRecord(rows[0]);
    await cache.set(cacheKey(id), record, 60);
    res.set('X-Cache', 'miss').json(record);
  });

  router.patch('/:id', async (req, res) => {
    const id = checkId(req.params.id);
    const patch = partial.parse(bodyOf(req.body));
    const { rows } = await db.query<Row>(`UPDATE ${table} SET data = data || $2, updated_at = now() WHERE id = $1 RETURNING *`, [id, patch]);
    if (!rows[0]) throw notFound(id);
    await cache.delete(cacheKey(id));
    res.json(toRecord(rows[0]));
  });

  router.delete('/:id', async (req, res) => {
    const id = checkId(req.params.id);
    const { rowCount } = await db.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    if (!rowCount) throw notFound(id);
    await cache.delete(cacheKey(id));
    res.status(204).end();
  });

  return router;
}

/** The parsed JSON body; a request without one is an empty object, so validation names the missing fields. */
export function bodyOf(body: unknown): unknown {
  return body === undefined ? {} : body;
}

/** Reads an integer query parameter within bounds, or answers 400 naming it. */
export function boundedInt(raw: unknown, fallback: number, min: number, max: number, name: string): number {
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'INVALID_QUERY', `Query parameter ${name} must be a whole number from ${min} to ${max}.`);
  }
  return value;
}
