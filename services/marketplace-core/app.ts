import { defineService, f } from '@n3xus/kit';

/**
 * marketplace-core: Listings and offers of the marketplace.
 * Its records live in its own schema and are served at /v1/listings.
 */
export default defineService({
  resources: {
    listings: {
      title: f.text(),
      sellerDid: f.text(),
      priceMinor: f.count(),
      currency: f.text(),
      status: f.oneOf('draft', 'live', 'sold', 'withdrawn'),
    },
  },
});
