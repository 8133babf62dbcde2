import { defineService, f } from '@n3xus/kit';

/**
 * backup-service: Backup jobs.
 * Its records live in its own schema and are served at /v1/backups.
 */
export default defineService({
  resources: {
    backups: {
      target: f.text(),
      kind: f.oneOf('full', 'incremental'),
      status: f.oneOf('scheduled', 'running', 'completed', 'failed'),
    },
  },
});
