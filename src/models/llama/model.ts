// Llama (Touvron et al. 2023) in HF Transformers' LlamaForCausalLM layout, read top to bottom:
// LlamaModel (token embeddings, RoPE, decoder layers, final RMSNorm) → LM head. Qwen2 and Mistral
// are the same code under their own configs (config.ts): Qwen2 adds q/k/v biases, Mistral a
// sliding attention window.

import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { ModuleList } from '../../nn/container.js';
import type { KeyValue } from '../../nn/attention.js';
import { noInit, normal_, zeros_ } from '../../nn/init.js';
import { RotaryEmbedding } from '../../nn/positional.js';
import type { TaskName } from '../tasks.js';
import { PreTrainedModel, idsOrEmbeds, optionalIds, tieWeight, type ModelInputs, type ModelOutput } from '../modeling.js';
import { modelAttentionMask } from '../positions.js';
import { causalLmOutput } from '../causal_lm.js';
import { llamaConfig, slidingWindowOf, type LlamaConfig, type LlamaFamily } from './config.js';
import { LlamaDecoderLayer, LlamaRMSNorm, type LayerContext } from './layers.js';

/** The Llama body: embeddings, decoder layers, final RMSNorm (HF's LlamaModel); positions act inside attention (RoPE). */
export class LlamaModel extends Module {
  readonly config: LlamaConfig;
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: LlamaRMSNorm;
  /** One RoPE table for every layer (its cos/sin are buffers, not weights). */
  readonly rotary_emb: RotaryEmbedding;

  constructor(config: LlamaConfig) {
    super();
    const c = this.config = config;
    this.embed_tokens = this.registerModule('embed_tokens', new Embedding(c.vocab_size, c.hidden_size, { paddingIdx: c.pad_token_id ?? null }));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(c, slidingWindowOf(c, i)))));
    this.norm = this.registerModule('norm', new LlamaRMSNorm(c.hidden_size, c.rms_norm_eps));
    this.rotary_emb = this.registerModule('rotary_emb', new RotaryEmbedding({
      dim: c.head_dim, maxLen: Math.min(c.max_position_embeddings, 4096), base: c.rope_theta, scaling: c.rope_scaling,
    }));
    for (const layer of this.layers) layer.self_attn.rotary = this.rotary_emb;
  }

  /**
   * pastKeyValues (a KV cache) move the default positions to past..past+T-1, as HF's cache_position;
   * left-padded batches pass positionIds per row and an attentionMask over past + new slots.
   */
  forward(inputs: ModelInputs): { lastHiddenState: Tensor; hiddenStates?: Tensor[]; attentions?: Tensor[]; presentKeyValues?: KeyValue[] } {
    const { ids, embeds, T } = idsOrEmbeds(inputs, this.config.hidden_size);
    const pastKV = inputs.pastKeyValues ?? null;
    if (pastKV && pastKV.length !== this.layers.length) throw new Error(`pastKeyValues has ${pastKV.length} layers, the model ${this.layers.length}`);
    const past = pastKV?.[0]?.key.shape[2] ?? 0;
    const positionIds = optionalIds(inputs.positionIds, 'positionIds');
    let x = embeds ?? this.embed_tokens.forward(ids!);

    const attentionMask = optionalIds(inputs.attentionMask, 'attentionMask');
    const masks = new Map<number, { mask: Tensor | null; isCausal: boolean }>();
    const ctx: LayerContext = {
      angles: this.rotary_emb.angles(T, positionIds, past, x.device),
      // Built once per distinct window (Qwen2 mixes windowed and full layers).
      maskFor: (w) => {
        const key = w ?? 0;
        if (!masks.has(key)) masks.set(key, modelAttentionMask(attentionMask, T, past + T, true, w));
        return masks.get(key)!;
      },
      outputAttentions: !!inputs.outputAttentions,
    };
    const hiddenStates: Tensor[] = [], attentions: Tensor[] = [], presents: KeyValue[] = [];
    let i = 0;
    for (const layer of this.layers) {
      if (inputs.outputHiddenStates) hiddenStates.push(x);
      const r = layer.forward(x, ctx, pastKV?.[i++] ?? null);
      x = r.x;
      if (inputs.useCache) presents.push(r.present);
      if (r.weights) attentions.push(r.weights);
    }
    x = this.norm.forward(x);
    if (inputs.outputHiddenStates) hiddenStates.push(x);
    return {
      lastHiddenState: x,
      ...(inputs.outputHiddenStates ? { hiddenStates } : {}),
      ...(inputs.outputAttentions ? { attentions } : {}),
      ...(inputs.useCache ? { presentKeyValues: presents } : {}),
    };
  }
}

/** HF's _init_weights: N(0, initializer_range) matrices and embeddings, zero biases, RMSNorm weights 1. */
export function initLlamaWeights(model: Module & { model: LlamaModel }, c: LlamaConfig): void {
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('.bias')) zeros_(p);
    else if (!name.endsWith('norm.weight')) normal_(p, 0, c.initializer_range);
  }
  model.model.embed_tokens.zeroPaddingRow();
}

/** Llama with its language-model head (HF's LlamaForCausalLM); the head shares embed_tokens' weight when tie_word_embeddings. */
export class LlamaForCausalLM extends PreTrainedModel<LlamaConfig> {
  readonly model: LlamaModel;
  readonly lm_head: Linear;
  /** The model_type this class builds (subclasses: Qwen2, Mistral). */
  static readonly family: LlamaFamily = 'llama';

  /** skipInit: leave the weights uninitialised (fromPretrained loads them next). */
  constructor(config: Record<string, unknown> = {}, { skipInit = false } = {}) {
    const c = llamaConfig(config, (new.target as typeof LlamaForCausalLM).family);
    super(c);
    this.model = this.registerModule('model', noInit(() => new LlamaModel(c)));
    this.lm_head = this.registerModule('lm_head', noInit(() => new Linear(c.hidden_size, c.vocab_size, { bias: false })));
    if (c.tie_word_embeddings) tieWeight(this.lm_head, this.model.embed_tokens.weight);
    if (!skipInit) initLlamaWeights(this, c);
  }

  static readonly tasks: readonly TaskName[] = ['causal-lm'];
  get architecture(): string { return 'LlamaForCausalLM'; }
  override get baseModelPrefix(): string { return 'model'; }
  override tiedKeys(): [string, string][] { return [['lm_head.weight', 'model.embed_tokens.weight']]; }
  // Checkpoints from older transformers carry each layer's RoPE frequencies, a buffer and no weight.
  override ignoredKeys(): RegExp[] { return [/rotary_emb\.inv_freq$/]; }
  override configDict(): Record<string, unknown> { return { ...this.config, architectures: [this.architecture] }; }

  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    return causalLmOutput(this.model.forward(inputs), this.lm_head, inputs);
  }
}

/** Qwen2 (model_type qwen2): Llama with biases on q/k/v. */
export class Qwen2ForCausalLM extends LlamaForCausalLM {
  static override readonly family: LlamaFamily = 'qwen2';
  override get architecture(): string { return 'Qwen2ForCausalLM'; }
}

/** Mistral (model_type mistral): Llama with a sliding attention window. */
export class MistralForCausalLM extends LlamaForCausalLM {
  static override readonly family: LlamaFamily = 'mistral';
  override get architecture(): string { return 'MistralForCausalLM'; }
}
