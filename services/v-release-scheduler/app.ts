import { defineService, f } from '@n3xus/kit';

/**
 * v-release-scheduler: Scheduled releases.
 * Its records live in its own schema and are served at /v1/schedules.
 */
export default defineService({
  resources: {
    schedules: { workId: f.text(), platform: f.text(), releaseAt: f.timestamp() },
  },
});
