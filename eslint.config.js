import tseslint from 'typescript-eslint';
import { dirname, relative, resolve } from 'node:path';

// The layers of DESIGN.md, lowest first: a module imports only from its own layer or lower ones.
// Type-only imports are free (they vanish at run time); a dynamic import() is how a lower layer
// reaches up on purpose (models load generation code on first use).
const LAYERS = [
  ['errors.ts', 'functional.ts'],
  ['backend'],
  ['tensor', 'io'],
  ['nn', 'tokenizers'],
  ['models'],
  ['train'],
  ['generate'],
  ['tasks'],
  ['pipelines'],
  ['cli', 'serve', 'web', 'index.ts', 'browser.ts'],
];
// Known exceptions, each with its reason: the backends store tensors' dtypes (a leaf module).
const ALLOWED = [['backend', 'tensor/dtype.ts']];

// The platform boundary: the core runs in a browser tab, so only the Node applications (the CLI,
// the server, the file pipelines) and the Node worker entry import Node's modules. The core reaches
// files through src/io/files.ts and Node's built-ins through process.getBuiltinModule.
const NODE_MODULES = ['node:*', 'fs', 'fs/*', 'path', 'os', 'url', 'crypto', 'child_process', 'worker_threads', 'module'];
const NODE_ONLY = ['src/cli/**', 'src/serve/**', 'src/pipelines/**', 'src/backend/cpu/threads/worker.ts'];

const src = resolve('src');
const layerOf = (file) => {
  const rel = relative(src, file);
  if (rel.startsWith('..')) return null;
  const top = rel.split(/[\\/]/)[0];
  const i = LAYERS.findIndex((names) => names.includes(top));
  return i < 0 ? null : { index: i, top, rel };
};

const layering = {
  meta: { type: 'problem', messages: { up: "'{{from}}' (layer {{fromLayer}}) must not import '{{to}}' (layer {{toLayer}}): imports point down the layers of DESIGN.md" } },
  create(context) {
    return {
      ImportDeclaration(node) {
        if (node.importKind === 'type' || !node.source.value.startsWith('.')) return;
        if (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type')) return;
        const from = layerOf(context.filename);
        const to = layerOf(resolve(dirname(context.filename), node.source.value.replace(/\.js$/, '.ts')));
        if (!from || !to || to.index <= from.index) return;
        if (ALLOWED.some(([a, b]) => from.top === a && to.rel === b)) return;
        context.report({ node, messageId: 'up', data: { from: from.rel, fromLayer: LAYERS[from.index].join('/'), to: to.rel, toLayer: LAYERS[to.index].join('/') } });
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/backend/cpu/wasm/assembly/', '.gpu/', 'bench/*.py', 'scripts/', 'out/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { tlm: { rules: { layering } } },
    rules: { 'tlm/layering': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: NODE_ONLY,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: NODE_MODULES, allowTypeImports: true,
        message: 'core modules run in browsers too: reach files through src/io/files.ts (see DESIGN.md, platform boundary)' }] }],
      'no-restricted-syntax': ['error', { selector: "ImportExpression > Literal[value=/^node:/]",
        message: 'core modules run in browsers too: no import() of a Node module' }],
    },
  },
);
