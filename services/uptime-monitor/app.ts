import { defineService, f } from '@n3xus/kit';

/**
 * uptime-monitor: Uptime checks.
 * Its records live in its own schema and are served at /v1/checks.
 */
export default defineService({
  resources: {
    checks: { name: f.text(), target: f.text(), intervalSeconds: f.count(), up: f.flag() },
  },
});
