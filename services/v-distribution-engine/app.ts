import { defineService, f } from '@n3xus/kit';

/**
 * v-distribution-engine: Multi-platform content distribution.
 * Its records live in its own schema and are served at /v1/distributions.
 */
export default defineService({
  resources: {
    distributions: { workId: f.text(), platform: f.text(), status: f.oneOf('pending', 'delivered', 'failed') },
  },
});
