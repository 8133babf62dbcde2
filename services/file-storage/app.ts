import { defineService, f } from '@n3xus/kit';

/**
 * file-storage: File records.
 * Its records live in its own schema and are served at /v1/files.
 */
export default defineService({
  resources: {
    files: { name: f.text(), ownerDid: f.text(), sizeBytes: f.count(), contentType: f.text() },
  },
});
