import { defineService, f } from '@n3xus/kit';

/**
 * v-caption-service: Captions and subtitles.
 * Its records live in its own schema and are served at /v1/captions.
 */
export default defineService({
  resources: {
    captions: { workId: f.text(), language: f.text(), format: f.oneOf('srt', 'vtt', 'ttml'), body: f.longText() },
  },
});
