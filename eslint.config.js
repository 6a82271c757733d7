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
  ['cli', 'serve', 'web', 'index.ts'],
];
// Known exceptions, each with its reason: the backends register themselves with the engine.
const ALLOWED = [['backend', 'tensor/engine.ts'], ['backend', 'tensor/dtype.ts']];

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
);
