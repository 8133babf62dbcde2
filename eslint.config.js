import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'oclif.manifest.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One door to each outside thing: only these modules may import the client libraries.
    files: ['src/**/*.ts'],
    ignores: ['src/docker/engine.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'dockerode', message: 'Import the engine through src/docker/engine.ts.' }] }],
    },
  },
);
