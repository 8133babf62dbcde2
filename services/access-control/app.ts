import { defineService, f } from '@n3xus/kit';

/**
 * access-control: Roles and grants.
 * Its records live in its own schema and are served at /v1/grants.
 */
export default defineService({
  resources: {
    grants: { principal: f.text(), role: f.text(), scope: f.text() },
  },
});
