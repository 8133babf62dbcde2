import { defineService, f } from '@n3xus/kit';

/**
 * v-asset-library: Media asset library.
 * Its records live in its own schema and are served at /v1/assets.
 */
export default defineService({
  resources: {
    assets: { name: f.text(), uri: f.text(), mediaType: f.text(), sizeBytes: f.count() },
  },
});
