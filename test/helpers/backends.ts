// The backends the op suite runs against: the cpu backend with its WASM kernels, the cpu backend
// on the plain TypeScript path, and webgpu where an adapter exists (skipped with a reason where not).

import { setBackend } from '../../src/index.js';
import { lastBackendError } from '../../src/tensor/engine.js';
import { setCpuKernels } from '../../src/backend/cpu/index.js';

export interface BackendUnderTest {
  /** Label in test names. */
  label: string;
  /** Backend name for setBackend / device. */
  backend: string;
  /** Called before the cases run; returns a reason to skip, or null. */
  setup(): Promise<string | null>;
}

export const backendsUnderTest: BackendUnderTest[] = [
  // 'cpu' runs the WASM kernels (or the TypeScript ones where the module cannot load); 'cpu-ts' forces the plain path.
  { label: 'cpu', backend: 'cpu', setup: async () => { setCpuKernels('wasm'); return null; } },
  { label: 'cpu-ts', backend: 'cpu', setup: async () => { setCpuKernels('ts'); return null; } },
  {
    label: 'webgpu', backend: 'webgpu',
    setup: async () => ((await setBackend('webgpu')) ? null : `webgpu unavailable: ${lastBackendError}`),
  },
];
