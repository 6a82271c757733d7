// Runs a list of cases once per backend in backendsUnderTest. Each backend's setup() runs just before
// its own cases (so that a setup which switches kernels, like cpu-ts, cannot leak into another
// backend's run); a setup that returns a reason skips that backend with the reason printed. A case
// that needs a kernel its backend lacks is skipped with a reason, never failed.

import test, { type TestContext } from 'node:test';
import { setBackend, getBackend } from '../../src/index.js';
import { hasKernel, type KernelName } from '../../src/backend/registry.js';
import { backendsUnderTest, type BackendUnderTest } from './backends.js';

export interface Case {
  name: string;
  run: (ctx: { backend: string; label: string; t: TestContext }) => void | Promise<void>;
}

const MISSING = /kernel '(\w+)' is not implemented on backend '([\w-]+)'/;

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
      if (!(await setBackend(entry.backend))) {
        t.skip(`${entry.label}: setBackend('${entry.backend}') failed`);
        return;
      }
      for (const [family, cases] of Object.entries(families)) {
        await t.test(family, async (ft) => {
          for (const c of cases) await ft.test(c.name, (st) => runCase(entry, c, st));
        });
      }
    });
  }
}

async function runCase(entry: BackendUnderTest, c: Case, st: TestContext): Promise<void> {
  await setBackend(entry.backend);
  try {
    await c.run({ backend: entry.backend, label: entry.label, t: st });
  } catch (err) {
    const m = err instanceof Error ? MISSING.exec(err.message) : null;
    if (m !== null && !hasKernel(m[1] as KernelName, m[2]!)) {
      st.skip(`${entry.label} has no '${m[1]}' kernel`);
      return;
    }
    throw err;
  }
  if (getBackend() !== entry.backend) throw new Error(`case switched the backend to ${getBackend()}`);
}
