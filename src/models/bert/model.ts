// BERT (Devlin et al. 2019) in HF Transformers' layout, read top to bottom: embeddings (token +
// position + segment, LayerNorm) → self-attention → feed-forward → layer → encoder → pooler →
// BertModel. The task heads (masked LM, sequence classification, question answering) are in heads.ts.

import { arange, zeros } from '../../tensor/ops/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/normalization.js';
import { Dropout } from '../../nn/dropout.js';
import { ModuleList } from '../../nn/container.js';
import { cat } from '../../tensor/ops/indexing.js';
import { attend, type KeyValue } from '../../nn/attention.js';
import { getActivation, type Activation } from '../../nn/activation.js';
import { noInit, normal_, zeros_ } from '../../nn/init.js';
import { RelativePositionBias, type RotaryEmbedding, type ScoreBias } from '../../nn/positional.js';
import { PreTrainedModel, idsOrEmbeds, optionalIds, type ModelInputs, type ModelOutput } from '../modeling.js';
import { addPositions, attentionPositions, modelAttentionMask, positionConcatDim, positionEmbedding, type PositionEmbedding } from '../positions.js';
import { bertConfig, bertConfigDict, type BertConfig } from './config.js';

export type ConfigInput = Partial<BertConfig> & Record<string, unknown> & { num_labels?: number };

class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: PositionEmbedding | null;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(c: BertConfig) {
    super();
    const pt = c.position_embedding_type;
    const concatDim = positionConcatDim(pt, c.hidden_size, c.position_embedding_dim);
    const tokenDim = c.hidden_size - concatDim;
    this.word_embeddings = this.registerModule('word_embeddings', new Embedding(c.vocab_size, tokenDim, { paddingIdx: c.pad_token_id }));
    this.position_embeddings = this.registerModule('position_embeddings',
      positionEmbedding(pt, { dim: c.hidden_size, maxPositions: c.max_position_embeddings, concatDim }));
    this.token_type_embeddings = this.registerModule('token_type_embeddings', new Embedding(c.type_vocab_size, tokenDim));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps }));
    this.dropout = this.registerModule('dropout', new Dropout(c.hidden_dropout_prob));
  }
  /** embeds: given in place of the word embeddings of ids (HF's inputs_embeds). */
  forward(ids: Tensor | null, tokenTypeIds: Tensor | null, positionIds: Tensor | null, embeds: Tensor | null = null): Tensor {
    let x = embeds ?? this.word_embeddings.forward(ids!);
    const [B, T] = x.shape as [number, number];
    x = x.add(this.token_type_embeddings.forward(tokenTypeIds ?? zeros([B, T], { dtype: 'int32' })));
    x = addPositions(this.position_embeddings, x, positionIds);
    return this.dropout.forward(this.LayerNorm.forward(x));
  }
}

interface LayerContext { mask: Tensor | null; positionIds: Tensor | null; outputAttentions: boolean }

class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly dropoutP: number;
  readonly numHeads: number;
  rotary: RotaryEmbedding | null = null;
  scoreBias: ScoreBias | null = null;
  constructor(c: BertConfig) {
    super();
    this.query = this.registerModule('query', new Linear(c.hidden_size, c.hidden_size));
    this.key = this.registerModule('key', new Linear(c.hidden_size, c.hidden_size));
    this.value = this.registerModule('value', new Linear(c.hidden_size, c.hidden_size));
    this.dropoutP = c.attention_probs_dropout_prob;
    this.numHeads = c.num_attention_heads;
  }
  /** prefix: keys and values [B, H, P, Dh] put before this layer's own (HF's past_key_value; prefix tuning). */
  forward(x: Tensor, ctx: LayerContext, prefix: KeyValue | null = null): { y: Tensor; weights: Tensor | null } {
    const [B, T, E] = x.shape as [number, number, number];
    const heads = (t: Tensor) => t.reshape(B, T, this.numHeads, E / this.numHeads).transpose(1, 2);
    let q = heads(this.query.forward(x)), k = heads(this.key.forward(x));
    let v = heads(this.value.forward(x));
    if (this.rotary) { q = this.rotary.forward(q, ctx.positionIds); k = this.rotary.forward(k, ctx.positionIds); }
    if (prefix) { k = cat([prefix.key, k], 2); v = cat([prefix.value, v], 2); }
    // A prefix is positionless: its virtual keys carry no position (as under learned positions, where
    // they get no position embedding), so a position's score bias (ALiBi, relative) is 0 on them.
    // Placed at distance P..1 instead, ALiBi's steep heads would hide the prefix from all but the
    // first few tokens.
    const S = k.shape[2]!;
    const bias = this.scoreBias ? this.scoreBias.scoreBias(q, 0, S, S - T) : null;
    const { output, weights } = attend(q, k, v, { mask: ctx.mask, bias, dropoutP: this.dropoutP, training: this.training, needWeights: ctx.outputAttentions });
    return { y: output.transpose(1, 2).reshape(B, T, E), weights };
  }
}

/** dense → dropout → LayerNorm(· + residual): HF's BertSelfOutput and BertOutput alike. */
class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(c: BertConfig, inDim: number) {
    super();
    this.dense = this.registerModule('dense', new Linear(inDim, c.hidden_size));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps }));
    this.dropout = this.registerModule('dropout', new Dropout(c.hidden_dropout_prob));
  }
  /** Post-norm: LN(residual + dropout(dense(h))); pre-norm adds without the norm (applied earlier). */
  forward(h: Tensor, residual: Tensor, normFirst: boolean): Tensor {
    const y = residual.add(this.dropout.forward(this.dense.forward(h)));
    return normFirst ? y : this.LayerNorm.forward(y);
  }
}

class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;
  constructor(c: BertConfig) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(c));
    this.output = this.registerModule('output', new BertResidualOutput(c, c.hidden_size));
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;
  readonly act: Activation;
  constructor(c: BertConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(c.hidden_size, c.intermediate_size));
    this.act = getActivation(c.hidden_act);
  }
  forward(x: Tensor): Tensor { return this.act(this.dense.forward(x)); }
}

class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;
  readonly normFirst: boolean;
  constructor(c: BertConfig) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(c));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(c));
    this.output = this.registerModule('output', new BertResidualOutput(c, c.intermediate_size));
    this.normFirst = c.norm_first;
  }
  forward(x: Tensor, ctx: LayerContext, prefix: KeyValue | null = null): { x: Tensor; weights: Tensor | null } {
    const pre = this.normFirst;
    // Pre-norm uses each sublayer's LayerNorm on its input instead of on its output.
    const a = this.attention.self.forward(pre ? this.attention.output.LayerNorm.forward(x) : x, ctx, prefix);
    x = this.attention.output.forward(a.y, x, pre);
    const h = this.intermediate.forward(pre ? this.output.LayerNorm.forward(x) : x);
    return { x: this.output.forward(h, x, pre), weights: a.weights };
  }
}

class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;
  /** Only for pre-norm (norm_first): the stack's final LayerNorm. */
  readonly final_layer_norm: LayerNorm | null;
  constructor(c: BertConfig) {
    super();
    this.layer = this.registerModule('layer', new ModuleList(Array.from({ length: c.num_hidden_layers }, () => new BertLayer(c))));
    this.final_layer_norm = this.registerModule('final_layer_norm', c.norm_first ? new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps }) : null);
    const pos = attentionPositions(c.position_embedding_type, { numHeads: c.num_attention_heads, headDim: c.hidden_size / c.num_attention_heads,
      maxPositions: c.max_position_embeddings, maxRelativePosition: c.max_relative_position, ropeTheta: c.rope_theta });
    for (const l of this.layer) {
      const self = l.attention.self;
      self.rotary = pos.rotary;
      self.scoreBias = pos.scoreBias();
      if (self.scoreBias instanceof Module) self.registerModule('relative_position', self.scoreBias);
    }
  }
}

/** The mask of the T tokens themselves ([B, T]), from one that may cover a prefix's too ([B, P + T]). */
function tokenMask(attentionMask: Tensor | null, T: number): Tensor | null {
  if (attentionMask === null) return null;
  const S = attentionMask.shape[1]!;
  return S === T ? attentionMask : attentionMask.narrow(1, S - T, T);
}

class BertPooler extends Module {
  readonly dense: Linear | null;
  readonly pooling: 'cls' | 'mean';
  constructor(c: BertConfig) {
    super();
    this.dense = c.pooler_dense ? this.registerModule('dense', new Linear(c.hidden_size, c.hidden_size)) : null;
    this.pooling = c.classifier_pooling;
  }
  /**
   * tanh(W h + b) of the [CLS] state (BERT: its next-sentence pretraining trained that state to
   * summarise the input), or of the mean of the unpadded states (classifier_pooling 'mean', as
   * ModernBERT's: for a model pretrained by masked LM alone, whose [CLS] state learned nothing).
   */
  forward(h: Tensor, attentionMask: Tensor | null): Tensor {
    const pooled = this.pool(h, attentionMask);
    return this.dense ? this.dense.forward(pooled).tanh() : pooled;
  }
  private pool(h: Tensor, attentionMask: Tensor | null): Tensor {
    if (this.pooling === 'cls') return h.select(1, 0);
    if (attentionMask === null) return h.mean(1);
    // The masked sum as one batched product [B,1,T]·[B,T,D], with no masked copy of the states.
    const m = attentionMask.float();
    const sum = m.unsqueeze(1).matmul(h).squeeze(1);
    return sum.div(m.sum(1, true).clamp(1));
  }
}

/** HF's _init_weights for BERT: N(0, initializer_range) for Linear, Embedding (and relative positions), zero biases and padding row. */
export function initBertWeights(model: Module, std: number): void {
  for (const [, m] of model.namedModules()) {
    if (m instanceof Linear) { normal_(m.weight, 0, std); if (m.bias) zeros_(m.bias); }
    else if (m instanceof Embedding) { normal_(m.weight, 0, std); m.zeroPaddingRow(); }
    else if (m instanceof RelativePositionBias) normal_(m.weight, 0, std);
  }
}

export class BertModel extends PreTrainedModel<BertConfig> {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(config: ConfigInput = {}, { addPoolingLayer = true, skipInit = false } = {}) {
    const c = bertConfig(config);
    super(c);
    noInit(() => {
      this.registerModule('embeddings', new BertEmbeddings(c));
      this.registerModule('encoder', new BertEncoder(c));
      this.registerModule('pooler', addPoolingLayer ? new BertPooler(c) : null);
    });
    this.embeddings = this._modules.get('embeddings') as BertEmbeddings;
    this.encoder = this._modules.get('encoder') as BertEncoder;
    this.pooler = this._modules.get('pooler') as BertPooler | null;
    if (!skipInit) initBertWeights(this, c.initializer_range);
  }

  get architecture(): string { return 'BertModel'; }
  override get baseModelPrefix(): string { return 'bert'; }
  override ignoredKeys(): RegExp[] { return [/embeddings\.(position_ids|token_type_ids)$/]; }
  override configDict(): Record<string, unknown> { return { ...bertConfigDict(this.config), architectures: [this.architecture] }; }

  forward(inputs: ModelInputs): ModelOutput & { lastHiddenState: Tensor } {
    const { ids, embeds, B, T } = idsOrEmbeds(inputs, this.embeddings.word_embeddings.embeddingDim);
    const prefix = this.prefixKeyValues(inputs.pastKeyValues ?? null, B);
    const P = prefix?.[0]!.key.shape[2] ?? 0;
    // With a prefix, positions start after it, as HF BERT's past_key_values_length.
    let positionIds = optionalIds(inputs.positionIds, 'positionIds');
    if (positionIds === null && P > 0) positionIds = arange(P, P + T).reshape(1, T);
    if (P + T > this.config.max_position_embeddings && this.embeddings.position_embeddings !== null) {
      throw new Error(`BERT: ${P} prefix + ${T} tokens exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    let x = this.embeddings.forward(ids, optionalIds(inputs.tokenTypeIds, 'tokenTypeIds'), positionIds, embeds);
    const { mask } = modelAttentionMask(optionalIds(inputs.attentionMask, 'attentionMask'), T, P + T, false);
    const ctx: LayerContext = { mask, positionIds, outputAttentions: !!inputs.outputAttentions };
    const hiddenStates: Tensor[] = [x], attentions: Tensor[] = [];
    let i = 0;
    for (const layer of this.encoder.layer) {
      const r = layer.forward(x, ctx, prefix?.[i++] ?? null);
      x = r.x;
      hiddenStates.push(x);
      if (r.weights) attentions.push(r.weights);
    }
    if (this.encoder.final_layer_norm) { x = this.encoder.final_layer_norm.forward(x); hiddenStates[hiddenStates.length - 1] = x; }
    return {
      lastHiddenState: x,
      ...(this.pooler ? { poolerOutput: this.pooler.forward(x, tokenMask(optionalIds(inputs.attentionMask, 'attentionMask'), T)) } : {}),
      ...(inputs.outputHiddenStates ? { hiddenStates } : {}),
      ...(inputs.outputAttentions ? { attentions } : {}),
    };
  }

  /** pastKeyValues checked as per-layer prefixes: one per layer, keys and values [B, H, P, Dh]. */
  private prefixKeyValues(past: KeyValue[] | null, B: number): KeyValue[] | null {
    if (past === null || past.length === 0) return null;
    const L = this.encoder.layer.length, H = this.config.num_attention_heads, Dh = this.config.hidden_size / H;
    if (past.length !== L) throw new Error(`pastKeyValues has ${past.length} layers, the model ${L}`);
    const P = past[0]!.key.shape[2];
    for (const [i, kv] of past.entries()) {
      for (const t of [kv.key, kv.value]) {
        const s = t.shape;
        if (s.length !== 4 || s[0] !== B || s[1] !== H || s[2] !== P || s[3] !== Dh) {
          throw new Error(`pastKeyValues[${i}]: keys and values must be [${B}, ${H}, ${P}, ${Dh}] (batch, heads, prefix, head dim), got [${s.join(',')}]`);
        }
      }
    }
    return past;
  }
}
