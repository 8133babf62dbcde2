import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const DOCKERODE = { name: 'dockerode', message: 'Import the engine through src/docker/engine.ts.' };
const UNDICI = { name: 'undici', message: 'Make HTTP requests through src/http/client.ts.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'oclif.manifest.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // One door to each outside thing: only src/docker/engine.ts imports dockerode, only src/http/client.ts undici.
  // (The same rule in two blocks would override, not add up, so each door gets its own block.)
  ...[
    { door: undefined, paths: [DOCKERODE, UNDICI] },
    { door: 'src/docker/engine.ts', paths: [UNDICI] },
    { door: 'src/http/client.ts', paths: [DOCKERODE] },
  ].map(({ door, paths }) => ({
    files: door === undefined ? ['src/**/*.ts'] : [door],
    ignores: door === undefined ? ['src/docker/engine.ts', 'src/http/client.ts'] : [],
    rules: { 'no-restricted-imports': ['error', { paths }] },
  })),
);
