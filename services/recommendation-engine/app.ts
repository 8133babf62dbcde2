import { defineService, f } from '@n3xus/kit';

/**
 * recommendation-engine: Recommendations for users.
 * Its records live in its own schema and are served at /v1/recommendations.
 */
export default defineService({
  resources: {
    recommendations: { userDid: f.text(), items: f.list(), strategy: f.text() },
  },
});
