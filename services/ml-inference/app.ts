import { defineService, f } from '@n3xus/kit';

/**
 * ml-inference: Inference endpoints.
 * Its records live in its own schema and are served at /v1/endpoints.
 */
export default defineService({
  resources: {
    endpoints: { name: f.text(), model: f.text(), version: f.text(), replicas: f.count() },
  },
});
