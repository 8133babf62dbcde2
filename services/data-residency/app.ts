import { defineService, f } from '@n3xus/kit';

/**
 * data-residency: Where each tenant's data may live.
 * Its records live in its own schema and are served at /v1/rules.
 */
export default defineService({
  resources: {
    rules: { tenant: f.text(), region: f.oneOf('eu', 'us', 'uk', 'apac', 'latam'), dataClass: f.text() },
  },
});
