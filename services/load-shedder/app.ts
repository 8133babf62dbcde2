import { defineService, f } from '@n3xus/kit';

/**
 * load-shedder: Load shedding rules.
 * Its records live in its own schema and are served at /v1/rules.
 */
export default defineService({
  resources: {
    rules: { service: f.text(), maxInFlight: f.count(), shedPriorityBelow: f.count() },
  },
});
