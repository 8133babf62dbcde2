import { defineService, f } from '@n3xus/kit';

/**
 * sentiment-analysis: Sentiment of texts.
 * Its records live in its own schema and are served at /v1/analyses.
 */
export default defineService({
  resources: {
    analyses: { text: f.longText(), label: f.oneOf('positive', 'neutral', 'negative'), confidence: f.number() },
  },
});
