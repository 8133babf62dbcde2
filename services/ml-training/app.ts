import { defineService, f } from '@n3xus/kit';

/**
 * ml-training: Model training runs.
 * Its records live in its own schema and are served at /v1/runs.
 */
export default defineService({
  resources: {
    runs: {
      model: f.text(),
      dataset: f.text(),
      epochs: f.count(),
      status: f.oneOf('queued', 'running', 'succeeded', 'failed'),
    },
  },
});
