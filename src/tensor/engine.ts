// Global state of the tensor engine: the registered backends and the current one, gradient mode,
// and the memory scopes of tidy().
//
// Ownership policy (the README states it for users):
//  - Every tensor owns one reference to its storage; views share the storage and add a reference.
//  - dispose() drops the reference at once. tidy(fn) disposes every tensor created inside fn
//    except those it returns (and those passed to keep()). Parameters, optimizer state and .grad
//    are kept: they live until disposed explicitly.
//  - The autograd graph is an owner too: a disposed tensor that a live graph node still needs (as
//    an input or a saved tensor) is unusable from then on, but keeps its storage until the last
//    such node lets go of it: after backward() ran through them, or when the tensor that owns the
//    graph is disposed (see autograd.ts). So tidy(() => f(x)).backward() sees every intermediate.
//  - On the cpu backend a FinalizationRegistry also returns the storage of a tensor that was
//    garbage-collected without dispose(): a backstop for casual use, not something a training
//    loop should lean on. GPU memory is freed only by dispose()/tidy().

import type { Backend, Storage } from '../backend/backend.js';
import { createCpuBackend } from '../backend/cpu/index.js';
import type { Tensor } from './tensor.js';

interface BackendEntry { factory: () => Backend | Promise<Backend>; instance?: Backend }

// The built-in backends, started on first use: cpu synchronously (it is the default), webgpu
// loaded and started by `await setBackend('webgpu')`, so that importing the library never loads it.
const backends = new Map<string, BackendEntry>([
  ['cpu', { factory: createCpuBackend }],
  ['webgpu', { factory: async () => (await import('../backend/webgpu/index.js')).createWebGPUBackend() }],
]);
let current: Backend | null = null;

/** Adds (or replaces) a backend: its factory runs on first use. */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>): void {
  backends.set(name, { factory });
}

export function registeredBackends(): string[] {
  return [...backends.keys()];
}

/** Switches the default backend for new tensors. Resolves false (and keeps the old one) if it cannot start. */
export async function setBackend(name: string): Promise<boolean> {
  const entry = backends.get(name);
  if (entry === undefined) throw new Error(`unknown backend '${name}': registered are ${registeredBackends().join(', ')}`);
  try {
    entry.instance ??= await entry.factory();
  } catch (err) {
    lastBackendError = err instanceof Error ? err.message : String(err);
    return false;
  }
  current = entry.instance;
  return true;
}

export let lastBackendError = '';

/** The backend with this name, started if needed (synchronous factories only). */
export function findBackend(name: string): Backend {
  const entry = backends.get(name);
  if (entry === undefined) throw new Error(`unknown backend '${name}'`);
  if (entry.instance === undefined) {
    const made = entry.factory();
    if (made instanceof Promise) throw new Error(`backend '${name}' must be started with await setBackend('${name}') first`);
    entry.instance = made;
  }
  return entry.instance;
}

export function backend(): Backend {
  if (current === null) current = findBackend('cpu');
  return current;
}

export function getBackend(): string {
  return backend().name;
}

// ---- gradient mode ----

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * noGrad for an async function: gradients stay off until its promise settles (across its awaits).
 * Only for code that owns the process's tensor work meanwhile (a trainer's evaluation).
 */
export async function noGradAsync<T>(fn: () => Promise<T> | T): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return await fn();
  } finally {
    gradEnabled = prev;
  }
}

export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---- live tensors and scopes ----

// Live tensors and finalizer-reclaimed tensors, per backend name.
const liveTensors = new Map<string, number>();
const collectedTensors = new Map<string, number>();
const scopes: Set<Tensor>[] = [];
const bump = (m: Map<string, number>, k: string, d: number) => m.set(k, (m.get(k) ?? 0) + d);

const finalizer = new FinalizationRegistry<Storage>((storage) => {
  bump(liveTensors, storage.backend.name, -1);
  bump(collectedTensors, storage.backend.name, 1);
  releaseStorage(storage);
});

export function releaseStorage(storage: Storage): void {
  storage.refs--;
  if (storage.refs === 0) storage.backend.release(storage);
}

/** Called by the Tensor constructor. */
export function trackTensor(t: Tensor, storage: Storage): void {
  bump(liveTensors, storage.backend.name, 1);
  storage.refs++;
  if (storage.backend.name === 'cpu') finalizer.register(t, storage, t);
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.add(t);
}

/** Called by Tensor.dispose(): the tensor is no longer the business of the scope that holds it. */
export function leaveScope(t: Tensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.delete(t);
}

/** Called when a disposed tensor's storage is let go (at dispose, or when the graph releases it). */
export function untrackTensor(t: Tensor, storage: Storage): void {
  bump(liveTensors, storage.backend.name, -1);
  finalizer.unregister(t);
  releaseStorage(storage);
}

// ---- reading the graph ----

// Disposed tensors that a graph still holds may be read only by a running backward pass.
let graphReads = 0;

export function graphReadable(): boolean {
  return graphReads > 0;
}

/** Runs fn with the tensors held by autograd graphs readable (backward only). */
export function readingGraph<T>(fn: () => T): T {
  graphReads++;
  try {
    return fn();
  } finally {
    graphReads--;
  }
}

/** Removes a tensor from every enclosing tidy scope, so that it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) { out.add(value); return; }
  if (Array.isArray(value)) { for (const v of value) collectTensors(v, out, isTensor, depth + 1); return; }
  if (value instanceof Map) { for (const v of value.values()) collectTensors(v, out, isTensor, depth + 1); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, isTensor, depth + 1);
  }
}

let tensorCheck: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
export function setTensorCheck(fn: (v: unknown) => v is Tensor): void {
  tensorCheck = fn;
}

/**
 * Runs fn and disposes every tensor it created, except those in its result (a tensor, or arrays /
 * plain objects / Maps of them) and those kept. Returned tensors move to the enclosing scope.
 * A disposed tensor that the autograd graph of a returned (or kept) tensor needs keeps its storage
 * until backward() has run through it or that tensor is disposed: tidy(() => loss(x)).backward()
 * works. fn must not be async: a scope cannot see across an await.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: fn returned a Promise; tidy scopes must be synchronous');
  } finally {
    scopes.pop();
  }
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet, tensorCheck);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

export interface EngineMemory {
  /** Tensors alive on the current backend (created, not yet disposed or collected). */
  numTensors: number;
  /**
   * Tensors on the current backend whose memory the finalizer reclaimed because they were
   * garbage-collected without dispose() (cpu only). numTensors + numCollected only grows when
   * tensors are created and never disposed: a flat sum across training steps means no leak.
   */
  numCollected: number;
  /** Bytes in storages alive on the current backend. */
  numBytes: number;
  /** Bytes in the current backend's pool, ready for reuse. */
  poolBytes: number;
  storages: number;
  /** The most numBytes has been since the backend started or resetPeakMemory() (numBytes where a backend does not track it). */
  peakBytes: number;
}

export function memory(): EngineMemory {
  const b = backend();
  const m = b.memory();
  return { numTensors: liveTensors.get(b.name) ?? 0, numCollected: collectedTensors.get(b.name) ?? 0,
    numBytes: m.bytesInUse, poolBytes: m.poolBytes, storages: m.storages, peakBytes: m.peakBytes ?? m.bytesInUse };
}

/** Starts memory().peakBytes over from the bytes in use now, as torch.cuda.reset_peak_memory_stats. */
export function resetPeakMemory(): void {
  backend().resetPeakMemory?.();
}
