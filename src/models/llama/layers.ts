// The pieces of a Llama decoder layer, in HF's names (modeling_llama.py), read top to bottom:
// RMSNorm → SwiGLU MLP → grouped-query attention with RoPE → the pre-norm decoder layer.

import { ones } from '../../tensor/ops/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/linear.js';
import { attend, extendKeyValue, type KeyValue } from '../../nn/attention.js';
import { rmsNorm } from '../../tensor/ops/fused.js';
import { getActivation, type Activation } from '../../nn/activation.js';
import type { RotaryEmbedding } from '../../nn/positional.js';
import { attentionBiases, type LlamaConfig } from './config.js';

/** RMSNorm (Zhang & Sennrich 2019): x / √(mean(x²) + eps) · weight — no mean subtraction, no bias. */
export class LlamaRMSNorm extends Module {
  override readonly role = 'norm' as const;
  readonly eps: number;
  weight: Tensor;
  constructor(hiddenSize: number, eps = 1e-6) {
    super();
    this.eps = eps;
    this.weight = this.registerParameter('weight', ones([hiddenSize]))!;
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'weight') this.weight = t;
  }
}

/** SwiGLU (Shazeer 2020): down(act(gate(x)) · up(x)), act = silu. */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  readonly act: Activation;
  constructor(c: LlamaConfig) {
    super();
    const bias = c.mlp_bias === true;
    this.gate_proj = this.registerModule('gate_proj', new Linear(c.hidden_size, c.intermediate_size, { bias }));
    this.up_proj = this.registerModule('up_proj', new Linear(c.hidden_size, c.intermediate_size, { bias }));
    this.down_proj = this.registerModule('down_proj', new Linear(c.intermediate_size, c.hidden_size, { bias }));
    this.act = getActivation(c.hidden_act);
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.act(this.gate_proj.forward(x)).mul(this.up_proj.forward(x)));
  }
}

/** What every layer needs from LlamaModel.forward, computed once per call. */
export interface LayerContext {
  /** RoPE's cos and sin at this call's positions. */
  angles: { cos: Tensor; sin: Tensor };
  /** The mask of a layer with this sliding window (null: full causal attention). */
  maskFor(slidingWindow: number | null): { mask: Tensor | null; isCausal: boolean };
  outputAttentions: boolean;
}

/** [B, KV, S, D] → [B, KV·n, S, D]: each key/value head repeated for the n query heads it serves (HF's repeat_kv). */
export function repeatKv(x: Tensor, n: number): Tensor {
  if (n === 1) return x;
  const [B, KV, S, D] = x.shape as [number, number, number, number];
  return x.unsqueeze(2).expand(B, KV, n, S, D).reshape(B, KV * n, S, D);
}

export class LlamaAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly attentionDropout: number;
  readonly slidingWindow: number | null;
  rotary: RotaryEmbedding | null = null;

  constructor(c: LlamaConfig, slidingWindow: number | null) {
    super();
    const H = this.numHeads = c.num_attention_heads, KV = this.numKeyValueHeads = c.num_key_value_heads, D = this.headDim = c.head_dim;
    const bias = attentionBiases(c);
    this.q_proj = this.registerModule('q_proj', new Linear(c.hidden_size, H * D, { bias: bias.qkv }));
    this.k_proj = this.registerModule('k_proj', new Linear(c.hidden_size, KV * D, { bias: bias.qkv }));
    this.v_proj = this.registerModule('v_proj', new Linear(c.hidden_size, KV * D, { bias: bias.qkv }));
    this.o_proj = this.registerModule('o_proj', new Linear(H * D, c.hidden_size, { bias: bias.o }));
    this.attentionDropout = c.attention_dropout;
    this.slidingWindow = slidingWindow;
  }

  /** x [B, T, hidden]; past: this layer's cached keys/values [B, KV, past, D] (already rotated). */
  forward(x: Tensor, ctx: LayerContext, past: KeyValue | null): { y: Tensor; present: KeyValue; weights: Tensor | null } {
    const [B, T] = x.shape as [number, number];
    const H = this.numHeads, KV = this.numKeyValueHeads, D = this.headDim;
    const heads = (t: Tensor, n: number) => t.reshape(B, T, n, D).transpose(1, 2);
    let q = heads(this.q_proj.forward(x), H);
    let k = heads(this.k_proj.forward(x), KV);
    let v = heads(this.v_proj.forward(x), KV);
    if (this.rotary) {
      q = this.rotary.rotate(q, ctx.angles);
      k = this.rotary.rotate(k, ctx.angles);
    }
    // The cache keeps the KV heads unrepeated: GQA's memory saving.
    const present = extendKeyValue(past, k, v);
    k = present.key;
    v = present.value;
    const { mask, isCausal } = ctx.maskFor(this.slidingWindow);
    const scale = 1 / Math.sqrt(D);
    if (T === 1 && H > KV && !this.training && !ctx.outputAttentions) {
      // One new position (a decode step): the G = H/KV query heads of a key/value head become G
      // query rows against that head's keys, so the cache is read as it is, never repeated. The
      // one position sees every cached key (no causal constraint among the G rows); the padding
      // and window mask [B, 1, 1, S] applies to each row alike.
      const out = attend(q.reshape(B, KV, H / KV, D), k, v, { mask, isCausal: false, scale }).output;
      return { y: this.o_proj.forward(out.reshape(B, T, H * D)), present, weights: null };
    }
    const { output, weights } = attend(q, repeatKv(k, H / KV), repeatKv(v, H / KV), {
      mask, isCausal, scale, dropoutP: this.attentionDropout, training: this.training, needWeights: ctx.outputAttentions,
    });
    return { y: this.o_proj.forward(output.transpose(1, 2).reshape(B, T, H * D)), present, weights };
  }
}

/** Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)). */
export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: LlamaRMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: LlamaRMSNorm;
  readonly mlp: LlamaMLP;
  constructor(c: LlamaConfig, slidingWindow: number | null) {
    super();
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(c, slidingWindow));
    this.mlp = this.registerModule('mlp', new LlamaMLP(c));
    this.input_layernorm = this.registerModule('input_layernorm', new LlamaRMSNorm(c.hidden_size, c.rms_norm_eps));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new LlamaRMSNorm(c.hidden_size, c.rms_norm_eps));
  }
  forward(x: Tensor, ctx: LayerContext, past: KeyValue | null): { x: Tensor; present: KeyValue; weights: Tensor | null } {
    const a = this.self_attn.forward(this.input_layernorm.forward(x), ctx, past);
    x = x.add(a.y);
    x = x.add(this.mlp.forward(this.post_attention_layernorm.forward(x)));
    return { x, present: a.present, weights: a.weights };
  }
}
