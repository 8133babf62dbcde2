import { defineService, f } from '@n3xus/kit';

/**
 * secrets-vault: Secret metadata and rotation.
 * Its records live in its own schema and are served at /v1/secrets.
 */
export default defineService({
  resources: {
    secrets: { name: f.text(), owner: f.text(), rotateEveryDays: f.count(), lastRotatedAt: f.timestamp().optional() },
  },
});
