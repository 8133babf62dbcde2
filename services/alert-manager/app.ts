import { defineService, f } from '@n3xus/kit';

/**
 * alert-manager: Alerts and silences.
 * Its records live in its own schema and are served at /v1/alerts, /v1/silences.
 */
export default defineService({
  resources: {
    alerts: {
      name: f.text(),
      severity: f.oneOf('info', 'warning', 'critical'),
      state: f.oneOf('firing', 'resolved', 'silenced'),
    },
    silences: { matcher: f.text(), until: f.timestamp(), createdBy: f.text() },
  },
});
