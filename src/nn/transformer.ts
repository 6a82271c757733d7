// The Transformer of torch.nn: encoder and decoder layers (post-norm as in the paper, or pre-norm),
// their stacks, and the full encoder-decoder. Options, defaults, state-dict keys and initialisation
// follow torch.nn (torch 2.x forward signatures, in camelCase option objects).

import { tensor } from '../tensor/ops/creation.js';
import { layerOptions, requirePositiveInts } from './options.js';
import type { Tensor } from '../tensor/tensor.js';
import { getActivation, type Activation } from './activation.js';
import { MultiheadAttention, type KeyValue } from './attention.js';
import { ModuleList } from './container.js';
import { Dropout } from './dropout.js';
import { xavierUniform_ } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { LayerNorm } from './normalization.js';

export interface TransformerLayerOptions {
  dModel: number;
  nhead: number;
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu' | Activation;
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
  bias?: boolean;
}

function layerDefaults(o: TransformerLayerOptions, layer: string) {
  requirePositiveInts(layer, { dModel: o.dModel, nhead: o.nhead, ...(o.dimFeedforward !== undefined ? { dimFeedforward: o.dimFeedforward } : {}) });
  if (o.dModel % o.nhead !== 0) throw new Error(`${layer}: dModel ${o.dModel} must be divisible by nhead ${o.nhead}`);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new Error(`${layer}: dropout must be in [0, 1), got ${o.dropout}`);
  return {
    dimFeedforward: o.dimFeedforward ?? 2048, dropout: o.dropout ?? 0.1, activation: getActivation(o.activation ?? 'relu'),
    eps: o.layerNormEps ?? 1e-5, batchFirst: o.batchFirst ?? false, normFirst: o.normFirst ?? false, bias: o.bias ?? true,
  };
}

export interface EncoderLayerForwardOptions {
  /** torch MHA mask: [L, L] or [N·nhead, L, L], bool true = not allowed, or float added. */
  srcMask?: Tensor | null;
  /** [N, L], bool true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
  /** Positions for RoPE (when a model attached one), int32 [N, L]. */
  positionIds?: Tensor | null;
}

export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly normFirst: boolean;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  activation: Activation;

  /** new TransformerEncoderLayer({ dModel, nhead, ... }), or torch's TransformerEncoderLayer(dModel, nhead, dimFeedforward, dropout). */
  constructor(options: TransformerLayerOptions | number, ...rest: unknown[]) {
    super();
    const opts = layerOptions<TransformerLayerOptions>('TransformerEncoderLayer', options, rest, ['dModel', 'nhead', 'dimFeedforward', 'dropout']);
    const o = layerDefaults(opts, 'TransformerEncoderLayer');
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention({ embedDim: opts.dModel, numHeads: opts.nhead, dropout: o.dropout, bias: o.bias, batchFirst: o.batchFirst }));
    this.linear1 = this.registerModule('linear1', new Linear(opts.dModel, o.dimFeedforward, { bias: o.bias }));
    this.dropout = this.registerModule('dropout', new Dropout(o.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(o.dimFeedforward, opts.dModel, { bias: o.bias }));
    this.normFirst = o.normFirst;
    this.norm1 = this.registerModule('norm1', new LayerNorm(opts.dModel, { eps: o.eps, bias: o.bias }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(opts.dModel, { eps: o.eps, bias: o.bias }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(o.dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(o.dropout));
    this.activation = o.activation;
  }

  forward(src: Tensor, opts: EncoderLayerForwardOptions = {}): Tensor {
    let x = src;
    if (this.normFirst) {
      x = x.add(this.saBlock(this.norm1.forward(x), opts));
      x = x.add(this.ffBlock(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(this.saBlock(x, opts)));
      x = this.norm2.forward(x.add(this.ffBlock(x)));
    }
    return x;
  }

  private saBlock(x: Tensor, opts: EncoderLayerForwardOptions): Tensor {
    const [y] = this.selfAttn.forward(x, x, x, {
      attnMask: opts.srcMask, keyPaddingMask: opts.srcKeyPaddingMask, needWeights: false, isCausal: opts.isCausal, positionIds: opts.positionIds,
    });
    return this.dropout1.forward(y);
  }

  private ffBlock(x: Tensor): Tensor {
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
  }
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
  positionIds?: Tensor | null;
}

/** One decoder layer's cache: its self-attention keys/values, and the memory's (computed once). */
export interface DecoderLayerCache { self: KeyValue | null; cross: KeyValue | null }

export class TransformerDecoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly multiheadAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly normFirst: boolean;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly dropout3: Dropout;
  activation: Activation;

  /** new TransformerDecoderLayer({ dModel, nhead, ... }), or torch's TransformerDecoderLayer(dModel, nhead, dimFeedforward, dropout). */
  constructor(options: TransformerLayerOptions | number, ...rest: unknown[]) {
    super();
    const opts = layerOptions<TransformerLayerOptions>('TransformerDecoderLayer', options, rest, ['dModel', 'nhead', 'dimFeedforward', 'dropout']);
    const o = layerDefaults(opts, 'TransformerDecoderLayer');
    const mha = () => new MultiheadAttention({ embedDim: opts.dModel, numHeads: opts.nhead, dropout: o.dropout, bias: o.bias, batchFirst: o.batchFirst });
    this.selfAttn = this.registerModule('self_attn', mha());
    this.multiheadAttn = this.registerModule('multihead_attn', mha());
    this.linear1 = this.registerModule('linear1', new Linear(opts.dModel, o.dimFeedforward, { bias: o.bias }));
    this.dropout = this.registerModule('dropout', new Dropout(o.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(o.dimFeedforward, opts.dModel, { bias: o.bias }));
    this.normFirst = o.normFirst;
    this.norm1 = this.registerModule('norm1', new LayerNorm(opts.dModel, { eps: o.eps, bias: o.bias }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(opts.dModel, { eps: o.eps, bias: o.bias }));
    this.norm3 = this.registerModule('norm3', new LayerNorm(opts.dModel, { eps: o.eps, bias: o.bias }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(o.dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(o.dropout));
    this.dropout3 = this.registerModule('dropout3', new Dropout(o.dropout));
    this.activation = o.activation;
  }

  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    return this.forwardWithCache(tgt, memory, opts).output;
  }

  /**
   * forward() that also takes and returns a cache, for step-by-step decoding: tgt holds only the
   * new positions; their keys and values extend cache.self, and cache.cross holds the memory's.
   */
  forwardWithCache(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}, cache: DecoderLayerCache | null = null,
  ): { output: Tensor; present: DecoderLayerCache } {
    let x = tgt;
    let present: DecoderLayerCache;
    if (this.normFirst) {
      const sa = this.saBlock(this.norm1.forward(x), opts, cache);
      x = x.add(sa.y);
      const mha = this.mhaBlock(this.norm2.forward(x), memory, opts, cache);
      x = x.add(mha.y);
      x = x.add(this.ffBlock(this.norm3.forward(x)));
      present = { self: sa.kv, cross: mha.kv };
    } else {
      const sa = this.saBlock(x, opts, cache);
      x = this.norm1.forward(x.add(sa.y));
      const mha = this.mhaBlock(x, memory, opts, cache);
      x = this.norm2.forward(x.add(mha.y));
      x = this.norm3.forward(x.add(this.ffBlock(x)));
      present = { self: sa.kv, cross: mha.kv };
    }
    return { output: x, present };
  }

  private saBlock(x: Tensor, opts: DecoderLayerForwardOptions, cache: DecoderLayerCache | null): { y: Tensor; kv: KeyValue } {
    const r = this.selfAttn.attention(x, x, x, {
      attnMask: opts.tgtMask, keyPaddingMask: opts.tgtKeyPaddingMask, needWeights: false, isCausal: opts.tgtIsCausal,
      positionIds: opts.positionIds, pastKeyValue: cache?.self ?? null,
    });
    return { y: this.dropout1.forward(r.output), kv: r.present };
  }

  private mhaBlock(x: Tensor, mem: Tensor, opts: DecoderLayerForwardOptions, cache: DecoderLayerCache | null): { y: Tensor; kv: KeyValue } {
    const r = this.multiheadAttn.attention(x, mem, mem, {
      attnMask: opts.memoryMask, keyPaddingMask: opts.memoryKeyPaddingMask, needWeights: false, isCausal: opts.memoryIsCausal,
      staticKeyValue: cache?.cross ?? null,
    });
    return { y: this.dropout2.forward(r.output), kv: r.present };
  }

  private ffBlock(x: Tensor): Tensor {
    return this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
  }
}

/** A stack of numLayers deep copies of layer (as torch), with an optional final norm. */
export class TransformerEncoder extends Module {
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm | null;
  readonly numLayers: number;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.deepCopy())));
    this.numLayers = numLayers;
    this.norm = this.registerModule('norm', norm);
  }

  forward(src: Tensor, opts: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean; positionIds?: Tensor | null } = {}): Tensor {
    let x = src;
    for (const layer of this.layers) {
      x = layer.forward(x, { srcMask: opts.mask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal, positionIds: opts.positionIds });
    }
    return this.norm ? this.norm.forward(x) : x;
  }
}

export class TransformerDecoder extends Module {
  readonly layers: ModuleList<TransformerDecoderLayer>;
  readonly norm: LayerNorm | null;
  readonly numLayers: number;

  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.deepCopy())));
    this.numLayers = numLayers;
    this.norm = this.registerModule('norm', norm);
  }

  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    return this.forwardWithCache(tgt, memory, opts).output;
  }

  /** forward() with a per-layer cache (see TransformerDecoderLayer.forwardWithCache). */
  forwardWithCache(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}, cache: DecoderLayerCache[] | null = null,
  ): { output: Tensor; present: DecoderLayerCache[] } {
    let x = tgt;
    const present: DecoderLayerCache[] = [];
    let i = 0;
    for (const layer of this.layers) {
      const r = layer.forwardWithCache(x, memory, opts, cache?.[i++] ?? null);
      x = r.output;
      present.push(r.present);
    }
    return { output: this.norm ? this.norm.forward(x) : x, present };
  }
}

export interface TransformerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu' | Activation;
  customEncoder?: Module & { forward(src: Tensor, opts?: object): Tensor };
  customDecoder?: Module & { forward(tgt: Tensor, memory: Tensor, opts?: object): Tensor };
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
  bias?: boolean;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/** torch.nn.Transformer: encoder and decoder stacks with final norms; every matrix xavier_uniform. */
export class Transformer extends Module {
  readonly encoder: Module & { forward(src: Tensor, opts?: object): Tensor };
  readonly decoder: Module & { forward(tgt: Tensor, memory: Tensor, opts?: object): Tensor };
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(opts: TransformerOptions = {}) {
    super();
    const layerOpts: TransformerLayerOptions = {
      dModel: opts.dModel ?? 512, nhead: opts.nhead ?? 8, dimFeedforward: opts.dimFeedforward ?? 2048, dropout: opts.dropout ?? 0.1,
      activation: opts.activation ?? 'relu', layerNormEps: opts.layerNormEps ?? 1e-5, batchFirst: opts.batchFirst ?? false,
      normFirst: opts.normFirst ?? false, bias: opts.bias ?? true,
    };
    const d = layerOpts.dModel, eps = layerOpts.layerNormEps, bias = layerOpts.bias;
    this.encoder = this.registerModule('encoder', opts.customEncoder
      ?? new TransformerEncoder(new TransformerEncoderLayer(layerOpts), opts.numEncoderLayers ?? 6, new LayerNorm(d, { eps, bias })));
    this.decoder = this.registerModule('decoder', opts.customDecoder
      ?? new TransformerDecoder(new TransformerDecoderLayer(layerOpts), opts.numDecoderLayers ?? 6, new LayerNorm(d, { eps, bias })));
    this.dModel = d;
    this.nhead = layerOpts.nhead;
    this.batchFirst = layerOpts.batchFirst!;
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }

  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    const batchDim = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && tgt.ndim === 3 && src.shape[batchDim] !== tgt.shape[batchDim]) {
      throw new Error(`Transformer: src and tgt batch sizes differ (${src.shape[batchDim]} vs ${tgt.shape[batchDim]})`);
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new Error(`Transformer: src and tgt must have dModel=${this.dModel} features, got ${src.shape[src.ndim - 1]} and ${tgt.shape[tgt.ndim - 1]}`);
    }
    const memory = this.encoder.forward(src, { mask: opts.srcMask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.srcIsCausal });
    return this.decoder.forward(tgt, memory, {
      tgtMask: opts.tgtMask, memoryMask: opts.memoryMask, tgtKeyPaddingMask: opts.tgtKeyPaddingMask,
      memoryKeyPaddingMask: opts.memoryKeyPaddingMask, tgtIsCausal: opts.tgtIsCausal, memoryIsCausal: opts.memoryIsCausal,
    });
  }

  /** [sz, sz] float: −inf above the diagonal, 0 on and below (position i sees 0..i). */
  static generateSquareSubsequentMask(sz: number, opts: { device?: string } = {}): Tensor {
    const m = new Float32Array(sz * sz);
    for (let i = 0; i < sz; i++) m.fill(-Infinity, i * sz + i + 1, (i + 1) * sz);
    return tensor(m, { shape: [sz, sz], device: opts.device });
  }
}
