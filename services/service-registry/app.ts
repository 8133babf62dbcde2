import { defineService, f } from '@n3xus/kit';

/**
 * service-registry: Service instances and endpoints.
 * Its records live in its own schema and are served at /v1/instances.
 */
export default defineService({
  resources: {
    instances: { service: f.text(), endpoint: f.text(), version: f.text(), healthy: f.flag() },
  },
});
