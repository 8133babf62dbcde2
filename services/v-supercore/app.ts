/**
 * v-supercore: the fleet's governance authority. It serves the constitution (the rules every service lives by)
 * and takes amendment proposals. The rules are seeded by a migration, so every environment starts from the same
 * constitution and a change to it is a reviewed migration or an amendment, never an edit in place.
 */
import { HttpError, boundedInt, bodyOf, defineService, z } from '@n3xus/kit';

const RULE_CODE = /^[A-Z][A-Z0-9-]{1,31}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The seeded constitution. The N3XUS LAW rule names the law (its name is public) and says what it requires; it
 * never states the handshake value, which this service has no reason to hand out.
 */
const CONSTITUTION: Array<{ code: string; title: string; text: string; category: string }> = [
  {
    code: 'N3XUS-LAW-55-45-17',
    title: 'The N3XUS LAW 55-45-17',
    text: 'Every build, every process and every request except health and readiness probes carries the fleet handshake in the X-N3XUS-Handshake header. A request without it is refused with HTTP 451, a process without it exits with code 45, and an image without it is not built.',
    category: 'law',
  },
  {
    code: 'ART-1-SOVEREIGN-DATA',
    title: 'Sovereignty of data',
    text: 'Each service owns its data in its own schema. No service reads or writes the tables of another; it asks the owner through its API.',
    category: 'data',
  },
  {
    code: 'ART-2-ZERO-TRUST',
    title: 'Zero trust between services',
    text: 'No caller is trusted for being on the network. Every call between services presents the handshake and is checked like any other request.',
    category: 'security',
  },
  {
    code: 'ART-3-STAGED-LAUNCH',
    title: 'Staged launch',
    text: 'A service depends only on services of its own or an earlier stage, so that the launch order never starts a caller before what it calls.',
    category: 'operations',
  },
  {
    code: 'ART-4-ACCOUNTABILITY',
    title: 'Accountability',
    text: 'Decisions that change rights, money or rules are recorded in the tamper-evident audit trail, and attested where a third party must be able to check them.',
    category: 'compliance',
  },
  {
    code: 'ART-5-AMENDMENT',
    title: 'Amendment',
    text: 'The constitution changes only by amendment: an amendment is proposed, stored with its author and rationale, and takes effect only once ratified.',
    category: 'governance',
  },
];

/** SQL literal for a seeded string (the seed is static text, quoted rather than interpolated raw). */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

const amendmentBody = z.strictObject({
  /** The rule being amended; absent when the amendment proposes a new rule. */
  ruleCode: z.string().trim().toUpperCase().regex(RULE_CODE, 'must be a rule code such as ART-2-ZERO-TRUST').optional(),
  title: z.string().trim().min(1).max(200),
  text: z.string().trim().min(1).max(4000),
  rationale: z.string().trim().max(4000).optional(),
  proposedBy: z.string().trim().min(1).max(200),
});

interface RuleRow { code: string; position: number; title: string; text: string; category: string; adopted_at: Date }
interface AmendmentRow {
  id: string; rule_code: string | null; title: string; text: string; rationale: string | null;
  proposed_by: string; status: string; created_at: Date;
}

const toRule = (r: RuleRow) => ({ code: r.code, position: r.position, title: r.title, text: r.text, category: r.category, adoptedAt: r.adopted_at.toISOString() });
const toAmendment = (r: AmendmentRow) => ({
  id: r.id, ruleCode: r.rule_code, title: r.title, text: r.text, rationale: r.rationale,
  proposedBy: r.proposed_by, status: r.status, createdAt: r.created_at.toISOString(),
});

export default defineService({
  migrations: [
    {
      id: '001-rules',
      sql: `CREATE TABLE rules (
        code text PRIMARY KEY,
        position int NOT NULL UNIQUE,
        title text NOT NULL,
        text text NOT NULL,
        category text NOT NULL,
        adopted_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO rules (code, position, title, text, category) VALUES
      ${CONSTITUTION.map((r, i) => `(${literal(r.code)}, ${i + 1}, ${literal(r.title)}, ${literal(r.text)}, ${literal(r.category)})`).join(',\n      ')};`,
    },
    {
      id: '002-amendments',
      sql: `CREATE TABLE amendments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        rule_code text REFERENCES rules (code),
        title text NOT NULL,
        text text NOT NULL,
        rationale text,
        proposed_by text NOT NULL,
        status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'ratified', 'rejected')),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX amendments_created_at ON amendments (created_at DESC, id DESC);`,
    },
  ],

  routes(router, { db }) {
    router.get('/constitution', async (_req, res) => {
      const { rows } = await db.query<RuleRow>('SELECT * FROM rules ORDER BY position');
      res.json({ name: 'N3XUS COS v3.0 Constitution', rules: rows.map(toRule) });
    });

    router.get('/rules/:code', async (req, res) => {
      const code = req.params.code.toUpperCase();
      if (!RULE_CODE.test(code)) throw new HttpError(400, 'INVALID_RULE_CODE', 'A rule code is letters, digits and dashes, such as ART-2-ZERO-TRUST.');
      const { rows } = await db.query<RuleRow>('SELECT * FROM rules WHERE code = $1', [code]);
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No rule with code ${code}.`);
      res.json(toRule(rows[0]));
    });

    // A proposal is only stored: ratification is a governance act outside this API's scope.
    router.post('/amendments', async (req, res) => {
      const body = amendmentBody.parse(bodyOf(req.body));
      const ruleCode = body.ruleCode ?? null;
      if (ruleCode) {
        const known = await db.query('SELECT 1 FROM rules WHERE code = $1', [ruleCode]);
        if (!known.rowCount) throw new HttpError(422, 'UNKNOWN_RULE', `No rule with code ${ruleCode} to amend.`);
      }
      const { rows } = await db.query<AmendmentRow>(
        'INSERT INTO amendments (rule_code, title, text, rationale, proposed_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [ruleCode, body.title, body.text, body.rationale ?? null, body.proposedBy],
      );
      const amendment = toAmendment(rows[0]!);
      res.status(201).location(`${req.baseUrl}/amendments/${amendment.id}`).json(amendment);
    });

    router.get('/amendments', async (req, res) => {
      const limit = boundedInt(req.query.limit, 20, 1, 100, 'limit');
      const offset = boundedInt(req.query.offset, 0, 0, 1_000_000, 'offset');
      const { rows } = await db.query<AmendmentRow>('SELECT * FROM amendments ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2', [limit, offset]);
      res.json({ items: rows.map(toAmendment), limit, offset });
    });

    router.get('/amendments/:id', async (req, res) => {
      const { id } = req.params;
      if (!UUID.test(id)) throw new HttpError(404, 'NOT_FOUND', `No amendment with id ${JSON.stringify(id)}.`);
      const { rows } = await db.query<AmendmentRow>('SELECT * FROM amendments WHERE id = $1', [id]);
      if (!rows[0]) throw new HttpError(404, 'NOT_FOUND', `No amendment with id ${JSON.stringify(id)}.`);
      res.json(toAmendment(rows[0]));
    });
  },
});
