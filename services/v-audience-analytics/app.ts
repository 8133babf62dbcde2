import { defineService, f } from '@n3xus/kit';

/**
 * v-audience-analytics: Audience insights.
 * Its records live in its own schema and are served at /v1/segments.
 */
export default defineService({
  resources: {
    segments: { name: f.text(), criteria: f.longText(), size: f.count() },
  },
});
