// A tiny language model built straight from ops (no nn layers), for trainer tests: embedding →
// tanh hidden layer → vocabulary logits, with one token of left context.
import { Module } from '../../src/nn/module.js';
import { randn, zeros, Generator, type Tensor } from '../../src/index.js';

export class TinyLM extends Module {
  constructor(readonly vocab: number, dim = 16, seed = 0) {
    super();
    const g = new Generator(seed);
    this.registerParameter('wte', randn([vocab, dim], { generator: g }).mul(0.1).detach());
    this.registerParameter('w1', randn([2 * dim, dim], { generator: g }).mul(0.1).detach());
    this.registerParameter('b1', zeros([dim]));
    this.registerParameter('head', randn([dim, vocab], { generator: g }).mul(0.1).detach());
  }

  forward({ inputIds }: { inputIds: Tensor }): { logits: Tensor } {
    const e = this.getParameter('wte').indexSelect(0, inputIds.reshape(-1)).reshape([...inputIds.shape, -1]);
    // previous token's embedding (zeros at position 0)
    const T = inputIds.shape[1]!;
    const prev = e.narrow(1, 0, T - 1);
    const pad = zeros([inputIds.shape[0]!, 1, e.shape[2]!]);
    const ctx = (T > 1 ? pad.add(0) : pad);
    const shifted = T > 1 ? ctxCat(ctx, prev) : ctx;
    const h = ctxCat2(e, shifted).matmul(this.getParameter('w1')).add(this.getParameter('b1')).tanh();
    return { logits: h.matmul(this.getParameter('head')) };
  }
}

import { cat } from '../../src/index.js';
const ctxCat = (a: Tensor, b: Tensor) => cat([a, b], 1);
const ctxCat2 = (a: Tensor, b: Tensor) => cat([a, b], 2);
