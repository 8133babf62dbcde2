import { defineService, f } from '@n3xus/kit';

/**
 * kyc-verification: Know-your-customer checks.
 * Its records live in its own schema and are served at /v1/verifications.
 */
export default defineService({
  resources: {
    verifications: {
      subjectDid: f.text(),
      level: f.oneOf('basic', 'standard', 'enhanced'),
      status: f.oneOf('pending', 'verified', 'rejected'),
    },
  },
});
