import { defineService, f } from '@n3xus/kit';

/**
 * fraud-detection: Fraud scoring of transactions.
 * Its records live in its own schema and are served at /v1/scores.
 */
export default defineService({
  resources: {
    scores: { transactionId: f.text(), score: f.number(), decision: f.oneOf('approve', 'review', 'decline') },
  },
});
