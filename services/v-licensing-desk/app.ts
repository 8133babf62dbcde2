import { defineService, f } from '@n3xus/kit';

/**
 * v-licensing-desk: Licence requests for V-Suite content.
 * Its records live in its own schema and are served at /v1/requests.
 */
export default defineService({
  resources: {
    requests: {
      workId: f.text(),
      requester: f.text(),
      use: f.longText(),
      status: f.oneOf('requested', 'granted', 'denied'),
    },
  },
});
