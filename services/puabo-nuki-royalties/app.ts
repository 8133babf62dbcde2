import { defineService, f } from '@n3xus/kit';

/**
 * puabo-nuki-royalties: NUKI royalty distribution.
 * Its records live in its own schema and are served at /v1/splits, /v1/payouts.
 */
export default defineService({
  resources: {
    splits: { workId: f.text(), payee: f.text(), basisPoints: f.count() },
    payouts: { payee: f.text(), amountMinor: f.count(), currency: f.text(), period: f.text() },
  },
});
