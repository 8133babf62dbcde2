import { defineService, f } from '@n3xus/kit';

/**
 * puabo-social-community: Communities and membership.
 * Its records live in its own schema and are served at /v1/communities, /v1/memberships.
 */
export default defineService({
  resources: {
    communities: { name: f.text(), description: f.longText().optional(), ownerDid: f.text() },
    memberships: { communityName: f.text(), memberDid: f.text(), role: f.oneOf('member', 'moderator', 'owner') },
  },
});
