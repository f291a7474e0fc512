// Lint rules that hold the architecture's lines (style.md): the planner and the spec
// are pure, so they import nothing with side effects and never read the clock or
// draw random numbers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const impure = {
  patterns: [
    { group: ['node:*', 'fs', 'child_process', 'net', 'http', 'https', 'os'], message: 'plan/ and spec/ are pure: no I/O.' },
    {
      group: ['etcd3', 'dockerode', '@aws-sdk/*', 'pino', 'fastify', '@kubernetes/*'],
      message: 'plan/ and spec/ are pure: no SDKs or loggers.',
    },
    {
      group: ['**/log.ts', '**/store/*', '**/providers/*', '**/act/*', '**/controller/*'],
      message: 'plan/ and spec/ may not import modules with side effects.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/plan/**/*.ts', 'src/spec/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', impure],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The planner takes `now` as an argument.' },
        { object: 'Math', property: 'random', message: 'Inject a seeded random source.' },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'plan/ and spec/ are pure.' }],
    },
  },
);
