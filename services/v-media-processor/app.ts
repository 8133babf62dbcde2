import { defineService, f } from '@n3xus/kit';

/**
 * v-media-processor: Video and audio processing jobs.
 * Its records live in its own schema and are served at /v1/jobs.
 */
export default defineService({
  resources: {
    jobs: {
      sourceUri: f.text(),
      operation: f.oneOf('trim', 'normalize', 'thumbnail', 'watermark'),
      status: f.oneOf('queued', 'running', 'done', 'failed'),
    },
  },
});
