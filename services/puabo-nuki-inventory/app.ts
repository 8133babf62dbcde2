import { defineService, f } from '@n3xus/kit';

/**
 * puabo-nuki-inventory: NUKI inventory management.
 * Its records live in its own schema and are served at /v1/items.
 */
export default defineService({
  resources: {
    items: { sku: f.text(), name: f.text(), quantity: f.count(), location: f.text().optional() },
  },
});
