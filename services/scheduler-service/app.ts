import { defineService, f } from '@n3xus/kit';

/**
 * scheduler-service: Scheduled jobs.
 * Its records live in its own schema and are served at /v1/jobs.
 */
export default defineService({
  resources: {
    jobs: { name: f.text(), cron: f.text(), target: f.text(), enabled: f.flag() },
  },
});
