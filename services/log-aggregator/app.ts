import { defineService, f } from '@n3xus/kit';

/**
 * log-aggregator: Aggregated log entries.
 * Its records live in its own schema and are served at /v1/entries.
 */
export default defineService({
  resources: {
    entries: { source: f.text(), level: f.oneOf('debug', 'info', 'warn', 'error', 'fatal'), message: f.longText() },
  },
});
