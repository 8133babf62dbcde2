import { defineService, f } from '@n3xus/kit';

/**
 * metrics-collector: Collected metric samples.
 * Its records live in its own schema and are served at /v1/samples.
 */
export default defineService({
  resources: {
    samples: { metric: f.text(), value: f.number(), labels: f.list() },
  },
});
