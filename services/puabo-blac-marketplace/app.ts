import { defineService, f } from '@n3xus/kit';

/**
 * puabo-blac-marketplace: BLAC marketplace for creators.
 * Its records live in its own schema and are served at /v1/offers.
 */
export default defineService({
  resources: {
    offers: { creatorHandle: f.text(), item: f.text(), priceMinor: f.count(), currency: f.text() },
  },
});
