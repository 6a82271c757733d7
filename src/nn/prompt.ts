// Prompt-learning encoders, as HF PEFT's. PromptEmbedding (prompt tuning, Lester et al. 2021): P
// trainable vectors [P, d] put before the input embeddings. PrefixEncoder (prefix tuning, Li &
// Liang 2021; P-tuning v2, Liu et al. 2022): for each virtual token a key and a value in every
// layer, [P, numLayers·2·d], learned directly or through a two-layer MLP (the reparameterization
// that steadies training; only its output is needed afterwards). Module names follow PEFT's
// (embedding, transform.0, transform.2), so state-dict keys read like PEFT's.

import { noGrad } from '../tensor/engine.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { KeyValue } from './attention.js';
import { Sequential } from './container.js';
import { Embedding } from './embedding.js';
import { normal_, zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

function positiveInt(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${where}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** torch.nn.Tanh: the MLP's nonlinearity (no parameters; transform.1 in PEFT's keys). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

export interface PromptEmbeddingOptions {
  numVirtualTokens: number;
  /** The model's embedding width (PEFT's token_dim). */
  tokenDim: number;
  /** Starting vectors [P, d] (PEFT's TEXT and SAMPLE_VOCAB inits copy word embeddings); default N(0, 1), PEFT's RANDOM. */
  init?: Tensor | null;
  generator?: Generator;
}

/** Soft prompt: P trainable embeddings [P, d] (PEFT's PromptEmbedding). */
export class PromptEmbedding extends Module {
  readonly embedding: Embedding;
  readonly numVirtualTokens: number;
  readonly tokenDim: number;

  constructor(opts: PromptEmbeddingOptions) {
    super();
    this.numVirtualTokens = positiveInt('PromptEmbedding', 'numVirtualTokens', opts.numVirtualTokens);
    this.tokenDim = positiveInt('PromptEmbedding', 'tokenDim', opts.tokenDim);
    this.embedding = this.registerModule('embedding', new Embedding(this.numVirtualTokens, this.tokenDim));
    const init = opts.init ?? null;
    if (init !== null) {
      if (init.ndim !== 2 || init.shape[0] !== this.numVirtualTokens || init.shape[1] !== this.tokenDim) {
        throw new Error(`PromptEmbedding: init must be [${this.numVirtualTokens}, ${this.tokenDim}], got [${init.shape.join(',')}]`);
      }
      noGrad(() => this.embedding.weight.copy_(init));
    } else if (opts.generator) {
      normal_(this.embedding.weight, 0, 1, opts.generator);
    }
  }

  /** The prompt vectors [P, d] (the trainable table itself: gradients reach it directly). */
  forward(): Tensor { return this.embedding.weight; }
}

export interface PrefixEncoderOptions {
  numVirtualTokens: number;
  tokenDim: number;
  numLayers: number;
  /** Learn the prefix through Linear(d, h) → tanh → Linear(h, numLayers·2·d) (PEFT's prefix_projection). */
  prefixProjection?: boolean;
  /** h, the MLP's width (PEFT's encoder_hidden_size; default tokenDim). */
  encoderHiddenSize?: number;
  /** 'zero': the prefix starts at zero (PEFT's init_weights="zero"); default N(0, 1) as torch's Embedding. */
  initWeights?: 'zero' | null;
  /** The starting prefix [P, numLayers·2·d] (without the MLP only; e.g. real words' keys and values). */
  init?: Tensor | null;
  generator?: Generator;
}

/** Deep prompts: per virtual token, keys and values for every layer (PEFT's PrefixEncoder). */
export class PrefixEncoder extends Module {
  readonly embedding: Embedding;
  readonly transform: Sequential | null;
  readonly numVirtualTokens: number;
  readonly tokenDim: number;
  readonly numLayers: number;

  constructor(opts: PrefixEncoderOptions) {
    super();
    const where = 'PrefixEncoder';
    this.numVirtualTokens = positiveInt(where, 'numVirtualTokens', opts.numVirtualTokens);
    this.tokenDim = positiveInt(where, 'tokenDim', opts.tokenDim);
    this.numLayers = positiveInt(where, 'numLayers', opts.numLayers);
    const zero = opts.initWeights === 'zero';
    if (opts.initWeights !== undefined && opts.initWeights !== null && !zero) throw new Error(`${where}: initWeights must be 'zero' or null, got ${JSON.stringify(opts.initWeights)}`);
    const width = this.numLayers * 2 * this.tokenDim;
    const init = opts.init ?? null;
    if (init !== null) {
      if (zero || opts.prefixProjection) throw new Error(`${where}: init sets the prefix itself; it cannot go with ${zero ? "initWeights 'zero'" : 'prefixProjection (the MLP computes the prefix)'}`);
      if (init.ndim !== 2 || init.shape[0] !== this.numVirtualTokens || init.shape[1] !== width) {
        throw new Error(`${where}: init must be [${this.numVirtualTokens}, ${width}], got [${init.shape.join(',')}]`);
      }
    }
    if (opts.prefixProjection) {
      const h = positiveInt(where, 'encoderHiddenSize', opts.encoderHiddenSize ?? this.tokenDim);
      this.embedding = this.registerModule('embedding', new Embedding(this.numVirtualTokens, this.tokenDim));
      this.transform = this.registerModule('transform', new Sequential(new Linear(this.tokenDim, h), new Tanh(), new Linear(h, width)));
      if (zero) { const last = this.transform.at(2) as Linear; zeros_(last.weight); zeros_(last.bias!); }
    } else {
      this.embedding = this.registerModule('embedding', new Embedding(this.numVirtualTokens, width));
      this.transform = null;
      if (zero) zeros_(this.embedding.weight);
    }
    if (init !== null) noGrad(() => this.embedding.weight.copy_(init));
    else if (opts.generator && !zero) normal_(this.embedding.weight, 0, 1, opts.generator);
  }

  get prefixProjection(): boolean { return this.transform !== null; }

  /** The prefix, flat [P, numLayers·2·d]: per token, layer 0's key, layer 0's value, layer 1's key, ... */
  forward(): Tensor {
    const w = this.embedding.weight;
    return this.transform ? this.transform.forward(w) : w;
  }

  /**
   * The prefix as each layer's keys and values [B, H, P, Dh] (PEFT's get_prompt: the flat vector
   * viewed [P, numLayers·2, H, Dh], then layer i takes rows 2i (keys) and 2i + 1 (values)).
   */
  keyValues(batchSize: number, numHeads: number): KeyValue[] {
    const P = this.numVirtualTokens, d = this.tokenDim;
    if (d % numHeads !== 0) throw new Error(`PrefixEncoder: tokenDim ${d} is not divisible by ${numHeads} heads`);
    const Dh = d / numHeads;
    const kv = this.forward().reshape(P, this.numLayers * 2, numHeads, Dh).permute(1, 2, 0, 3); // [2L, H, P, Dh]
    const one = (i: number) => kv.select(0, i).unsqueeze(0).expand(batchSize, numHeads, P, Dh);
    return Array.from({ length: this.numLayers }, (_, l) => ({ key: one(2 * l), value: one(2 * l + 1) }));
  }
}
