// ESLint (flat config), run by `npm run lint` with no warnings allowed: typescript-eslint's
// type-aware rules over the UI's sources, ESLint's recommended rules over the browser tests and
// the Vite config, and the project rule that the UI never renders data as HTML.
import js from '@eslint/js';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The UI never renders data as HTML: text goes in with textContent and DOM nodes. */
const NO_HTML = 'The UI never renders data as HTML: build DOM nodes (el, createElement) and set textContent.';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/'] },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Async event listeners and menu actions are the UI's fire-and-forget idiom (a rejection
      // reaches the console either way); conditionals and spreads of promises are still checked.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, properties: false } }],
      // tsc's noUnusedParameters convention: a parameter named _x is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error',
        { property: 'innerHTML', message: NO_HTML },
        { property: 'outerHTML', message: NO_HTML },
        { property: 'insertAdjacentHTML', message: NO_HTML },
        { property: 'createContextualFragment', message: NO_HTML },
        { object: 'document', property: 'write', message: NO_HTML },
        { object: 'document', property: 'writeln', message: NO_HTML },
      ],
      // (no-restricted-properties also sees el['innerHTML'].)
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='DOMParser']", message: NO_HTML }],
    },
  },
  {
    files: ['tests/**/*.mjs'],
    extends: [js.configs.recommended],
    // The tests run in Node; the callbacks they hand to page.evaluate, $eval and
    // waitForFunction run in the browser.
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['vite.config.ts', 'eslint.config.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  // vite.config.ts through typescript-eslint's parser only (it is type-checked by tsc).
  { files: ['vite.config.ts'], extends: [tseslint.configs.base] },
);
