// MarianMT (Junczys-Dowmunt et al. 2018; the OPUS-MT translation models) in HF Transformers' exact
// layout: MarianModel (shared embeddings, encoder, decoder) under `model.`, then lm_head (tied to the
// embeddings) plus the final_logits_bias buffer. A checkpoint of HF's MarianMTModel loads as it is,
// and savePretrained writes one that HF loads.
//
//   const mt = await MarianMTModel.fromPretrained('opus-mt-de-en');
//   const memory = mt.encode({ inputIds, attentionMask });          // once per source
//   mt.decode({ decoderInputIds, encoderHiddenStates: memory, pastKeyValues, useCache: true });
//   await mt.generate(ids, { numBeams: 4, maxNewTokensOverSource: 50 });

import { crossEntropy } from '../../tensor/ops/nn.js';
import { where } from '../../tensor/ops/elementwise.js';
import { full, zeros } from '../../tensor/ops/creation.js';
import { cat } from '../../tensor/ops/indexing.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/normalization.js';
import { noInit, normal_, ones_, zeros_ } from '../../nn/init.js';
import type { TaskName } from '../tasks.js';
import { PreTrainedModel, asIds, optionalIds, tieWeight, type Ids, type ModelInputs, type ModelOutput } from '../modeling.js';
import { MarianDecoder, MarianEncoder, type MarianLayerCache } from './layers.js';
import { marianConfig, type MarianConfig, type MarianConfigInput } from './config.js';

export interface MarianInputs extends ModelInputs {
  /** [B, S] source ids (required: the model takes no inputsEmbeds). */
  inputIds: Ids;
  /** [B, T] target-side ids; made from labels (shifted right after decoder_start_token_id) when absent. */
  decoderInputIds?: Ids | null;
  /** [B, T] 1 = token, 0 = padding (default: all tokens, as HF). */
  decoderAttentionMask?: Ids | null;
}

export interface MarianDecodeInputs {
  /** [B·k, T]: the new positions only when pastKeyValues are given. */
  decoderInputIds: Ids;
  /** encode()'s output [B, S, d]; with B·k decoder rows, each source's k consecutive rows read its row. */
  encoderHiddenStates: Tensor;
  /** The source padding mask [B, S] (1 = token). */
  attentionMask?: Ids | null;
  /** [B·k, past + T] decoder padding mask. */
  decoderAttentionMask?: Ids | null;
  pastKeyValues?: MarianLayerCache[] | null;
  useCache?: boolean;
}

export interface MarianOutput extends ModelOutput {
  logits: Tensor;
  /** The encoder's output (HF's encoder_last_hidden_state). */
  encoderLastHiddenState?: Tensor;
}

/** HF's MarianModel: the shared table (when shared), encoder and decoder. */
export class MarianModel extends Module {
  readonly shared: Embedding | null;
  readonly encoder: MarianEncoder;
  readonly decoder: MarianDecoder;
  constructor(c: MarianConfig) {
    super();
    const table = (n: number) => new Embedding(n, c.d_model, { paddingIdx: c.pad_token_id });
    // Shared: one Embedding module under three names (model.shared, encoder/decoder.embed_tokens), as HF.
    this.shared = this.registerModule('shared', c.share_encoder_decoder_embeddings ? table(c.vocab_size) : null);
    const encTokens = this.shared ?? table(c.vocab_size);
    const decTokens = this.shared ?? table(c.decoder_vocab_size);
    this.encoder = this.registerModule('encoder', new MarianEncoder(c, encTokens));
    this.decoder = this.registerModule('decoder', new MarianDecoder(c, decTokens));
  }
}

export class MarianMTModel extends PreTrainedModel<MarianConfig> {
  static readonly tasks: readonly TaskName[] = ['seq2seq-lm'];
  /** decode() takes one encoder output per source for several rows (beam search shares it). */
  readonly acceptsGroupedMemory = true;
  readonly model: MarianModel;
  readonly lm_head: Linear;

  constructor(config: MarianConfigInput = {}, { skipInit = false } = {}) {
    const c = marianConfig(config);
    super(c);
    this.model = this.registerModule('model', noInit(() => new MarianModel(c)));
    this.registerBuffer('final_logits_bias', zeros([1, c.decoder_vocab_size]));
    this.lm_head = this.registerModule('lm_head', noInit(() => new Linear(c.d_model, c.decoder_vocab_size, { bias: false })));
    if (c.tie_word_embeddings) tieWeight(this.lm_head, this.model.decoder.embed_tokens.weight);
    if (!skipInit) this.initWeights();
  }

  get architecture(): string { return 'MarianMTModel'; }
  override get baseModelPrefix(): string { return 'model'; }
  get encoder(): MarianEncoder { return this.model.encoder; }
  get decoder(): MarianDecoder { return this.model.decoder; }
  get finalLogitsBias(): Tensor { return this.getBuffer('final_logits_bias'); }

  /** HF's _tied_weights_keys: the embed_tokens are the shared table, lm_head the decoder's. */
  override tiedKeys(): [string, string][] {
    return [
      ['model.encoder.embed_tokens.weight', 'model.shared.weight'],
      ['model.decoder.embed_tokens.weight', 'model.shared.weight'],
      ['lm_head.weight', 'model.decoder.embed_tokens.weight'],
    ];
  }

  /** HF's _init_weights: Linear and Embedding N(0, init_std) (bias and padding row 0), LayerNorm 1/0, sinusoids fixed. */
  private initWeights(): void {
    const std = this.config.init_std;
    const seen = new Set<Module>(); // the shared table appears under three names
    for (const [, m] of this.namedModules()) {
      if (seen.has(m)) continue;
      seen.add(m);
      if (m instanceof Linear) { if (m.weight !== this.lm_head.weight || !this.config.tie_word_embeddings) normal_(m.weight, 0, std); if (m.bias) zeros_(m.bias); }
      else if (m instanceof Embedding) { normal_(m.weight, 0, std); m.zeroPaddingRow(); }
      else if (m instanceof LayerNorm) { ones_(m.weight!); zeros_(m.bias!); }
    }
  }

  /**
   * As HF: the sinusoid tables and final_logits_bias are optional in a checkpoint (newer HF leaves
   * the tables out, and both are _keys_to_ignore_on_load_missing); absent, they keep their values.
   */
  override optionalKeys(): RegExp[] { return [/embed_positions\.weight$/, /^final_logits_bias$/]; }

  /** The source side: the encoder's output [B, S, d] for decode(). */
  encode(inputs: { inputIds: Ids; attentionMask?: Ids | null }): Tensor {
    return this.encoder.forward(asIds(inputs.inputIds), optionalIds(inputs.attentionMask, 'attentionMask'));
  }

  /** The target side, all positions or (with pastKeyValues) the new ones: logits [B·k, T, V] (+ bias). */
  decode(inputs: MarianDecodeInputs): { logits: Tensor; lastHiddenState: Tensor; presentKeyValues?: MarianLayerCache[] } {
    const ids = asIds(inputs.decoderInputIds, 'decoderInputIds');
    const memory = inputs.encoderHiddenStates;
    if (memory.ndim !== 3 || memory.shape[2] !== this.config.d_model) {
      throw new Error(`MarianMTModel.decode: encoderHiddenStates must be [batch, source length, ${this.config.d_model}], got [${memory.shape.join(',')}]`);
    }
    if (ids.shape[0]! % memory.shape[0]! !== 0) {
      throw new Error(`MarianMTModel.decode: ${ids.shape[0]} decoder rows for ${memory.shape[0]} sources; each source needs the same number of rows`);
    }
    const r = this.decoder.forward(ids, memory, {
      attentionMask: optionalIds(inputs.decoderAttentionMask, 'decoderAttentionMask'),
      encoderAttentionMask: optionalIds(inputs.attentionMask, 'attentionMask'),
      cache: inputs.pastKeyValues ?? null,
    });
    const logits = this.lm_head.forward(r.output).add(this.finalLogitsBias);
    return { logits, lastHiddenState: r.output, ...(inputs.useCache ? { presentKeyValues: r.present } : {}) };
  }

  /** Teacher-forced forward: logits [B, T, V] for decoderInputIds (or labels shifted right), and the loss given labels. */
  forward(inputs: MarianInputs): MarianOutput {
    const labels = optionalIds(inputs.labels, 'labels');
    let dec = optionalIds(inputs.decoderInputIds, 'decoderInputIds');
    if (dec === null) {
      if (labels === null) throw new Error('MarianMTModel.forward: pass decoderInputIds or labels');
      dec = this.shiftTokensRight(labels);
    }
    const memory = this.encode(inputs);
    const out = this.decode({ decoderInputIds: dec, encoderHiddenStates: memory, attentionMask: inputs.attentionMask, decoderAttentionMask: inputs.decoderAttentionMask });
    const result: MarianOutput = { logits: out.logits, lastHiddenState: out.lastHiddenState, encoderLastHiddenState: memory };
    if (labels !== null) {
      result.loss = crossEntropy(out.logits.reshape(-1, this.config.decoder_vocab_size), labels.reshape(-1), { ignoreIndex: -100 });
    }
    return result;
  }

  /** HF's shift_tokens_right: [start, y0, …, y_{T−2}] from labels [y0 … y_{T−1}], -100 read as pad. */
  shiftTokensRight(labels: Tensor): Tensor {
    const B = labels.shape[0]!, T = labels.shape[1]!;
    const start = full([B, 1], this.config.decoder_start_token_id, { dtype: 'int32' });
    const shifted = cat([start, labels.narrow(1, 0, T - 1)], 1);
    return where(shifted.eq(-100), this.config.pad_token_id, shifted);
  }
}
