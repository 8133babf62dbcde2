import { defineService, f } from '@n3xus/kit';

/**
 * content-moderation: Moderation cases.
 * Its records live in its own schema and are served at /v1/cases.
 */
export default defineService({
  resources: {
    cases: { contentRef: f.text(), reason: f.text(), status: f.oneOf('open', 'actioned', 'dismissed') },
  },
});
