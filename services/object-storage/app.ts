import { defineService, f } from '@n3xus/kit';

/**
 * object-storage: Buckets and objects.
 * Its records live in its own schema and are served at /v1/buckets, /v1/objects.
 */
export default defineService({
  resources: {
    buckets: { name: f.text(), region: f.text(), versioning: f.flag() },
    objects: { bucket: f.text(), key: f.text(), sizeBytes: f.count(), etag: f.text().optional() },
  },
});
