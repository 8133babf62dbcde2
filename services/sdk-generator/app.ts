import { defineService, f } from '@n3xus/kit';

/**
 * sdk-generator: SDK generation jobs.
 * Its records live in its own schema and are served at /v1/jobs.
 */
export default defineService({
  resources: {
    jobs: {
      language: f.oneOf('typescript', 'python', 'go', 'java', 'rust'),
      specVersion: f.text(),
      status: f.oneOf('queued', 'running', 'done', 'failed'),
    },
  },
});
