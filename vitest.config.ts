import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The kit of this checkout: node_modules may be shared with another worktree (a symlink), whose @n3xus/kit link
  // would resolve to that worktree's kit.
  resolve: { alias: { '@n3xus/kit': fileURLToPath(new URL('./services/_kit/src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers (PostgreSQL, Redis, Docker) are shared per file; files run in parallel on the 2 cores.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
