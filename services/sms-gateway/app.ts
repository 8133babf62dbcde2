import { defineService, f } from '@n3xus/kit';

/**
 * sms-gateway: Outgoing SMS.
 * Its records live in its own schema and are served at /v1/messages.
 */
export default defineService({
  resources: {
    messages: { to: f.text(), body: f.text(), status: f.oneOf('queued', 'sent', 'failed') },
  },
});
