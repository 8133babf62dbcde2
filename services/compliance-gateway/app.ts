import { defineService, f } from '@n3xus/kit';

/**
 * compliance-gateway: Front door of the compliance layer.
 * Its records live in its own schema and are served at /v1/checks.
 */
export default defineService({
  resources: {
    checks: {
      subject: f.text(),
      regime: f.oneOf('gdpr', 'ccpa', 'dsa', 'pci-dss', 'sox'),
      result: f.oneOf('pass', 'fail', 'review'),
    },
  },
});
