// The Tensor: a strided view of a backend storage, plus the autograd fields. Its methods are thin
// and call the op functions in ./ops, where each op is defined once (forward, backward, shape rules).

import type { Storage, TensorInfo } from '../backend/backend.js';
import { dropGraph, holdGraph, runBackward, type BackwardOptions, type GradNode } from './autograd.js';
import type { DType, TypedArray } from './dtype.js';
import { graphReadable, leaveScope, setTensorCheck, trackTensor, untrackTensor } from './engine.js';
import { formatTensor } from './format.js';
import { isContiguous } from '../backend/backend.js';
import { numel } from './shape.js';
// The ops import Tensor and Tensor's methods call the ops: an import cycle that ES modules resolve,
// because neither side uses the other while the modules are being evaluated, only when called.
// Importing either module loads both, so a Tensor's methods always work.
import * as ops from './ops/index.js';

let nextId = 0;

export type Scalar = number;
export type TensorLike = Tensor | number;
export type NestedArray = number | boolean | NestedArray[];

export class Tensor implements TensorInfo {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly numel: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  retainsGrad = false;
  /** A name for parameters and debugging. */
  name = '';
  /**
   * @internal How many live graph nodes (other than its own) and running backward passes need this
   * tensor. A disposed tensor keeps its storage until this falls to 0 (autograd.ts).
   */
  graphRefs = 0;
  private _storage: Storage | null;
  private _disposed = false;
  private _gradFn: GradNode | null = null;

  constructor(storage: Storage, shape: readonly number[], strides: readonly number[], offset: number) {
    this._storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = storage.dtype;
    this.numel = numel(shape);
    trackTensor(this, storage);
  }

  get storage(): Storage {
    const s = this._storage;
    // A disposed tensor that a graph still holds is readable only by that graph's backward pass.
    if (s === null || (this._disposed && !graphReadable())) throw new Error(`tensor ${this.describe()} was disposed and cannot be used`);
    return s;
  }

  /** The op that made this tensor, for backward(); null for leaves. Setting it takes the graph's hold on the node's tensors. */
  get gradFn(): GradNode | null { return this._gradFn; }
  set gradFn(node: GradNode | null) {
    if (node === this._gradFn) return;
    if (node !== null) holdGraph(node, this);
    const old = this._gradFn;
    this._gradFn = node;
    if (old !== null) dropGraph(old, this);
  }

  get device(): string { return this.storage.backend.name; }
  get ndim(): number { return this.shape.length; }
  /** True once dispose() was called (the storage may live on while a graph still needs it). */
  get isDisposed(): boolean { return this._disposed; }
  /** @internal True once the storage itself is gone. */
  get isFreed(): boolean { return this._storage === null; }
  get isLeaf(): boolean { return this.gradFn === null; }
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[dim < 0 ? dim + this.ndim : dim]!;
  }
  dim(): number { return this.shape.length; }
  describe(): string { return `${this.name ? this.name + ' ' : ''}[${this.shape.join(',')}] ${this.dtype}`; }

  /**
   * Gives up this handle: the tensor can no longer be used. Its storage is freed at once, unless an
   * autograd graph still needs it (it is an input or a saved tensor of a node that backward() has
   * not run through yet): then it is freed when the last such node lets go.
   */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this.grad !== null) { this.grad.dispose(); this.grad = null; }
    leaveScope(this);
    if (this.graphRefs === 0) {
      const node = this.freeStorage();
      if (node !== null) dropGraph(node, this);
    }
  }

  /**
   * @internal Frees the storage of a disposed tensor that no graph needs any more, and returns its
   * own node (whose hold on its inputs the caller drops). Called by dispose() and by autograd.
   */
  freeStorage(): GradNode | null {
    const s = this._storage;
    if (s === null) return null;
    this._storage = null;
    const node = this._gradFn;
    this._gradFn = null;
    untrackTensor(this, s);
    return node;
  }

  isContiguous(): boolean { return isContiguous(this); }

  // ---- reading values ----
  /** The values in row-major order (copied), from any backend. */
  async data(): Promise<TypedArray> { return ops.readData(this); }
  /** Synchronous read; cpu only. */
  dataSync(): TypedArray { return ops.readDataSync(this); }
  /** The single value of a one-element tensor (cpu). */
  item(): number {
    if (this.numel !== 1) throw new Error(`item: tensor ${this.describe()} has ${this.numel} elements, expected 1`);
    return this.dataSync()[0]!;
  }
  /** Nested JS arrays (cpu). */
  tolist(): NestedArray { return ops.toNested(this.dataSync(), this.shape, this.dtype); }
  async array(): Promise<NestedArray> { return ops.toNested(await this.data(), this.shape, this.dtype); }
  toString(): string { return formatTensor(this); }

  // ---- autograd ----
  backward(grad?: Tensor, opts?: BackwardOptions): void { runBackward(this, grad, opts); }
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new Error('requiresGrad_: cannot turn off grad on a non-leaf tensor; use detach()');
    if (flag && this.dtype !== 'float32') throw new Error(`requiresGrad_: only float32 tensors can require gradients, not ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }
  retainGrad(): this { this.retainsGrad = true; return this; }
  zeroGrad(): void { if (this.grad !== null) { this.grad.dispose(); this.grad = null; } }
  detach(): Tensor { return ops.detach(this); }

  // ---- conversions and copies ----
  clone(): Tensor { return ops.clone(this); }
  contiguous(): Tensor { return ops.contiguous(this); }
  to(target: DType | string): Tensor { return ops.to(this, target); }
  float(): Tensor { return ops.to(this, 'float32'); }
  int(): Tensor { return ops.to(this, 'int32'); }
  bool(): Tensor { return ops.to(this, 'bool'); }
  onesLike(): Tensor { return ops.onesLike(this); }
  zerosLike(): Tensor { return ops.zerosLike(this); }
  /** In place, no grad: copies src (broadcast) into this tensor's elements. */
  copy_(src: Tensor): this { ops.copyInto(this, src); return this; }
  fill_(value: number): this { ops.fillInto(this, value); return this; }

  // ---- views ----
  reshape(...shape: number[] | [readonly number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [readonly number[]]): Tensor { return ops.view(this, flatArgs(shape)); }
  transpose(d0: number, d1: number): Tensor { return ops.transpose(this, d0, d1); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return ops.permute(this, flatArgs(dims)); }
  /** Swaps the last two dims. */
  get mT(): Tensor { return ops.transpose(this, -2, -1); }
  get T(): Tensor { return ops.permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return ops.expand(this, flatArgs(shape)); }
  expandAs(other: Tensor): Tensor { return ops.expand(this, other.shape); }
  narrow(dim: number, start: number, length: number): Tensor { return ops.narrow(this, dim, start, length); }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor { return ops.slice(this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return ops.select(this, dim, index); }
  squeeze(dim?: number): Tensor { return ops.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return ops.unsqueeze(this, dim); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] { return ops.split(this, sizeOrSections, dim); }
  chunk(chunks: number, dim = 0): Tensor[] { return ops.chunk(this, chunks, dim); }

  // ---- elementwise ----
  add(other: TensorLike, alpha?: number): Tensor { return ops.add(this, other, alpha); }
  sub(other: TensorLike, alpha?: number): Tensor { return ops.sub(this, other, alpha); }
  mul(other: TensorLike): Tensor { return ops.mul(this, other); }
  div(other: TensorLike): Tensor { return ops.div(this, other); }
  pow(exponent: TensorLike): Tensor { return ops.pow(this, exponent); }
  maximum(other: TensorLike): Tensor { return ops.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return ops.minimum(this, other); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  sign(): Tensor { return ops.sign(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  rsqrt(): Tensor { return ops.rsqrt(this); }
  square(): Tensor { return ops.square(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor { return ops.gelu(this, opts); }
  sin(): Tensor { return ops.sin(this); }
  cos(): Tensor { return ops.cos(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return ops.clamp(this, min, max); }
  maskedFill(mask: Tensor, value: number): Tensor { return ops.maskedFill(this, mask, value); }
  eq(other: TensorLike): Tensor { return ops.eq(this, other); }
  ne(other: TensorLike): Tensor { return ops.ne(this, other); }
  lt(other: TensorLike): Tensor { return ops.lt(this, other); }
  le(other: TensorLike): Tensor { return ops.le(this, other); }
  gt(other: TensorLike): Tensor { return ops.gt(this, other); }
  ge(other: TensorLike): Tensor { return ops.ge(this, other); }
  logicalNot(): Tensor { return ops.logicalNot(this); }
  logicalAnd(other: Tensor): Tensor { return ops.logicalAnd(this, other); }
  logicalOr(other: Tensor): Tensor { return ops.logicalOr(this, other); }

  // ---- reductions ----
  sum(dim?: number | number[] | null, keepdim = false): Tensor { return ops.sum(this, dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  var(dim?: number | number[] | null, opts?: { correction?: number; keepdim?: boolean }): Tensor { return ops.variance(this, dim, opts); }
  max(dim?: number | null, keepdim = false): Tensor { return ops.max(this, dim, keepdim); }
  min(dim?: number | null, keepdim = false): Tensor { return ops.min(this, dim, keepdim); }
  argmax(dim?: number | null, keepdim = false): Tensor { return ops.argmax(this, dim, keepdim); }
  argmin(dim?: number | null, keepdim = false): Tensor { return ops.argmin(this, dim, keepdim); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return ops.logsumexp(this, dim, keepdim); }
  softmax(dim: number): Tensor { return ops.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return ops.logSoftmax(this, dim); }

  // ---- linear algebra and indexing ----
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }
  indexSelect(dim: number, index: Tensor): Tensor { return ops.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return ops.gather(this, dim, index); }
}

function flatArgs(args: number[] | [readonly number[]]): number[] {
  return (args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : args) as number[];
}

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}
setTensorCheck(isTensor);
