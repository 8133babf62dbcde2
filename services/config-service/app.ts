import { defineService, f } from '@n3xus/kit';

/**
 * config-service: Configuration entries.
 * Its records live in its own schema and are served at /v1/entries.
 */
export default defineService({
  resources: {
    entries: { namespace: f.text(), key: f.text(), value: f.longText() },
  },
});
