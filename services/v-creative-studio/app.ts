import { defineService, f } from '@n3xus/kit';

/**
 * v-creative-studio: Content creation projects.
 * Its records live in its own schema and are served at /v1/projects.
 */
export default defineService({
  resources: {
    projects: {
      title: f.text(),
      ownerDid: f.text(),
      kind: f.oneOf('video', 'audio', 'image', 'mixed'),
      status: f.oneOf('draft', 'in-progress', 'done'),
    },
  },
});
