import { defineService, f } from '@n3xus/kit';

/**
 * puabo-blac-creator-hub: BLAC creator hub: creator profiles.
 * Its records live in its own schema and are served at /v1/creators.
 */
export default defineService({
  resources: {
    creators: { handle: f.text(), displayName: f.text(), did: f.text().optional(), verified: f.flag() },
  },
});
