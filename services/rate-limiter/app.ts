import { defineService, f } from '@n3xus/kit';

/**
 * rate-limiter: Rate limit policies.
 * Its records live in its own schema and are served at /v1/limits.
 */
export default defineService({
  resources: {
    limits: { scope: f.text(), requestsPerMinute: f.count(), burst: f.count() },
  },
});
