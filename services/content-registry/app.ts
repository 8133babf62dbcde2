import { defineService, f } from '@n3xus/kit';

/**
 * content-registry: Registry of content works and their owners.
 * Its records live in its own schema and are served at /v1/works.
 */
export default defineService({
  resources: {
    works: {
      title: f.text(),
      kind: f.oneOf('audio', 'video', 'image', 'text', 'software'),
      ownerDid: f.text(),
      isrc: f.text().optional(),
    },
  },
});
