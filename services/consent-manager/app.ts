import { defineService, f } from '@n3xus/kit';

/**
 * consent-manager: User consents and their withdrawal.
 * Its records live in its own schema and are served at /v1/consents.
 */
export default defineService({
  resources: {
    consents: { userDid: f.text(), purpose: f.text(), granted: f.flag(), source: f.text().optional() },
  },
});
