import { defineService, f } from '@n3xus/kit';

/**
 * treasury-service: Platform treasury accounts and balances.
 * Its records live in its own schema and are served at /v1/accounts.
 */
export default defineService({
  resources: {
    accounts: { name: f.text(), currency: f.text(), balanceMinor: f.count(), owner: f.text() },
  },
});
