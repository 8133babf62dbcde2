import { defineService, f } from '@n3xus/kit';

/**
 * api-docs: API documentation pages.
 * Its records live in its own schema and are served at /v1/pages.
 */
export default defineService({
  resources: {
    pages: { service: f.text(), title: f.text(), body: f.longText(), version: f.text() },
  },
});
