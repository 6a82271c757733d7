#!/usr/bin/env node
// The numerics under every cpu kernel set (`npm run test:kernels`, after a build): the op suite, the
// gradient checks and the tests that compare against PyTorch / HF fixtures, once per set of
// TLM_CPU_KERNELS (native, wasm, ts) and once on the native kernels' AVX2 path (TLM_NATIVE_ISA=avx2).
// `npm test` runs everything on the default set; this reruns the numbers on each set by name, so a
// set that cannot load fails here (TLM_CPU_KERNELS=native requires the addon) rather than passing
// on another one. Usage: node scripts/test-kernels.mjs [--sets native,wasm,ts,avx2]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Tests whose numbers depend on the kernels and are checked against references: PyTorch / HF
// fixtures (test/fixtures/{ops,layers,heads,hf,llama,marian,lora,train}), finite differences, and
// the fused kernels against the composite ops. They leave the kernel choice to TLM_CPU_KERNELS.
const NUMERICS = [
  'ops_suite', 'gradcheck', 'fused_ops', 'nn_torch_fixtures', 'nn_layers', 'heads_torch', 'models_hf',
  'generate_gpt2', 'batch_engine', 'llama_torch', 'marian_torch', 'lora', 'train_optim',
];
// Kernel tests that switch the sets themselves (WASM against TypeScript, native on and off): they
// assume the default, so they run only where the native kernels are named (their AVX2 path included).
const KERNEL_TESTS = ['cpu_kernels', 'cpu_kernels_attention', 'cpu_kernel_env'];

const SETS = {
  native: { env: { TLM_CPU_KERNELS: 'native' }, files: [...NUMERICS, ...KERNEL_TESTS], isa: /^(avx512f|avx2\+fma)$/ },
  wasm: { env: { TLM_CPU_KERNELS: 'wasm' }, files: NUMERICS, kernels: 'wasm' },
  ts: { env: { TLM_CPU_KERNELS: 'ts' }, files: NUMERICS, kernels: 'ts' },
  avx2: { env: { TLM_CPU_KERNELS: 'native', TLM_NATIVE_ISA: 'avx2' }, files: [...NUMERICS, ...KERNEL_TESTS], isa: /^avx2\+fma$/ },
};

const at = process.argv.indexOf('--sets');
const names = at >= 0 ? (process.argv[at + 1] ?? '').split(',') : Object.keys(SETS);
const fail = (message) => { console.error(`test-kernels: ${message}`); process.exit(2); };
for (const n of names) if (!(n in SETS)) fail(`--sets: unknown set '${n}' (expected some of ${Object.keys(SETS).join(', ')})`);

const index = join(root, 'dist/src/index.js');
if (!existsSync(index)) fail('dist/src/index.js not found: run npm run build first');
const envWith = (extra) => ({ ...process.env, TLM_CPU_KERNELS: undefined, TLM_NATIVE_ISA: undefined, ...extra });

let failed = 0;
for (const name of names) {
  const set = SETS[name];
  // What this set really runs on: an error here (e.g. no addon for native) fails the set at once.
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import * as t from ${JSON.stringify(pathToFileURL(index).href)}; t.zeros([1]);
     console.log(JSON.stringify({ kernels: t.getCpuKernels(), native: t.getCpuNative() }));`],
  { cwd: root, encoding: 'utf8', env: envWith(set.env) });
  const got = probe.status === 0 ? JSON.parse(probe.stdout) : null;
  const ok = got !== null && (set.isa ? set.isa.test(got.native ?? '') : got.kernels === set.kernels && got.native === null);
  if (!ok) {
    console.error(`test-kernels: ${name}: wanted ${set.isa ?? set.kernels}, got ${got ? JSON.stringify(got) : probe.stderr.split('\n').find((l) => /Error/.test(l)) ?? probe.stderr}`);
    failed++;
    continue;
  }
  const files = set.files.map((f) => join('dist/test', `${f}.test.js`));
  const t0 = performance.now();
  // TAP kept quiet unless something fails (then all of it, for the failing test's diagnostics).
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: envWith(set.env) });
  const count = (what) => r.stdout.match(new RegExp(`^# ${what} (\\d+)$`, 'm'))?.[1] ?? '?';
  if (r.status !== 0) process.stdout.write(r.stdout + r.stderr);
  const s = ((performance.now() - t0) / 1e3).toFixed(1);
  console.log(`test-kernels: ${name} (${got.native ?? got.kernels}): ${files.length} files, ${count('pass')} passed, ${count('fail')} failed, in ${s} s`);
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
