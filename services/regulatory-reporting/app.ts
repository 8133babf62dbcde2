import { defineService, f } from '@n3xus/kit';

/**
 * regulatory-reporting: Regulatory filings and their status.
 * Its records live in its own schema and are served at /v1/filings.
 */
export default defineService({
  resources: {
    filings: {
      regulator: f.text(),
      period: f.text(),
      status: f.oneOf('draft', 'filed', 'accepted', 'rejected'),
      reference: f.text().optional(),
    },
  },
});
