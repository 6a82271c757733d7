// MarianMT's encoder and decoder, as HF's MarianEncoder / MarianDecoder: token embeddings (× √d
// when scale_embedding) plus sinusoidal positions, dropout, then post-norm layers
// (x = LayerNorm(x + Dropout(sublayer(x)))) and no final LayerNorm.

import { dropout } from '../../tensor/ops/nn.js';
import { defaultGenerator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/normalization.js';
import { ModuleList } from '../../nn/container.js';
import { getActivation, type Activation } from '../../nn/activation.js';
import type { KeyValue } from '../../nn/attention.js';
import { modelAttentionMask } from '../positions.js';
import { MarianAttention, MarianSinusoidalPositionalEmbedding } from './attention.js';
import type { MarianConfig } from './config.js';

/** One decoder layer's cache: self-attention keys/values so far, and the encoder output's. */
export interface MarianLayerCache { self: KeyValue | null; cross: KeyValue | null }

/** The feed-forward block's settings, shared by encoder and decoder layers. */
interface FfnSettings { act: Activation; dropout: number; activationDropout: number }

function ffnSettings(c: MarianConfig): FfnSettings {
  return { act: getActivation(c.activation_function), dropout: c.dropout, activationDropout: c.activation_dropout };
}

/** LayerNorm(residual + Dropout(fc2(Dropout(act(fc1(x)))))). */
function feedForward(m: { fc1: Linear; fc2: Linear; final_layer_norm: LayerNorm; training: boolean }, s: FfnSettings, x: Tensor): Tensor {
  let h = s.act(m.fc1.forward(x));
  h = dropout(h, s.activationDropout, m.training);
  h = dropout(m.fc2.forward(h), s.dropout, m.training);
  return m.final_layer_norm.forward(x.add(h));
}

export class MarianEncoderLayer extends Module {
  readonly self_attn: MarianAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  private readonly ffn: FfnSettings;
  constructor(c: MarianConfig) {
    super();
    const d = c.d_model;
    this.self_attn = this.registerModule('self_attn', new MarianAttention(d, c.encoder_attention_heads, c.attention_dropout));
    this.self_attn_layer_norm = this.registerModule('self_attn_layer_norm', new LayerNorm(d));
    this.fc1 = this.registerModule('fc1', new Linear(d, c.encoder_ffn_dim));
    this.fc2 = this.registerModule('fc2', new Linear(c.encoder_ffn_dim, d));
    this.final_layer_norm = this.registerModule('final_layer_norm', new LayerNorm(d));
    this.ffn = ffnSettings(c);
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const h = this.self_attn.forward(x, null, { mask }).output;
    x = this.self_attn_layer_norm.forward(x.add(dropout(h, this.ffn.dropout, this.training)));
    return feedForward(this, this.ffn, x);
  }
}

export interface DecoderLayerInputs {
  selfMask: Tensor | null;
  isCausal: boolean;
  crossMask: Tensor | null;
  cache: MarianLayerCache | null;
}

export class MarianDecoderLayer extends Module {
  readonly self_attn: MarianAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly encoder_attn: MarianAttention;
  readonly encoder_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  private readonly ffn: FfnSettings;
  constructor(c: MarianConfig) {
    super();
    const d = c.d_model;
    this.self_attn = this.registerModule('self_attn', new MarianAttention(d, c.decoder_attention_heads, c.attention_dropout));
    this.self_attn_layer_norm = this.registerModule('self_attn_layer_norm', new LayerNorm(d));
    this.encoder_attn = this.registerModule('encoder_attn', new MarianAttention(d, c.decoder_attention_heads, c.attention_dropout));
    this.encoder_attn_layer_norm = this.registerModule('encoder_attn_layer_norm', new LayerNorm(d));
    this.fc1 = this.registerModule('fc1', new Linear(d, c.decoder_ffn_dim));
    this.fc2 = this.registerModule('fc2', new Linear(c.decoder_ffn_dim, d));
    this.final_layer_norm = this.registerModule('final_layer_norm', new LayerNorm(d));
    this.ffn = ffnSettings(c);
  }
  forward(x: Tensor, memory: Tensor, o: DecoderLayerInputs): { output: Tensor; present: MarianLayerCache } {
    const p = this.ffn.dropout;
    const sa = this.self_attn.forward(x, null, { mask: o.selfMask, isCausal: o.isCausal, pastKeyValue: o.cache?.self ?? null });
    x = this.self_attn_layer_norm.forward(x.add(dropout(sa.output, p, this.training)));
    const ca = this.encoder_attn.forward(x, memory, { mask: o.crossMask, staticKeyValue: o.cache?.cross ?? null });
    x = this.encoder_attn_layer_norm.forward(x.add(dropout(ca.output, p, this.training)));
    return { output: feedForward(this, this.ffn, x), present: { self: sa.present, cross: ca.present } };
  }
}

/** LayerDrop (Fan et al. 2019): in training, each layer is skipped with probability p. */
function dropsLayer(p: number, training: boolean): boolean {
  return training && p > 0 && defaultGenerator.uniform() < p;
}

/** Token embeddings (× √d) plus positions past..past+T-1, then dropout. */
function embed(tokens: Embedding, positions: MarianSinusoidalPositionalEmbedding, scale: number, ids: Tensor, past: number, p: number, training: boolean): Tensor {
  let x = tokens.forward(ids);
  if (scale !== 1) x = x.mul(scale);
  return dropout(x.add(positions.forward(ids.shape[1]!, past)), p, training);
}

export class MarianEncoder extends Module {
  readonly embed_positions: MarianSinusoidalPositionalEmbedding;
  readonly layers: ModuleList<MarianEncoderLayer>;
  private readonly scale: number;
  /** embedTokens: the (possibly shared) table, registered here as embed_tokens as in HF's state dict. */
  constructor(readonly c: MarianConfig, readonly embed_tokens: Embedding) {
    super();
    this.registerModule('embed_tokens', embed_tokens);
    this.embed_positions = this.registerModule('embed_positions', new MarianSinusoidalPositionalEmbedding(c.max_position_embeddings, c.d_model));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.encoder_layers }, () => new MarianEncoderLayer(c))));
    this.scale = c.scale_embedding ? Math.sqrt(c.d_model) : 1;
  }
  /** ids [B, S], attentionMask [B, S] (1 = token) or null → [B, S, d]. */
  forward(ids: Tensor, attentionMask: Tensor | null): Tensor {
    const S = ids.shape[1]!;
    let x = embed(this.embed_tokens, this.embed_positions, this.scale, ids, 0, this.c.dropout, this.training);
    const { mask } = modelAttentionMask(attentionMask, S, S, false);
    for (const layer of this.layers) if (!dropsLayer(this.c.encoder_layerdrop, this.training)) x = layer.forward(x, mask);
    return x;
  }
}

export interface DecoderInputs {
  /** [Bq, past + T] decoder padding mask (1 = token), or null. */
  attentionMask: Tensor | null;
  /** [Bs, S] source padding mask, or null; Bq = Bs·k (each source's k rows share its memory). */
  encoderAttentionMask: Tensor | null;
  cache: MarianLayerCache[] | null;
}

export class MarianDecoder extends Module {
  readonly embed_positions: MarianSinusoidalPositionalEmbedding;
  readonly layers: ModuleList<MarianDecoderLayer>;
  private readonly scale: number;
  constructor(readonly c: MarianConfig, readonly embed_tokens: Embedding) {
    super();
    this.registerModule('embed_tokens', embed_tokens);
    this.embed_positions = this.registerModule('embed_positions', new MarianSinusoidalPositionalEmbedding(c.max_position_embeddings, c.d_model));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.decoder_layers }, () => new MarianDecoderLayer(c))));
    this.scale = c.scale_embedding ? Math.sqrt(c.d_model) : 1;
  }
  /** ids [Bq, T] (the new positions when cached), memory [Bs, S, d] → hidden [Bq, T, d] and the cache. */
  forward(ids: Tensor, memory: Tensor, o: DecoderInputs): { output: Tensor; present: MarianLayerCache[] } {
    const T = ids.shape[1]!;
    const past = o.cache?.[0]?.self?.key.shape[2] ?? 0;
    let x = embed(this.embed_tokens, this.embed_positions, this.scale, ids, past, this.c.dropout, this.training);
    const self = modelAttentionMask(o.attentionMask, T, past + T, true);
    const cross = modelAttentionMask(o.encoderAttentionMask, T, memory.shape[1]!, false);
    const present: MarianLayerCache[] = [];
    let i = 0;
    for (const layer of this.layers) {
      const cache = o.cache?.[i++] ?? null;
      if (cache === null && dropsLayer(this.c.decoder_layerdrop, this.training)) { present.push({ self: null, cross: null }); continue; }
      const r = layer.forward(x, memory, { selfMask: self.mask, isCausal: self.isCausal, crossMask: cross.mask, cache });
      x = r.output;
      present.push(r.present);
    }
    return { output: x, present };
  }
}
