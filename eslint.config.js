import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/**
 * Layers of src/, top to bottom; a module may import from its own layer and those below it, never
 * from one above (docs/architecture.md#layering). src/ never imports tools/.
 */
const LAYERS = ['ui', 'worker', 'store', 'pipeline', 'kernels', 'text', 'model', 'core'];
const layerRules = LAYERS.map((layer, i) => ({
  files: [`src/${layer}/**/*.{ts,tsx}`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: ['**/tools/**'], message: 'src/ never imports tools/: move what both need into src/.' },
          ...LAYERS.slice(0, i).map((upper) => ({
            group: [`../${upper}/*`, `../../${upper}/*`],
            message: `src/${layer} sits below src/${upper}: import downward only (docs/architecture.md#layering).`,
          })),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'public/', 'test-results/', 'playwright-report/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Prettier wraps code at 120 columns but not comments: this keeps those short too. Strings and
      // template literals stay whole, so a message reads (and greps) as it is shown.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
        },
      ],
    },
  },
  ...layerRules,
  {
    // The service worker is a bundle of its own, loaded before every page: it holds Workbox and its own modules only.
    files: ['src/sw.ts', 'src/service-worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: LAYERS.map((layer) => ({
            group: [`./${layer}/*`, `../${layer}/*`],
            message: 'The service worker imports nothing of the app (docs/architecture.md#layering).',
          })),
        },
      ],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
