// TLM_CPU_KERNELS=native|wasm|ts, each in a fresh process: unset runs the native kernels where the
// addon loads and otherwise the WebAssembly ones with one note on stderr (library and `tlm` alike);
// a named set that cannot load, or a name that is no set, stops the first tensor with one line.
// Both sides of "where the addon loads" run in CI: the main clone builds it, the no-compiler clone
// (.ci/run) cannot.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const index = new URL('../src/index.js', import.meta.url).href;
const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const NOTE = /^tlm: the native kernels are not in use \((.+)\); running on the WebAssembly kernels/;

/** Runs node with TLM_CPU_KERNELS set to `kernels` (undefined: unset, whatever the test run has). */
function node(args: string[], kernels: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const env: Record<string, string | undefined> = { ...process.env, TLM_CPU_KERNELS: kernels };
  if (kernels === undefined) delete env.TLM_CPU_KERNELS;
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000, env });
}

/** Three products big enough for the native kernels, then which kernels ran. */
const probe = (kernels: string | undefined) => node(['--input-type=module', '-e', `import * as t from '${index}';
  const x = t.randn([96, 96]);
  for (let i = 0; i < 3; i++) x.matmul(x).dispose();
  console.log(JSON.stringify({ kernels: t.getCpuKernels(), native: t.getCpuNative(), why: t.cpuNativeError() }));`], kernels);

const unset = probe(undefined);
assert.equal(unset.status, 0, unset.stderr);
const state = JSON.parse(unset.stdout) as { kernels: string; native: string | null; why: string };

test(`unset: native where the addon loads, else WebAssembly with one note (here: ${state.native ?? `no addon: ${state.why}`})`, () => {
  assert.equal(state.kernels, 'wasm');
  const notes = unset.stderr.split('\n').filter((l) => NOTE.test(l));
  if (state.native !== null) {
    assert.match(state.native, /^(avx512f|avx2\+fma)$/);
    assert.equal(unset.stderr, '', 'no note when the native kernels run');
  } else {
    assert.ok(state.why.length > 0, 'cpuNativeError() says why the native kernels are not in use');
    assert.equal(notes.length, 1, `one note for three products, got:\n${unset.stderr}`);
    assert.equal(NOTE.exec(notes[0]!)![1], state.why, 'the note gives the reason cpuNativeError() gives');
  }
});

test('TLM_CPU_KERNELS=native runs the native kernels, or stops the first tensor naming why they did not load', () => {
  const r = probe('native');
  if (state.native !== null) {
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), state);
    assert.equal(r.stderr, '');
  } else {
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`Error: TLM_CPU_KERNELS=native: the native kernels did not load (${state.why}); leave TLM_CPU_KERNELS unset`), r.stderr);
    assert.doesNotMatch(r.stderr, NOTE, 'an error, not a fallback');
  }
});

test('TLM_CPU_KERNELS=wasm and =ts: those kernels, native off, no note', () => {
  for (const kernels of ['wasm', 'ts']) {
    const r = probe(kernels);
    assert.equal(r.status, 0, r.stderr);
    // The addon is never even loaded: no reason is recorded.
    assert.deepEqual(JSON.parse(r.stdout), { kernels, native: null, why: '' });
    assert.equal(r.stderr, '', `${kernels}: nothing on stderr`);
  }
});

test('TLM_CPU_KERNELS with another value: the first tensor throws one line naming the variable and the choices', () => {
  const r = probe('avx512');
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.includes("Error: TLM_CPU_KERNELS: expected native, wasm or ts, got 'avx512'"), r.stderr);
  const empty = probe('');
  assert.equal(empty.status, 0, 'empty is unset');
  assert.deepEqual(JSON.parse(empty.stdout), state);
});

test('tlm generate: the note at most once, exactly when the native kernels are not in use; TLM_CPU_KERNELS=native fails with one line where they cannot load', () => {
  const args = [bin, 'generate', '--model', join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny'), '--prompt', 'First Citizen:', '--max-new-tokens', '8'];
  const r = node(args, undefined);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('First Citizen:'), r.stdout);
  const notes = r.stderr.split('\n').filter((l) => NOTE.test(l));
  assert.equal(notes.length, state.native === null ? 1 : 0, r.stderr);
  const named = node(args, 'native');
  if (state.native !== null) {
    assert.equal(named.status, 0, named.stderr);
    assert.equal(named.stdout, r.stdout, 'the same greedy text');
  } else {
    assert.notEqual(named.status, 0);
    const lines = named.stderr.trim().split('\n');
    assert.equal(lines.length, 1, named.stderr);
    assert.match(lines[0]!, /TLM_CPU_KERNELS=native: the native kernels did not load/);
  }
});
