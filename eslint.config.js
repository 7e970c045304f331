// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries (see ../shared/STYLE.md and docs/architecture.md): arrows point inward.
 * `core` is pure; `app` talks only to `core`; adapters (store, notify, agent/targets) are wired
 * together only by src/main.ts.
 */
const adapters = ['**/store/**', '**/notify/**', '**/agent/**', '**/sdk/**'];
const outer = [
  '**/cli/**',
  '**/api/**',
  '**/engine/**',
  '**/main.js',
  '**/watch-deps.js',
  '**/serve-deps.js',
  '**/agent-deps.js',
  '**/configured-target.js',
  '**/metrics-deps.js',
];

const sdkMessage =
  "src/sdk/ ships inside other people's apps (`hindsight/sdk`): nothing of ours imports it, and it imports only node:* built-ins, its own files and pure core/ modules.";

const coreMessage =
  'core/ is pure domain code: it imports only other core/ files (no node:*, no package, no adapter). Pass time, ids and I/O in through the ports in core/ports.ts.';

/** @param {string[]} group @param {string} message */
const forbid = (group, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group, message }] }],
});

/** @param {string[]} regexes @param {string} message */
const forbidRegex = (regexes, message) => ({
  'no-restricted-imports': ['error', { patterns: regexes.map((regex) => ({ regex, message })) }],
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'web/dist/**',
      'test/fixtures/**',
      'bench/out/**',
      '.scratch/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use a string-literal union instead of an enum (STYLE.md habit 3).',
        },
      ],
    },
  },
  {
    files: ['src/core/*.ts'],
    rules: forbidRegex(['^(?!\\./)'], coreMessage),
  },
  {
    files: ['src/core/*/**/*.ts'],
    rules: forbidRegex(['^(?!\\.\\.?/)', '^\\.\\./\\.\\./'], coreMessage),
  },
  {
    files: ['src/app/**/*.ts'],
    rules: forbid(
      [...adapters, ...outer, '**/platform/**', '**/postgres-log/**'],
      'app/ (use cases) calls core/ and the ports declared there; adapters are handed in by src/main.ts (adapters read log text: deadlock reports reach a use case already parsed and named, through a port of core/ports.ts).',
    ),
  },
  {
    files: ['src/cli/**/*.ts', 'src/api/**/*.ts', 'src/engine/**/*.ts'],
    rules: forbid(
      ['**/store/**', '**/notify/**', '**/agent/targets/**', '**/main.js', '**/sdk/**'],
      'cli/, api/ and engine/ reach adapters only through app/ and the ports of core/; src/main.ts wires the adapters in (src/sdk/ is shipped to apps, never imported by us).',
    ),
  },
  {
    files: ['src/store/**/*.ts', 'src/notify/**/*.ts', 'src/agent/**/*.ts'],
    rules: forbid(
      [...outer, '**/app/**', '**/sdk/**'],
      'Adapters implement core/ ports; they never call use cases, the CLI, the API or the engine (or src/sdk/, which is shipped to apps).',
    ),
  },
  {
    files: ['src/race/**/*.ts'],
    rules: forbid(
      [...adapters, ...outer, '**/app/**'],
      'race/ is its own world: platform/, config/, core/ helpers, pg, and the shared PostgreSQL log readers in postgres-log/ only.',
    ),
  },
  {
    files: ['src/analyze/**/*.ts'],
    rules: forbid(
      [...adapters, ...outer, '**/app/**', '**/race/**'],
      'analyze/ reads logs offline: it uses the shared PostgreSQL log readers in postgres-log/, core/ and platform/ (not the agent).',
    ),
  },
  {
    // A leaf shared by agent/, analyze/ and race/: bytes of a server log in, LogEvents and signals out.
    files: ['src/postgres-log/**/*.ts'],
    rules: forbidRegex(
      ['^(?!\\./|\\.\\./core/|node:string_decoder$)'],
      'postgres-log/ is a leaf (log bytes → LogEvents → signals): it imports only its own files, core/ types and node:string_decoder. Following a file over time belongs to the agent (agent/targets/postgres/log-tailer.ts); naming relations by OID to the PostgreSQL adapter; reading a file to the caller.',
    ),
  },
  {
    // The SDK runs inside the user's app: no package, nothing of ours but pure core/.
    files: ['src/sdk/**/*.ts'],
    rules: forbidRegex(['^(?!\\./|\\.\\./core/|node:)'], sdkMessage),
  },
  {
    files: ['src/*.ts'],
    rules: forbid(['**/sdk/**'], sdkMessage),
  },
  {
    files: ['src/config/**/*.ts', 'src/platform/**/*.ts'],
    rules: forbid(
      [...adapters, ...outer, '**/app/**'],
      'config/ and platform/ are leaves: they import no domain or adapter code.',
    ),
  },
  {
    // Tests state what they expect; a `!` on a row they just inserted is clearer than a guard.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
