import { defineService, f } from '@n3xus/kit';

/**
 * puabo-dsp-ingest: DSP delivery ingest.
 * Its records live in its own schema and are served at /v1/deliveries.
 */
export default defineService({
  resources: {
    deliveries: {
      releaseTitle: f.text(),
      source: f.text(),
      files: f.count(),
      status: f.oneOf('received', 'validated', 'rejected'),
    },
  },
});
