// Runs a list of cases once per backend in backendsUnderTest. Each backend's setup() runs just before
// its own cases (so that a setup which switches kernels, like cpu-ts, cannot leak into another
// backend's run); a setup that reports no GPU adapter skips that backend with the reason printed,
// the only skip there is. Each backend's registry is first checked against its required-kernel
// manifest (every kernel but its notYet list, backends.ts): ops fall back to composite forms where a
// fused kernel is missing, so only this check catches a deleted one. A missing kernel fails a case,
// except one the backend lists as not yet implemented: that case must end with exactly that
// kernel's error, and is counted and printed per kernel.

import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend, getBackend } from '../../src/index.js';
import { lastBackendError } from '../../src/tensor/engine.js';
import { hasKernel, type KernelName } from '../../src/backend/registry.js';
import { ALL_KERNELS, backendsUnderTest, type BackendUnderTest } from './backends.js';

export interface Case {
  name: string;
  run: (ctx: { backend: string; label: string; t: TestContext }) => void | Promise<void>;
}

// The registry's error, possibly prefixed by the op that needed the kernel ("embedding: ids [2,2], ...: ").
const MISSING = /(?:^|: )kernel '(\w+)' is not implemented on backend '([\w-]+)'$/;

/**
 * Registers one top-level test per backend, with a subtest per family and per case. Backends are the
 * outer loop so that each setup() is followed by that backend's cases only.
 */
export function runOnBackends(title: string, families: Record<string, readonly Case[]>,
                              entries: readonly BackendUnderTest[] = backendsUnderTest): void {
  for (const entry of entries) {
    test(`${title} [${entry.label}]`, async (t) => {
      const reason = await entry.setup();
      if (reason !== null) {
        console.log(`# ${title}: skipping backend ${entry.label}: ${reason}`);
        t.skip(`${entry.label}: ${reason}`);
        return;
      }
      if (!(await setBackend(entry.backend))) throw new Error(`setBackend('${entry.backend}') failed: ${lastBackendError}`);
      await t.test(`required kernels on ${entry.label}: every kernel but [${entry.notYet.join(', ')}]`, () => {
        const missing = ALL_KERNELS.filter((k) => !hasKernel(k, entry.backend));
        assert.deepEqual(missing.sort(), [...entry.notYet].sort(), 'update notYet in test/helpers/backends.ts');
      });
      const waiting = new Map<KernelName, string[]>();
      for (const [family, cases] of Object.entries(families)) {
        await t.test(family, async (ft) => {
          for (const c of cases) await ft.test(c.name, (st) => runCase(entry, c, st, waiting));
        });
      }
      if (waiting.size > 0) {
        const n = [...waiting.values()].reduce((s, v) => s + v.length, 0);
        const rows = [...waiting].map(([k, names]) => `${k} (${names.length}): ${names.join('; ')}`);
        console.log(`# ${title} [${entry.label}]: ${n} cases stop at a kernel not yet on ${entry.label}:\n#   ${rows.join('\n#   ')}`);
      }
    });
  }
}

async function runCase(entry: BackendUnderTest, c: Case, st: TestContext, waiting: Map<KernelName, string[]>): Promise<void> {
  await setBackend(entry.backend);
  try {
    await c.run({ backend: entry.backend, label: entry.label, t: st });
  } catch (err) {
    const m = missingKernel(err);
    const kernel = m?.[1] as KernelName | undefined;
    if (m === null || kernel === undefined || m[2] !== entry.backend || !entry.notYet.includes(kernel)) throw err;
    // Listed as not yet on this backend: the case got as far as that kernel, which is the expectation.
    st.diagnostic(`stops at kernel '${kernel}', not yet on ${entry.label}`);
    waiting.set(kernel, [...(waiting.get(kernel) ?? []), c.name]);
    return;
  }
  if (getBackend() !== entry.backend) throw new Error(`case switched the backend to ${getBackend()}`);
}

/** The missing-kernel error in err: err itself, or the error an assert.throws got instead of the one it expected. */
function missingKernel(err: unknown): RegExpExecArray | null {
  if (!(err instanceof Error)) return null;
  const inner = err instanceof assert.AssertionError && err.operator === 'throws' && err.actual instanceof Error ? err.actual : err;
  return MISSING.exec(inner.message);
}
