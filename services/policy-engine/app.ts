import { defineService, f } from '@n3xus/kit';

/**
 * policy-engine: Evaluates access and usage policies.
 * Its records live in its own schema and are served at /v1/policies.
 */
export default defineService({
  resources: {
    policies: {
      name: f.text(),
      effect: f.oneOf('allow', 'deny'),
      subject: f.text(),
      action: f.text(),
      resource: f.text(),
      priority: f.count(),
    },
  },
});
