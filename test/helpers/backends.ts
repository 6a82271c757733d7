// The backends the op suite runs against: the cpu backend with its WASM kernels, the cpu backend
// on the plain TypeScript path, and webgpu where a GPU adapter exists (skipped, with the reason
// printed, where none does: the only skip the suite allows).

import { setBackend } from '../../src/index.js';
import { lastBackendError } from '../../src/tensor/engine.js';
import { setCpuKernels } from '../../src/backend/cpu/index.js';
import type { KernelName } from '../../src/backend/registry.js';

export interface BackendUnderTest {
  /** Label in test names. */
  label: string;
  /** Backend name for setBackend / device. */
  backend: string;
  /** Called before the cases run; returns why this machine cannot run the backend (no GPU adapter), or null. Any other failure throws. */
  setup(): Promise<string | null>;
  /**
   * Kernels the backend does not implement yet: its required-kernel manifest is every kernel of
   * KernelMap but these. The suite checks the registry against it exactly, first: ops whose kernel
   * is missing fall back to a composite form (softmax, layerNorm, attention, rmsNorm, rotary,
   * matmulBias), so without this check a kernel deleted from a backend would leave every case
   * passing. The list can only shrink as kernels land. A case that needs a listed kernel with no
   * composite form must end with that kernel's "not implemented" error: it is counted and listed,
   * not skipped.
   */
  notYet: readonly KernelName[];
}

/** Every kernel of the registry's KernelMap; the Record type makes tsc reject a missing or unknown name. */
const KERNELS: Record<KernelName, true> = {
  copy: true, fill: true, cast: true, unary: true, binary: true, binaryScalar: true, where: true, reduce: true,
  argReduce: true, matmul: true, matmulBias: true, softmax: true, softmaxBackward: true, layerNorm: true, layerNormBackward: true,
  indexSelect: true, indexAdd: true, gather: true, scatterAdd: true, adamw: true, attention: true, attentionBackward: true,
  rmsNorm: true, rotary: true, quantMatmul: true, dropoutMask: true,
};
export const ALL_KERNELS = Object.keys(KERNELS) as KernelName[];

/** setBackend('webgpu'), or the reason to skip when the machine has no GPU adapter; other start failures are errors. */
export async function startWebgpu(): Promise<string | null> {
  if (await setBackend('webgpu')) return null;
  if (/no GPU adapter found/.test(lastBackendError)) return `webgpu unavailable: ${lastBackendError}`;
  throw new Error(`the webgpu backend failed to start: ${lastBackendError}`);
}

export const backendsUnderTest: BackendUnderTest[] = [
  // 'cpu' runs the WASM kernels (or the TypeScript ones where the module cannot load); 'cpu-ts' forces the plain path.
  { label: 'cpu', backend: 'cpu', setup: async () => { setCpuKernels('wasm'); return null; }, notYet: [] },
  { label: 'cpu-ts', backend: 'cpu', setup: async () => { setCpuKernels('ts'); return null; }, notYet: [] },
  {
    label: 'webgpu', backend: 'webgpu', setup: startWebgpu,
    // Every kernel is there; a kernel listed here would fall back to the op's composite form.
    notYet: [],
  },
];
