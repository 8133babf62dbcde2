import { defineService, f } from '@n3xus/kit';

/**
 * api-gateway: Developer API keys and routes.
 * Its records live in its own schema and are served at /v1/api-keys, /v1/routes.
 */
export default defineService({
  resources: {
    api_keys: { owner: f.text(), label: f.text(), scopes: f.list(), revoked: f.flag() },
    routes: { path: f.text(), upstream: f.text(), methods: f.list() },
  },
});
