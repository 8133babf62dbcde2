import { defineService, f } from '@n3xus/kit';

/**
 * governance-ledger: Append-only ledger of governance decisions.
 * Its records live in its own schema and are served at /v1/decisions.
 */
export default defineService({
  resources: {
    decisions: {
      title: f.text(),
      outcome: f.oneOf('approved', 'rejected', 'deferred'),
      ruleCode: f.text().optional(),
      decidedBy: f.text(),
    },
  },
});
