// The encoder-decoder Transformer of "Attention is all you need" (Vaswani et al. 2017), for
// translation and summarization: embeddings × √d, positional encoding, nn.Transformer's encoder and
// decoder, and an output projection that shares the target embedding matrix.

import { crossEntropy } from '../../tensor/ops/nn.js';
import { where } from '../../tensor/ops/elementwise.js';
import { full } from '../../tensor/ops/creation.js';
import { cat } from '../../tensor/ops/indexing.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { Dropout } from '../../nn/dropout.js';
import type { PositionType } from '../../nn/positional.js';
import { Transformer, type DecoderLayerCache, type TransformerDecoder, type TransformerEncoder } from '../../nn/transformer.js';
import { noInit, normal_ } from '../../nn/init.js';
import type { TaskName } from '../tasks.js';
import { PreTrainedModel, asIds, optionalIds, tieWeight, type Ids, type ModelInputs, type ModelOutput } from '../modeling.js';
import { addPositions, attentionPositions, positionConcatDim, positionEmbedding, type PositionEmbedding } from '../positions.js';
import { MASK_MIN } from '../hf.js';
import { seq2seqConfig, type Seq2SeqConfig } from './config.js';

export interface Seq2SeqInputs extends ModelInputs {
  /** [B, S] source ids (required: the seq2seq model takes no inputsEmbeds). */
  inputIds: Ids;
  /** [B, T] target-side ids; made from labels (shifted right after decoder_start_token_id) when absent. */
  decoderInputIds?: Ids | null;
  /** [B, past + T] 1 = token, 0 = padding. */
  decoderAttentionMask?: Ids | null;
}

export interface DecodeInputs {
  decoderInputIds: Ids;
  /** encode()'s output [B, S, d]. */
  encoderHiddenStates: Tensor;
  /** The source padding mask, [B, S]. */
  attentionMask?: Ids | null;
  decoderAttentionMask?: Ids | null;
  /** Per decoder layer: self-attention keys/values so far and the memory's keys/values. */
  pastKeyValues?: DecoderLayerCache[] | null;
  useCache?: boolean;
}

/** A padding mask (1 = token) as MultiheadAttention's float key-padding mask: HF's finite minimum, so no row is all −inf. */
function keyPaddingMask(mask: Tensor | null): Tensor | null {
  return mask === null ? null : where(mask.eq(0), MASK_MIN, 0);
}

/** Token embeddings × √d plus positions, for one side (tokens is a plain field: the model owns the table). */
class Embedder extends Module {
  readonly scale: number;
  constructor(readonly tokens: Embedding, readonly positions: PositionEmbedding | null, dModel: number, scale: boolean) {
    super();
    this.registerModule('positions', positions);
    this.scale = scale ? Math.sqrt(dModel) : 1;
  }
  forward(ids: Tensor, offset: number): Tensor {
    let x = this.tokens.forward(ids);
    if (this.scale !== 1) x = x.mul(this.scale);
    return addPositions(this.positions, x, null, offset);
  }
}

export class Seq2SeqTransformer extends PreTrainedModel<Seq2SeqConfig> {
  readonly src_embed: Embedding;
  readonly tgt_embed: Embedding;
  readonly src_positions: Embedder;
  readonly tgt_positions: Embedder;
  readonly dropout: Dropout;
  readonly transformer: Transformer;
  readonly lm_head: Linear;

  constructor(config: Partial<Seq2SeqConfig> & Record<string, unknown> & { vocab_size?: number }, { skipInit = false } = {}) {
    const c = seq2seqConfig(config);
    super(c);
    const pt = c.position_embedding_type as PositionType;
    const d = c.d_model;
    const concatDim = positionConcatDim(pt, d, c.position_embedding_dim);
    const positions = () => positionEmbedding(pt, { dim: d, maxPositions: c.max_position_embeddings, concatDim });
    noInit(() => {
      this.registerModule('src_embed', new Embedding(c.src_vocab_size, d - concatDim, { paddingIdx: c.pad_token_id }));
      this.registerModule('tgt_embed', new Embedding(c.tgt_vocab_size, d - concatDim, { paddingIdx: c.pad_token_id }));
    });
    this.src_embed = this._modules.get('src_embed') as Embedding;
    this.tgt_embed = this._modules.get('tgt_embed') as Embedding;
    if (c.share_embeddings) tieWeight(this.tgt_embed, this.src_embed.weight);
    this.src_positions = this.registerModule('src_positions', new Embedder(this.src_embed, positions(), d, c.scale_embedding));
    this.tgt_positions = this.registerModule('tgt_positions', new Embedder(this.tgt_embed, positions(), d, c.scale_embedding));
    this.dropout = this.registerModule('dropout', new Dropout(c.dropout));
    this.transformer = this.registerModule('transformer', new Transformer({
      dModel: d, nhead: c.nhead, numEncoderLayers: c.num_encoder_layers, numDecoderLayers: c.num_decoder_layers,
      dimFeedforward: c.dim_feedforward, dropout: c.dropout, activation: c.activation, layerNormEps: c.layer_norm_eps,
      batchFirst: true, normFirst: c.norm_first,
    }));
    this.lm_head = this.registerModule('lm_head', noInit(() => new Linear(d, c.tgt_vocab_size, { bias: false })));
    const tie = c.tie_word_embeddings && concatDim === 0;
    if (tie) tieWeight(this.lm_head, this.tgt_embed.weight);
    // RoPE, ALiBi or relative positions act inside self-attention (not across to the memory).
    const pos = attentionPositions(pt, { numHeads: c.nhead, headDim: d / c.nhead, maxPositions: c.max_position_embeddings,
      maxRelativePosition: c.max_relative_position, ropeTheta: c.rope_theta });
    if (pos.rotary || pt === 'alibi' || pt === 'relative') {
      for (const layer of this.encoder.layers) layer.selfAttn.setPositional({ rotary: pos.rotary, scoreBias: pos.scoreBias() });
      for (const layer of this.decoder.layers) layer.selfAttn.setPositional({ rotary: pos.rotary, scoreBias: pos.scoreBias() });
    }
    if (!skipInit) {
      // N(0, d^-1/2): with the √d scale the embedded tokens have unit variance (fairseq's choice for tied embeddings).
      normal_(this.src_embed.weight, 0, 1 / Math.sqrt(d)); this.src_embed.zeroPaddingRow();
      if (!c.share_embeddings) { normal_(this.tgt_embed.weight, 0, 1 / Math.sqrt(d)); this.tgt_embed.zeroPaddingRow(); }
      if (!tie) normal_(this.lm_head.weight, 0, 1 / Math.sqrt(d));
    }
  }

  get encoder(): TransformerEncoder { return this.transformer.encoder as TransformerEncoder; }
  get decoder(): TransformerDecoder { return this.transformer.decoder as TransformerDecoder; }
  static readonly tasks: readonly TaskName[] = ['seq2seq-lm'];
  get architecture(): string { return 'Seq2SeqTransformer'; }
  override tiedKeys(): [string, string][] { return [['tgt_embed.weight', 'src_embed.weight'], ['lm_head.weight', 'tgt_embed.weight']]; }

  /** The source side: memory [B, S, d] for decode(). */
  encode(inputs: { inputIds: Ids; attentionMask?: Ids | null }): Tensor {
    const ids = asIds(inputs.inputIds);
    const x = this.dropout.forward(this.src_positions.forward(ids, 0));
    return this.encoder.forward(x, { srcKeyPaddingMask: keyPaddingMask(optionalIds(inputs.attentionMask, 'attentionMask')) });
  }

  /** The target side, one or many positions at a time (with pastKeyValues: only the new ones). */
  decode(inputs: DecodeInputs): { logits: Tensor; lastHiddenState: Tensor; presentKeyValues?: DecoderLayerCache[] } {
    const ids = asIds(inputs.decoderInputIds, 'decoderInputIds');
    const cache = inputs.pastKeyValues ?? null;
    const past = cache?.[0]?.self?.key.shape[2] ?? 0;
    const y = this.dropout.forward(this.tgt_positions.forward(ids, past));
    const r = this.decoder.forwardWithCache(y, inputs.encoderHiddenStates, {
      tgtIsCausal: true,
      tgtKeyPaddingMask: keyPaddingMask(optionalIds(inputs.decoderAttentionMask, 'decoderAttentionMask')),
      memoryKeyPaddingMask: keyPaddingMask(optionalIds(inputs.attentionMask, 'attentionMask')),
    }, cache);
    const logits = this.lm_head.forward(r.output);
    return { logits, lastHiddenState: r.output, ...(inputs.useCache ? { presentKeyValues: r.present } : {}) };
  }

  /** Teacher-forced forward: logits [B, T, tgt_vocab] for decoderInputIds (or labels shifted right), and the loss given labels. */
  forward(inputs: Seq2SeqInputs): ModelOutput & { logits: Tensor } {
    const labels = optionalIds(inputs.labels, 'labels');
    let dec = optionalIds(inputs.decoderInputIds, 'decoderInputIds');
    if (dec === null) {
      if (labels === null) throw new Error('Seq2SeqTransformer.forward: pass decoderInputIds or labels');
      dec = this.shiftRight(labels);
    }
    const memory = this.encode(inputs);
    const out = this.decode({ decoderInputIds: dec, encoderHiddenStates: memory, attentionMask: inputs.attentionMask, decoderAttentionMask: inputs.decoderAttentionMask });
    const result: ModelOutput & { logits: Tensor } = { logits: out.logits, lastHiddenState: out.lastHiddenState };
    if (labels !== null) {
      const V = this.config.tgt_vocab_size;
      result.loss = crossEntropy(out.logits.reshape(-1, V), labels.reshape(-1), { ignoreIndex: -100, labelSmoothing: this.config.label_smoothing });
    }
    return result;
  }

  /** [start, y0, …, y_{T−2}] from labels [y0 … y_{T−1}], -100 read as padding (HF's shift_tokens_right). */
  shiftRight(labels: Tensor): Tensor {
    const B = labels.shape[0]!, T = labels.shape[1]!;
    const start = full([B, 1], this.config.decoder_start_token_id, { dtype: 'int32' });
    const shifted = cat([start, labels.narrow(1, 0, T - 1)], 1);
    return where(shifted.eq(-100), this.config.pad_token_id, shifted);
  }
}
