import { defineService, f } from '@n3xus/kit';

/**
 * payment-rails: Payment instructions and settlement.
 * Its records live in its own schema and are served at /v1/payments.
 */
export default defineService({
  resources: {
    payments: {
      fromAccount: f.text(),
      toAccount: f.text(),
      amountMinor: f.count(),
      currency: f.text(),
      status: f.oneOf('initiated', 'settled', 'failed'),
    },
  },
});
