import { defineService, f } from '@n3xus/kit';

/**
 * in-app-messaging: In-app messages.
 * Its records live in its own schema and are served at /v1/messages.
 */
export default defineService({
  resources: {
    messages: { userDid: f.text(), title: f.text(), body: f.longText(), read: f.flag() },
  },
});
