import { defineService, f } from '@n3xus/kit';

/**
 * model-registry: Registered ML models and versions.
 * Its records live in its own schema and are served at /v1/models.
 */
export default defineService({
  resources: {
    models: {
      name: f.text(),
      version: f.text(),
      framework: f.oneOf('pytorch', 'tensorflow', 'onnx', 'sklearn', 'xgboost'),
      stage: f.oneOf('staging', 'production', 'archived'),
    },
  },
});
