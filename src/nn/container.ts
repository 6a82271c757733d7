// ModuleList and Sequential, as torch.nn: children named 0, 1, 2, ... in the state dict.

import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number { return this.items.length; }
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (m === undefined) throw new Error(`ModuleList: index ${i} out of range for ${this.items.length} modules`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}

interface Forwardable extends Module { forward(x: Tensor): Tensor }

export class Sequential extends ModuleList<Forwardable> {
  constructor(...modules: Forwardable[]) { super(modules); }
  forward(x: Tensor): Tensor {
    for (const m of this) x = m.forward(x);
    return x;
  }
}
