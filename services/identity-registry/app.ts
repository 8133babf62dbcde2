/**
 * identity-registry: sovereign identifiers of the federation. It mints `did:n3xus:<id>` DIDs, stores a W3C
 * DID Core shaped document for each in its own schema, resolves them, lists those of a controller, and removes
 * one. Resolutions are read far more often than DIDs are created, so they are cached in Redis; a document never
 * changes after creation here, so the TTL only bounds how long a cache entry occupies memory, and a removal evicts
 * it at once.
 */
import { randomBytes } from 'node:crypto';
import { HttpError, bodyOf, boundedInt, defineService, z } from '@n3xus/kit';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const N3XUS_DID = /^did:n3xus:[1-9A-HJ-NP-Za-km-z]{16,44}$/;
/** Any DID (method name and method-specific id per DID Core), for controllers that live elsewhere. */
const ANY_DID = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,200}$/;
const CACHE_TTL_SECONDS = 300;

/** Base58btc (the Bitcoin alphabet), as used by `z`-prefixed multibase keys and our DID ids. */
function base58(bytes: Uint8Array): string {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

const createBody = z.strictObject({
  /** An Ed25519 public key as base58btc multibase (`z…`), which becomes the DID's verification method. */
  publicKeyMultibase: z.string().regex(/^z[1-9A-HJ-NP-Za-km-z]{32,128}$/, 'must be a base58btc multibase key (z…)').optional(),
  /** Who controls the DID; defaults to the DID itself (self-sovereign). */
  controller: z.string().regex(ANY_DID, 'must be a DID such as did:n3xus:…').optional(),
});

interface DidRow { did: string; document: Record<string, unknown>; created_at: Date; updated_at: Date }

/** A DID resolution result (DID Resolution spec shape): the document and its metadata. */
const resolution = (row: DidRow) => ({
  didDocument: row.document,
  didResolutionMetadata: { contentType: 'application/did+ld+json' },
  didDocumentMetadata: { created: row.created_at.toISOString(), updated: row.updated_at.toISOString() },
});

/** 400 for what is not a did:n3xus at all, so that a typo is told apart from an unknown DID (404). */
function checkDid(raw: string): string {
  if (N3XUS_DID.test(raw)) return raw;
  if (ANY_DID.test(raw)) throw new HttpError(400, 'UNSUPPORTED_DID_METHOD', 'This registry resolves did:n3xus DIDs only.');
  throw new HttpError(400, 'INVALID_DID', `${JSON.stringify(raw.slice(0, 100))} is not a DID; expected did:n3xus:<id>.`);
}

export default defineService({
  migrations: [
    {
      id: '001-dids',
      sql: `CREATE TABLE dids (
        did text PRIMARY KEY,
        document jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );`,
    },
    {
      // The DIDs of one controller, newest first (GET /v1/dids?controller=…).
      id: '002-dids-controller',
      sql: `CREATE INDEX dids_controller ON dids ((document->>'controller'), created_at DESC);`,
    },
  ],

  routes(router, { db, cache }) {
    router.post('/dids', async (req, res) => {
      const body = createBody.parse(bodyOf(req.body));
      // 16 random bytes: collisions are not a practical concern, and the primary key would refuse one anyway.
      const did = `did:n3xus:${base58(randomBytes(16))}`;
      const keyId = `${did}#key-1`;
      const document: Record<string, unknown> = {
        '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/ed25519-2020/v1'],
        id: did,
        controller: body.controller ?? did,
        verificationMethod: body.publicKeyMultibase
          ? [{ id: keyId, type: 'Ed25519VerificationKey2020', controller: did, publicKeyMultibase: body.publicKeyMultibase }]
          : [],
        authentication: body.publicKeyMultibase ? [keyId] : [],
        assertionMethod: body.publicKeyMultibase ? [keyId] : [],
      };
      const { rows } = await db.query<DidRow>('INSERT INTO dids (did, document) VALUES ($1, $2) RETURNING *', [did, document]);
      res.status(201).location(`${req.baseUrl}/dids/${encodeURIComponent(did)}`).json(resolution(rows[0]!));
    });

    // The DIDs one controller registered, newest first: a controller is named, never the whole registry listed.
    router.get('/dids', async (req, res) => {
      const controller = typeof req.query.controller === 'string' ? req.query.controller : '';
      if (!ANY_DID.test(controller)) throw new HttpError(400, 'INVALID_CONTROLLER', 'Name the controller whose DIDs to list: ?controller=did:…');
      const limit = boundedInt(req.query.limit, 20, 1, 100, 'limit');
      const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
      const { rows } = await db.query<DidRow>(
        `SELECT * FROM dids WHERE document->>'controller' = $1 ORDER BY created_at DESC, did DESC LIMIT $2 OFFSET $3`,
        [controller, limit, offset],
      );
      res.json({ items: rows.map(resolution), limit, offset });
    });

    // Removes a DID: it no longer resolves (404), here or from the cache.
    router.delete('/dids/:did', async (req, res) => {
      const did = checkDid(req.params.did);
      const { rowCount } = await db.query('DELETE FROM dids WHERE did = $1', [did]);
      if (!rowCount) throw new HttpError(404, 'NOT_FOUND', `No DID ${did} is registered here.`);
      await cache.delete(`did:${did}`);
      res.status(204).end();
    });

    router.get('/dids/:did', async (req, res) => {
      const did = checkDid(req.params.did);
      const key = `did:${did}`;
      const cached = await cache.get<ReturnType<typeof resolution>>(key);
      if (cached) {
        res.set('X-Cache', 'hit').json(cached);
        return;
      }
      const { rows } = await db.query<DidRow>('SELECT * FROM dids WHERE did = $1', [did]);
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No DID ${did} is registered here.`);
      const result = resolution(rows[0]);
      await cache.set(key, result, CACHE_TTL_SECONDS);
      res.set('X-Cache', 'miss').json(result);
    });
  },
});
