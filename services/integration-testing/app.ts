import { defineService, f } from '@n3xus/kit';

/**
 * integration-testing: Integration test runs.
 * Its records live in its own schema and are served at /v1/runs.
 */
export default defineService({
  resources: {
    runs: {
      suite: f.text(),
      status: f.oneOf('queued', 'running', 'passed', 'failed'),
      passed: f.count(),
      failed: f.count(),
    },
  },
});
