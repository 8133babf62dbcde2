import { defineService, f } from '@n3xus/kit';

/**
 * template-renderer: Message templates.
 * Its records live in its own schema and are served at /v1/templates.
 */
export default defineService({
  resources: {
    templates: { name: f.text(), channel: f.oneOf('email', 'sms', 'push', 'in-app'), body: f.longText() },
  },
});
