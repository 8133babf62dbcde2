import { defineService, f } from '@n3xus/kit';

/**
 * cache-manager: Cache policies.
 * Its records live in its own schema and are served at /v1/policies.
 */
export default defineService({
  resources: {
    policies: { keyPattern: f.text(), ttlSeconds: f.count(), maxEntries: f.count().optional() },
  },
});
