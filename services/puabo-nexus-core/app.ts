import { defineService, f } from '@n3xus/kit';

/**
 * puabo-nexus-core: Central PUABO platform coordination.
 * Its records live in its own schema and are served at /v1/platforms.
 */
export default defineService({
  resources: {
    platforms: {
      name: f.text(),
      kind: f.oneOf('dsp', 'blac', 'nuki', 'social', 'analytics'),
      status: f.oneOf('active', 'paused'),
    },
  },
});
