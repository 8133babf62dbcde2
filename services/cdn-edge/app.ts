import { defineService, f } from '@n3xus/kit';

/**
 * cdn-edge: CDN edge routes.
 * Its records live in its own schema and are served at /v1/routes.
 */
export default defineService({
  resources: {
    routes: { host: f.text(), pathPrefix: f.text(), origin: f.text(), ttlSeconds: f.count() },
  },
});
