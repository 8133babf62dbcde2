import { defineService, f } from '@n3xus/kit';

/**
 * v-transcoder: Transcoding profiles and jobs.
 * Its records live in its own schema and are served at /v1/profiles, /v1/transcodes.
 */
export default defineService({
  resources: {
    profiles: { name: f.text(), codec: f.oneOf('h264', 'h265', 'vp9', 'av1', 'aac', 'opus'), bitrateKbps: f.count() },
    transcodes: { sourceUri: f.text(), profileName: f.text(), status: f.oneOf('queued', 'running', 'done', 'failed') },
  },
});
