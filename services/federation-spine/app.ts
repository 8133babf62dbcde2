import { defineService, f } from '@n3xus/kit';

/**
 * federation-spine: Coordinates cross-platform interactions.
 * Its records live in its own schema and are served at /v1/federations, /v1/interactions.
 */
export default defineService({
  resources: {
    federations: { name: f.text(), platforms: f.list(), status: f.oneOf('forming', 'active', 'suspended') },
    interactions: { federationName: f.text(), fromPlatform: f.text(), toPlatform: f.text(), kind: f.text() },
  },
});
