import { defineService, f } from '@n3xus/kit';

/**
 * v-rights-manager: Intellectual property rights.
 * Its records live in its own schema and are served at /v1/rights.
 */
export default defineService({
  resources: {
    rights: {
      workId: f.text(),
      holder: f.text(),
      right: f.oneOf('reproduction', 'distribution', 'performance', 'adaptation'),
      territory: f.text(),
    },
  },
});
