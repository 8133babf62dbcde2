import { defineService, f } from '@n3xus/kit';

/**
 * puabo-dsp-platform: Digital Service Provider: releases and catalogue.
 * Its records live in its own schema and are served at /v1/releases.
 */
export default defineService({
  resources: {
    releases: {
      title: f.text(),
      artist: f.text(),
      upc: f.text().optional(),
      releaseDate: f.timestamp().optional(),
      status: f.oneOf('draft', 'scheduled', 'live', 'taken-down'),
    },
  },
});
