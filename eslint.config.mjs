// ESLint flat config: typescript-eslint (type-aware) for all TypeScript,
// @jupyter/eslint-plugin for the JupyterLab extension, Prettier for format.
import js from '@eslint/js';
import jupyter from '@jupyter/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'extension/lib/**',
      'coverage/**',
      'test-results/**',
      'extension/labextension/**',
      'lab/build/**',
      'lab/labextensions/**',
      // The oldest supported JupyterLab: its build, and lab/src copied there.
      'lab/oldest/build/**',
      'lab/oldest/src/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // The JupyterLab rules apply to the extension only.
  ...jupyter.configs.recommended.map((config) =>
    config.files ? { ...config, files: config.files.map((glob) => `extension/${glob}`) } : config,
  ),
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
      },
    },
  },
);
