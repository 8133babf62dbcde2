import { defineService, f } from '@n3xus/kit';

/**
 * puabo-blac-storefront: BLAC creator storefronts.
 * Its records live in its own schema and are served at /v1/storefronts.
 */
export default defineService({
  resources: {
    storefronts: { creatorHandle: f.text(), title: f.text(), theme: f.text().optional(), published: f.flag() },
  },
});
