import { defineService, f } from '@n3xus/kit';

/**
 * email-service: Outgoing email.
 * Its records live in its own schema and are served at /v1/emails.
 */
export default defineService({
  resources: {
    emails: {
      to: f.text(),
      subject: f.text(),
      body: f.longText(),
      template: f.text().optional(),
      status: f.oneOf('queued', 'sent', 'bounced'),
    },
  },
});
