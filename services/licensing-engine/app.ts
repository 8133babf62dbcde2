import { defineService, f } from '@n3xus/kit';

/**
 * licensing-engine: Issues and checks content licences.
 * Its records live in its own schema and are served at /v1/licences.
 */
export default defineService({
  resources: {
    licences: {
      workId: f.text(),
      licensee: f.text(),
      terms: f.longText(),
      territory: f.text(),
      expiresAt: f.timestamp().optional(),
    },
  },
});
