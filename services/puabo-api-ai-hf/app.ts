import { defineService, f } from '@n3xus/kit';

/**
 * puabo-api-ai-hf: AI gateway with HuggingFace integration readiness.
 * Its records live in its own schema and are served at /v1/models, /v1/inference-requests.
 */
export default defineService({
  resources: {
    models: {
      repoId: f.text(),
      task: f.oneOf('text-generation', 'text-classification', 'summarization', 'translation', 'embeddings'),
      revision: f.text().optional(),
      enabled: f.flag(),
    },
    inference_requests: { modelRepoId: f.text(), input: f.longText(), maxTokens: f.count().optional() },
  },
});
