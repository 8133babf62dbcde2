import { defineService, f } from '@n3xus/kit';

/**
 * sandbox-service: Developer sandboxes.
 * Its records live in its own schema and are served at /v1/sandboxes.
 */
export default defineService({
  resources: {
    sandboxes: { owner: f.text(), name: f.text(), expiresAt: f.timestamp().optional() },
  },
});
