/**
 * attestation-service: signs statements ("claims") about subjects with Ed25519 so that anyone holding the public
 * key can check them later without trusting the storage they come from. What is signed is the canonical JSON of
 * the payload (JCS, RFC 8785: keys sorted, no whitespace), stored verbatim next to its signature.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { bodyOf, boundedInt, canonicalJson, defineService, HttpError, type ServiceContext, z } from '@n3xus/kit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

type PublicJwk = { kty: string; crv: string; x: string };
interface SigningKey { keyId: string; privateKey: KeyObject; publicKeyJwk: PublicJwk; createdAt: Date }
interface KeyRow { key_id: string; public_jwk: PublicJwk; private_pkcs8: string; created_at: Date }

const toKey = (row: KeyRow): SigningKey => ({ keyId: row.key_id, privateKey: createPrivateKey(row.private_pkcs8), publicKeyJwk: row.public_jwk, createdAt: row.created_at });

/**
 * The current signing key of one running instance: loaded from the schema, or generated on first start. The
 * private key is stored as PKCS#8 PEM in the service's own table. That is acceptable for this demo fleet only;
 * a production deployment keeps it in a KMS or HSM and never lets it leave. A partial unique index allows one
 * active key, so two replicas starting together agree on the same key (the loser of the insert reads the winner's).
 */
const signingKeys = new WeakMap<ServiceContext, Promise<SigningKey>>();
function currentKey(ctx: ServiceContext): Promise<SigningKey> {
  let key = signingKeys.get(ctx);
  if (!key) {
    key = loadOrCreateKey(ctx);
    key.catch(() => signingKeys.delete(ctx)); // a failed load (database down) is retried by the next caller
    signingKeys.set(ctx, key);
  }
  return key;
}

async function loadOrCreateKey({ db, log }: ServiceContext): Promise<SigningKey> {
  const existing = await db.query<KeyRow>('SELECT * FROM signing_keys WHERE active');
  if (existing.rows[0]) {
    log.info('signing_key_ready', { keyId: existing.rows[0].key_id, generated: false });
    return toKey(existing.rows[0]);
  }
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  // The RFC 7638 thumbprint of the public JWK: a stable key id anyone can recompute from the key itself.
  const keyId = createHash('sha256').update(canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
  await db.query(
    'INSERT INTO signing_keys (key_id, public_jwk, private_pkcs8) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [keyId, { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, privateKey.export({ format: 'pem', type: 'pkcs8' })],
  );
  const { rows } = await db.query<KeyRow>('SELECT * FROM signing_keys WHERE active');
  log.info('signing_key_ready', { keyId: rows[0]!.key_id, generated: rows[0]!.key_id === keyId });
  return toKey(rows[0]!);
}

/** A public key by id (keys no longer active stay valid for verifying what they signed). */
async function publicKeyOf(ctx: ServiceContext, keyId: string): Promise<KeyObject | undefined> {
  const { rows } = await ctx.db.query<Pick<KeyRow, 'public_jwk'>>('SELECT public_jwk FROM signing_keys WHERE key_id = $1', [keyId]);
  return rows[0] ? createPublicKey({ key: rows[0].public_jwk, format: 'jwk' }) : undefined;
}

const json = z.json();
const attestBody = z.strictObject({
  /** What the claim is about: a DID, a transaction id, any identifier. */
  subject: z.string().trim().min(1).max(512),
  claim: z.record(z.string(), json),
});
const verifyBody = z.union([
  z.strictObject({ attestationId: z.string().regex(UUID, 'must be an attestation id') }),
  z.strictObject({ payload: z.record(z.string(), json), signature: z.string().min(1).max(200) }),
]);

interface AttestationRow { id: string; key_id: string; payload: string; signature: string; created_at: Date }
const toAttestation = (r: AttestationRow) => ({ id: r.id, keyId: r.key_id, alg: 'EdDSA', payload: JSON.parse(r.payload) as unknown, signature: r.signature });

function verifies(publicKey: KeyObject, canonical: string, signature: string): boolean {
  if (!BASE64URL.test(signature)) return false;
  const bytes = Buffer.from(signature, 'base64url');
  return bytes.length === 64 && verify(null, Buffer.from(canonical), publicKey, bytes);
}

export default defineService({
  migrations: [
    {
      id: '001-keys-and-attestations',
      sql: `CREATE TABLE signing_keys (
        key_id text PRIMARY KEY,
        public_jwk jsonb NOT NULL,
        private_pkcs8 text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active;
      CREATE TABLE attestations (
        id uuid PRIMARY KEY,
        key_id text NOT NULL REFERENCES signing_keys (key_id),
        subject text NOT NULL,
        payload text NOT NULL,
        signature text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX attestations_subject ON attestations (subject, created_at DESC);`,
    },
  ],

  // The key pair is made (or loaded) as soon as the schema exists, not on the first signature.
  async start(ctx) {
    await currentKey(ctx);
  },

  routes(router, ctx) {
    const { db } = ctx;

    router.get('/keys/current', async (_req, res) => {
      const key = await currentKey(ctx);
      res.json({ keyId: key.keyId, algorithm: 'Ed25519', publicKeyJwk: { ...key.publicKeyJwk, kid: key.keyId, alg: 'EdDSA', use: 'sig' }, createdAt: key.createdAt.toISOString() });
    });

    router.post('/attestations', async (req, res) => {
      const body = attestBody.parse(bodyOf(req.body));
      const key = await currentKey(ctx);
      const id = randomUUID();
      // The id, key and time are inside the signed payload, so a signature cannot be moved to another record.
      const payload = { id, issuer: 'attestation-service', keyId: key.keyId, subject: body.subject, claim: body.claim, issuedAt: new Date().toISOString() };
      const canonical = canonicalJson(payload);
      const signature = sign(null, Buffer.from(canonical), key.privateKey).toString('base64url');
      const { rows } = await db.query<AttestationRow>(
        'INSERT INTO attestations (id, key_id, subject, payload, signature) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [id, key.keyId, body.subject, canonical, signature],
      );
      res.status(201).location(`${req.baseUrl}/attestations/${id}`).json(toAttestation(rows[0]!));
    });

    // The attestations about one subject, newest first (the subject's index): a subject is named, never all listed.
    router.get('/attestations', async (req, res) => {
      const subject = typeof req.query.subject === 'string' ? req.query.subject.trim() : '';
      if (subject === '' || subject.length > 512) throw new HttpError(400, 'INVALID_SUBJECT', 'Name the subject whose attestations to list: ?subject=…');
      const limit = boundedInt(req.query.limit, 20, 1, 100, 'limit');
      const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
      const { rows } = await db.query<AttestationRow>('SELECT * FROM attestations WHERE subject = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3', [subject, limit, offset]);
      res.json({ items: rows.map((r) => ({ ...toAttestation(r), createdAt: r.created_at.toISOString() })), limit, offset });
    });

    // Withdraws an attestation: it is gone, and verifying it by id answers 404.
    router.delete('/attestations/:id', async (req, res) => {
      const { id } = req.params;
      const { rowCount } = UUID.test(id) ? await db.query('DELETE FROM attestations WHERE id = $1', [id]) : { rowCount: 0 };
      if (!rowCount) throw new HttpError(404, 'NOT_FOUND', `No attestation with id ${JSON.stringify(id)}.`);
      res.status(204).end();
    });

    router.get('/attestations/:id', async (req, res) => {
      const { id } = req.params;
      const { rows } = UUID.test(id) ? await db.query<AttestationRow>('SELECT * FROM attestations WHERE id = $1', [id]) : { rows: [] };
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No attestation with id ${JSON.stringify(id)}.`);
      res.json(toAttestation(rows[0]));
    });

    // Answers {valid} rather than an error for a bad signature: "this does not verify" is the answer asked for.
    router.post('/verify', async (req, res) => {
      const body = verifyBody.parse(bodyOf(req.body));
      let canonical: string, signature: string, keyId: unknown;
      if ('attestationId' in body) {
        const { rows } = await db.query<AttestationRow>('SELECT * FROM attestations WHERE id = $1', [body.attestationId]);
        if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No attestation with id ${body.attestationId}.`);
        ({ payload: canonical, signature, key_id: keyId } = rows[0]);
        // A valid payload and signature copied over from another record are still a tampered record.
        if ((JSON.parse(canonical) as { id?: unknown }).id !== rows[0].id) {
          res.json({ valid: false, keyId, reason: 'the signed payload belongs to another attestation' });
          return;
        }
      } else {
        canonical = canonicalJson(body.payload);
        signature = body.signature;
        keyId = body.payload.keyId ?? (await currentKey(ctx)).keyId;
      }
      const publicKey = typeof keyId === 'string' && keyId.length <= 100 ? await publicKeyOf(ctx, keyId) : undefined;
      if (!publicKey) {
        res.json({ valid: false, reason: 'unknown key' });
        return;
      }
      const valid = verifies(publicKey, canonical, signature);
      res.json(valid ? { valid, keyId } : { valid, keyId, reason: 'signature does not match the payload' });
    });
  },
});
