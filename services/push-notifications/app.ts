import { defineService, f } from '@n3xus/kit';

/**
 * push-notifications: Push notifications to devices.
 * Its records live in its own schema and are served at /v1/devices, /v1/notifications.
 */
export default defineService({
  resources: {
    devices: { userDid: f.text(), platform: f.oneOf('ios', 'android', 'web'), token: f.text() },
    notifications: { userDid: f.text(), title: f.text(), body: f.text() },
  },
});
