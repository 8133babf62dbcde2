import { defineService, f } from '@n3xus/kit';

/**
 * puabo-nuki-ledger: NUKI royalty ledger entries.
 * Its records live in its own schema and are served at /v1/entries.
 */
export default defineService({
  resources: {
    entries: { account: f.text(), amountMinor: f.number(), currency: f.text(), memo: f.text().optional() },
  },
});
