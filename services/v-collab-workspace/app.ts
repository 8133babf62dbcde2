import { defineService, f } from '@n3xus/kit';

/**
 * v-collab-workspace: Collaboration sessions on projects.
 * Its records live in its own schema and are served at /v1/sessions.
 */
export default defineService({
  resources: {
    sessions: { projectId: f.text(), participants: f.list(), startedBy: f.text() },
  },
});
