import { defineService, f } from '@n3xus/kit';

/**
 * trace-collector: Collected traces.
 * Its records live in its own schema and are served at /v1/spans.
 */
export default defineService({
  resources: {
    spans: { traceId: f.text(), name: f.text(), service: f.text(), durationMs: f.number() },
  },
});
