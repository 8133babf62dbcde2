import { defineService, f } from '@n3xus/kit';

/**
 * puabo-analytics-insights: Creator and audience insights.
 * Its records live in its own schema and are served at /v1/insights.
 */
export default defineService({
  resources: {
    insights: { subject: f.text(), metric: f.text(), value: f.number(), period: f.text() },
  },
});
