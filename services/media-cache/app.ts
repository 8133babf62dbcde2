import { defineService, f } from '@n3xus/kit';

/**
 * media-cache: Media cache entries.
 * Its records live in its own schema and are served at /v1/entries.
 */
export default defineService({
  resources: {
    entries: { uri: f.text(), variant: f.text(), sizeBytes: f.count(), hits: f.count() },
  },
});
