import { defineService, f } from '@n3xus/kit';

/**
 * threat-intel: Threat indicators.
 * Its records live in its own schema and are served at /v1/indicators.
 */
export default defineService({
  resources: {
    indicators: {
      kind: f.oneOf('ip', 'domain', 'hash', 'url'),
      value: f.text(),
      severity: f.oneOf('low', 'medium', 'high', 'critical'),
    },
  },
});
