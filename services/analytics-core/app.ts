import { defineService, f } from '@n3xus/kit';

/**
 * analytics-core: Core analytics events and reports.
 * Its records live in its own schema and are served at /v1/events, /v1/reports.
 */
export default defineService({
  resources: {
    events: { name: f.text(), subject: f.text(), value: f.number().optional() },
    reports: { name: f.text(), query: f.longText() },
  },
});
