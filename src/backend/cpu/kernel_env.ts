// TLM_CPU_KERNELS: which cpu kernels run. 'native' is the WebAssembly kernels with the native addon
// taking the products it has, 'wasm' the WebAssembly kernels alone, 'ts' the plain TypeScript ones.
// Unset, it is 'native' where the addon loads and WebAssembly (with a note) where it does not; named,
// a set that cannot load is an error when the cpu backend starts, not a silent fallback (a user or
// a CI job that asks for a set wants to know it ran).

export type KernelChoice = 'native' | 'wasm' | 'ts';
const CHOICES: readonly string[] = ['native', 'wasm', 'ts'];

const raw = (): string => globalThis.process?.env?.TLM_CPU_KERNELS ?? '';

/** The set TLM_CPU_KERNELS names, or null when it is unset or empty (the default applies). */
export function namedKernels(): KernelChoice | null {
  const v = raw();
  return CHOICES.includes(v) ? v as KernelChoice : null;
}

/** A value of TLM_CPU_KERNELS that names no set, as an error message; '' when it is fine. */
export function kernelEnvError(): string {
  const v = raw();
  return v === '' || CHOICES.includes(v) ? '' : `TLM_CPU_KERNELS: expected native, wasm or ts, got '${v}'`;
}
