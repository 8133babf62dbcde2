import { defineService, f } from '@n3xus/kit';

/**
 * v-live-broadcast: Live broadcast sessions.
 * Its records live in its own schema and are served at /v1/broadcasts.
 */
export default defineService({
  resources: {
    broadcasts: {
      title: f.text(),
      hostDid: f.text(),
      status: f.oneOf('scheduled', 'live', 'ended'),
      startsAt: f.timestamp().optional(),
    },
  },
});
