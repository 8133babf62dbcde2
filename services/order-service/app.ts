import { defineService, f } from '@n3xus/kit';

/**
 * order-service: Orders and their lifecycle.
 * Its records live in its own schema and are served at /v1/orders.
 */
export default defineService({
  resources: {
    orders: {
      listingId: f.text(),
      buyerDid: f.text(),
      quantity: f.count(),
      status: f.oneOf('placed', 'paid', 'fulfilled', 'cancelled'),
    },
  },
});
