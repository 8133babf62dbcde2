import { defineService, f } from '@n3xus/kit';

/**
 * puabo-social-messaging: Direct messages between members.
 * Its records live in its own schema and are served at /v1/messages.
 */
export default defineService({
  resources: {
    messages: { fromDid: f.text(), toDid: f.text(), body: f.longText() },
  },
});
