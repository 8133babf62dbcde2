import { defineService, f } from '@n3xus/kit';

/**
 * v-performance-metrics: Content performance metrics.
 * Its records live in its own schema and are served at /v1/metrics.
 */
export default defineService({
  resources: {
    metrics: {
      workId: f.text(),
      metric: f.oneOf('views', 'plays', 'watch-seconds', 'shares'),
      value: f.number(),
      period: f.text(),
    },
  },
});
