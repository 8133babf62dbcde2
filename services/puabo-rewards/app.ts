import { defineService, f } from '@n3xus/kit';

/**
 * puabo-rewards: Loyalty points and rewards.
 * Its records live in its own schema and are served at /v1/rewards.
 */
export default defineService({
  resources: {
    rewards: { memberDid: f.text(), points: f.count(), reason: f.text() },
  },
});
