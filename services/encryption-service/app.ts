import { defineService, f } from '@n3xus/kit';

/**
 * encryption-service: Encryption keys metadata.
 * Its records live in its own schema and are served at /v1/keys.
 */
export default defineService({
  resources: {
    keys: {
      alias: f.text(),
      algorithm: f.oneOf('aes-256-gcm', 'chacha20-poly1305', 'rsa-4096', 'ed25519'),
      state: f.oneOf('enabled', 'disabled', 'pending-deletion'),
    },
  },
});
