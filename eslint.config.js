// eslint for every JavaScript file the project writes: the pages' modules (browser), and the Node scripts and tests.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/**', '.venv/**', 'data/**', 'docs/**'] },
  js.configs.recommended,
  {
    // 2025: import attributes, for the pages' JSON import (static/js/shared_rules.js).
    languageOptions: { ecmaVersion: 2025, sourceType: 'module' },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  { files: ['static/js/**/*.js', 'bench/js/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['tests/**/*.{js,mjs}', 'server/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
];
