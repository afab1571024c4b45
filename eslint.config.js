// `npm run lint`: ESLint with typescript-eslint's recommended rules over every TypeScript file,
// plus the house limits for src/ (functions a reader can hold in their head, files with one job).
// Formatting is Prettier's (`.prettierrc.json`), checked by the same script.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', 'load-tests/results/', 'src/map/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The bin launcher is plain JavaScript run by Node.
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 85, skipBlankLines: true, skipComments: true }],
      'max-lines': ['warn', { max: 420, skipBlankLines: true, skipComments: true }],
    },
  },
);
