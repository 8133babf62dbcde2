import { defineService, f } from '@n3xus/kit';

/**
 * puabo-analytics-dashboard: Saved analytics dashboards.
 * Its records live in its own schema and are served at /v1/dashboards.
 */
export default defineService({
  resources: {
    dashboards: { name: f.text(), ownerDid: f.text(), widgets: f.list() },
  },
});
