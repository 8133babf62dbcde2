import { defineService, f } from '@n3xus/kit';

/**
 * feature-flags: Feature flags for gradual rollouts.
 * Its records live in its own schema and are served at /v1/flags.
 */
export default defineService({
  resources: {
    flags: { key: f.text(), enabled: f.flag(), rolloutPercent: f.count(), description: f.longText().optional() },
  },
});
