import { defineService, f } from '@n3xus/kit';

/**
 * aml-screening: Anti-money-laundering screening.
 * Its records live in its own schema and are served at /v1/screenings.
 */
export default defineService({
  resources: {
    screenings: { subject: f.text(), lists: f.list(), hit: f.flag() },
  },
});
