import { defineService, f } from '@n3xus/kit';

/**
 * feature-store: ML feature values.
 * Its records live in its own schema and are served at /v1/features.
 */
export default defineService({
  resources: {
    features: { entity: f.text(), name: f.text(), value: f.number(), asOf: f.timestamp().optional() },
  },
});
