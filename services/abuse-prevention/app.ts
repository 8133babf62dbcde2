import { defineService, f } from '@n3xus/kit';

/**
 * abuse-prevention: Abuse reports and blocks.
 * Its records live in its own schema and are served at /v1/reports.
 */
export default defineService({
  resources: {
    reports: {
      reporter: f.text(),
      subject: f.text(),
      category: f.oneOf('spam', 'harassment', 'fraud', 'other'),
      blocked: f.flag(),
    },
  },
});
