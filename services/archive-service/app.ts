import { defineService, f } from '@n3xus/kit';

/**
 * archive-service: Archived records.
 * Its records live in its own schema and are served at /v1/archives.
 */
export default defineService({
  resources: {
    archives: { source: f.text(), reference: f.text(), retentionDays: f.count() },
  },
});
