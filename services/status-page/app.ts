import { defineService, f } from '@n3xus/kit';

/**
 * status-page: Public status incidents.
 * Its records live in its own schema and are served at /v1/incidents.
 */
export default defineService({
  resources: {
    incidents: {
      title: f.text(),
      status: f.oneOf('investigating', 'identified', 'monitoring', 'resolved'),
      impact: f.oneOf('none', 'minor', 'major', 'critical'),
    },
  },
});
