import { defineService, f } from '@n3xus/kit';

/**
 * queue-service: Work queues.
 * Its records live in its own schema and are served at /v1/queues, /v1/messages.
 */
export default defineService({
  resources: {
    queues: { name: f.text(), maxLength: f.count(), deadLetter: f.text().optional() },
    messages: { queue: f.text(), body: f.longText(), priority: f.count() },
  },
});
