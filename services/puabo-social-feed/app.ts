import { defineService, f } from '@n3xus/kit';

/**
 * puabo-social-feed: Community activity feed.
 * Its records live in its own schema and are served at /v1/posts.
 */
export default defineService({
  resources: {
    posts: { authorDid: f.text(), body: f.longText(), visibility: f.oneOf('public', 'followers', 'private') },
  },
});
