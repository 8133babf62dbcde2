import { defineService, f } from '@n3xus/kit';

/**
 * search-index: Search documents and queries.
 * Its records live in its own schema and are served at /v1/documents.
 */
export default defineService({
  resources: {
    documents: { title: f.text(), body: f.longText(), tags: f.list() },
  },
});
