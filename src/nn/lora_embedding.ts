// LoRA on an embedding table, as HF PEFT's lora.Embedding: y = base(ids) + Aᵀ[ids] Bᵀ · scaling, with
// A [r, numEmbeddings] and B [embeddingDim, r]. PEFT starts A at zero and B at N(0, 1) (the reverse
// of a linear layer's: a row of A only gets a gradient through B), so the adapter begins as a no-op.
// For a small model the word embeddings hold much of what fine-tuning changes (a word's sentiment,
// say): adapting them costs r · (numEmbeddings + embeddingDim) parameters.
// PEFT keeps A and B as bare parameters (ParameterDicts), so their checkpoint keys have no '.weight':
// <layer>.lora_embedding_A and <layer>.lora_embedding_B.

import { noGrad, tidy } from '../tensor/engine.js';
import { empty } from '../tensor/ops/core.js';
import { embedding } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Embedding } from './embedding.js';
import { kaimingUniform_, normal_, zeros_ } from './init.js';
import { checkAdapterOptions, LoraLayerBase, type LoraAdapterOptions } from './lora.js';
import { Module } from './module.js';

/** A name → parameter map (torch.nn.ParameterDict): PEFT keys embedding adapters' A and B by adapter name. */
export class ParameterDict extends Module {
  get(name: string): Tensor | undefined { return this._parameters.get(name) ?? undefined; }
  set(name: string, t: Tensor): void { this.registerParameter(name, t); }
  has(name: string): boolean { return this._parameters.has(name); }
  delete(name: string): void { this._parameters.delete(name); }
  keys(): string[] { return [...this._parameters.keys()]; }
}

export class LoraEmbedding extends LoraLayerBase {
  readonly base_layer: Embedding;
  /** Embedding tables are [numEmbeddings, dim] whatever the model: never transposed. */
  readonly fanInFanOut = false;
  readonly lora_embedding_A: ParameterDict;
  readonly lora_embedding_B: ParameterDict;

  constructor(base: Embedding) {
    super();
    this.base_layer = this.registerModule('base_layer', base);
    this.lora_embedding_A = this.registerModule('lora_embedding_A', new ParameterDict());
    this.lora_embedding_B = this.registerModule('lora_embedding_B', new ParameterDict());
    this.training = base.training;
  }

  get weight(): Tensor { return this.base_layer.weight; }
  protected get baseWeight(): Tensor { return this.base_layer.weight; }
  get adapterNames(): string[] { return this.lora_embedding_A.keys(); }
  hasAdapter(name: string): boolean { return this.lora_embedding_A.has(name); }
  adapterWeights(name: string): [string, Tensor][] {
    return [['lora_embedding_A', this.lora_embedding_A.get(name)!], ['lora_embedding_B', this.lora_embedding_B.get(name)!]];
  }

  /** Adds (or replaces) adapter `name`: A [r, numEmbeddings] zeros, B [dim, r] N(0, 1) (PEFT's init). Dropout does not apply to ids. */
  updateLayer(name: string, opts: LoraAdapterOptions): void {
    checkAdapterOptions(`LoraEmbedding adapter '${name}'`, opts);
    if (this.mergedAdapters.includes(name)) throw new Error(`LoraEmbedding: adapter '${name}' is merged; unmerge() before replacing it`);
    const { r } = opts, generator = opts.generator;
    const A = empty([r, this.base_layer.numEmbeddings]), B = empty([this.base_layer.embeddingDim, r]);
    if (opts.initLoraWeights === false) kaimingUniform_(A, { a: Math.sqrt(5), generator });
    else zeros_(A);
    normal_(B, 0, 1, generator);
    this.lora_embedding_A.set(name, A);
    this.lora_embedding_B.set(name, B);
    this.setScale(name, opts);
  }

  protected dropWeights(name: string): void {
    this.lora_embedding_A.delete(name);
    this.lora_embedding_B.delete(name);
  }

  /** (B A)ᵀ · scaling: [numEmbeddings, dim], the table's layout. */
  deltaWeight(name: string): Tensor {
    const A = this.lora_embedding_A.get(name), B = this.lora_embedding_B.get(name);
    if (!A || !B) throw this.noAdapter(name);
    return noGrad(() => tidy(() => A.mT.matmul(B.mT).mul(this.scaling[name]!)));
  }

  forward(ids: Tensor): Tensor {
    if (this.baseOnly()) return this.base_layer.forward(ids);
    let y = this.base_layer.forward(ids);
    for (const name of this.activeAdapters) {
      const A = this.lora_embedding_A.get(name)!, B = this.lora_embedding_B.get(name)!;
      // Rows of Aᵀ for the ids ([..., r]), then up to the model width; the scale on the rank-r rows.
      // (The lookup reads the transposed view as it is: no copy of Aᵀ enters the graph.)
      const rows = embedding(ids, A.mT, { paddingIdx: this.base_layer.paddingIdx });
      y = y.add(rows.mul(this.scaling[name]!).matmul(B.mT));
    }
    return y;
  }
}
