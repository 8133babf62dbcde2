import { defineService, f } from '@n3xus/kit';

/**
 * puabo-dsp-metadata: DSP metadata management.
 * Its records live in its own schema and are served at /v1/tracks.
 */
export default defineService({
  resources: {
    tracks: {
      title: f.text(),
      artist: f.text(),
      isrc: f.text().optional(),
      durationSeconds: f.count(),
      genre: f.text().optional(),
    },
  },
});
