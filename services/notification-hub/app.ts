import { defineService, f } from '@n3xus/kit';

/**
 * notification-hub: User notification preferences and inbox.
 * Its records live in its own schema and are served at /v1/preferences, /v1/inbox.
 */
export default defineService({
  resources: {
    preferences: { userDid: f.text(), channel: f.oneOf('email', 'sms', 'push', 'in-app'), enabled: f.flag() },
    inbox: { userDid: f.text(), title: f.text(), body: f.longText(), read: f.flag() },
  },
});
