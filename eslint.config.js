// Lint: the recommended rules of eslint and typescript-eslint (syntax-level, fast), for
// src/, sim/, test/, bench/ and scripts/. Type-checking is `npm run typecheck`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-artifacts/', 'src/server/dashboard/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly',
        performance: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', URL: 'readonly', TextEncoder: 'readonly',
        TextDecoder: 'readonly', structuredClone: 'readonly', window: 'readonly', document: 'readonly',
        EventSource: 'readonly', localStorage: 'readonly', sessionStorage: 'readonly', navigator: 'readonly', Option: 'readonly',
        location: 'readonly', history: 'readonly', URLSearchParams: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      // Callback-style code keeps `self` for closures that outlive the method.
      '@typescript-eslint/no-this-alias': 'off',
      // Configuration errors are reported with their own text; the original error is logged.
      'preserve-caught-error': 'off',
    },
  },
);
