// GPT-2 (Radford et al. 2019) in HF Transformers' GPT2LMHeadModel layout, read top to bottom:
// Conv1D → attention → MLP → block → GPT2Model (embeddings, blocks, final norm) → LM head.
// Config options beyond GPT-2: the position type, post-norm blocks, the MLP activation.

import { empty } from '../../tensor/ops/core.js';
import { matmulBias } from '../../tensor/ops/linalg.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/normalization.js';
import { Dropout } from '../../nn/dropout.js';
import { ModuleList } from '../../nn/container.js';
import { attend, extendKeyValue, type KeyValue } from '../../nn/attention.js';
import { getActivation, type Activation } from '../../nn/activation.js';
import { noInit, normal_, zeros_ } from '../../nn/init.js';
import type { RotaryEmbedding, ScoreBias } from '../../nn/positional.js';
import type { TaskName } from '../tasks.js';
import { PreTrainedModel, idsOrEmbeds, optionalIds, tieWeight, type ModelInputs, type ModelOutput } from '../modeling.js';
import { addPositions, attentionPositions, modelAttentionMask, positionConcatDim, positionEmbedding, type PositionEmbedding } from '../positions.js';
import { gpt2Config, gpt2ConfigDict, type GPT2Config } from './config.js';
import { causalLmOutput } from '../causal_lm.js';

export { causalLmLoss } from '../causal_lm.js';

/** HF's Conv1D: a linear layer with its weight stored [in, out] (y = x W + b), as OpenAI's TF code. */
export class Conv1D extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(nf: number, nx: number, bias = true) {
    super();
    this.weight = this.registerParameter('weight', empty([nx, nf]))!;
    this.bias = this.registerParameter('bias', bias ? zeros_(empty([nf])) : null);
  }
  forward(x: Tensor): Tensor {
    return this.bias ? matmulBias(x, this.weight, this.bias) : x.matmul(this.weight);
  }
}

/** What every block needs from GPT2Model.forward, computed once per call. */
interface BlockContext {
  mask: Tensor | null;
  isCausal: boolean;
  positionIds: Tensor | null;
  past: number;
  outputAttentions: boolean;
}

class GPT2Attention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attnDropout: number;
  readonly resid_dropout: Dropout;
  readonly nHead: number;
  readonly scale: number;
  rotary: RotaryEmbedding | null = null;
  scoreBias: ScoreBias | null = null;

  constructor(c: GPT2Config, layerIdx: number) {
    super();
    const E = c.n_embd;
    this.nHead = c.n_head;
    this.c_attn = this.registerModule('c_attn', new Conv1D(3 * E, E, c.bias));
    this.c_proj = this.registerModule('c_proj', new Conv1D(E, E, c.bias));
    this.attnDropout = c.attn_pdrop;
    this.resid_dropout = this.registerModule('resid_dropout', new Dropout(c.resid_pdrop));
    const headDim = E / c.n_head;
    this.scale = (c.scale_attn_weights ? 1 / Math.sqrt(headDim) : 1) / (c.scale_attn_by_inverse_layer_idx ? layerIdx + 1 : 1);
  }

  forward(x: Tensor, ctx: BlockContext, past: KeyValue | null): { y: Tensor; present: KeyValue; weights: Tensor | null } {
    const [B, T, E] = x.shape as [number, number, number];
    const H = this.nHead;
    // One matmul for q, k and v; split and viewed as heads [B, H, T, Dh].
    const heads = (t: Tensor) => t.reshape(B, T, H, E / H).transpose(1, 2);
    let [q, k, v] = this.c_attn.forward(x).split(E, -1).map(heads) as [Tensor, Tensor, Tensor];
    if (this.rotary) {
      q = this.rotary.forward(q, ctx.positionIds, ctx.past);
      k = this.rotary.forward(k, ctx.positionIds, ctx.past);
    }
    const present = extendKeyValue(past, k, v);
    k = present.key;
    v = present.value;
    const S = k.shape[2]!;
    const bias = this.scoreBias ? this.scoreBias.scoreBias(q, S - T, S) : null;
    const { output, weights } = attend(q, k, v, {
      mask: ctx.mask, isCausal: ctx.isCausal, bias, scale: this.scale,
      dropoutP: this.attnDropout, training: this.training, needWeights: ctx.outputAttentions,
    });
    const y = this.resid_dropout.forward(this.c_proj.forward(output.transpose(1, 2).reshape(B, T, E)));
    return { y, present, weights };
  }
}

class GPT2MLP extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly act: Activation;
  readonly dropout: Dropout;
  constructor(c: GPT2Config) {
    super();
    const inner = c.n_inner ?? 4 * c.n_embd;
    this.c_fc = this.registerModule('c_fc', new Conv1D(inner, c.n_embd, c.bias));
    this.c_proj = this.registerModule('c_proj', new Conv1D(c.n_embd, inner, c.bias));
    this.act = getActivation(c.activation_function);
    this.dropout = this.registerModule('dropout', new Dropout(c.resid_pdrop));
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(this.act(this.c_fc.forward(x))));
  }
}

class GPT2Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPT2MLP;
  readonly normFirst: boolean;
  constructor(c: GPT2Config, layerIdx: number) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon, bias: c.bias }));
    this.attn = this.registerModule('attn', new GPT2Attention(c, layerIdx));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon, bias: c.bias }));
    this.mlp = this.registerModule('mlp', new GPT2MLP(c));
    this.normFirst = c.norm_first;
  }
  forward(x: Tensor, ctx: BlockContext, past: KeyValue | null): { x: Tensor; present: KeyValue; weights: Tensor | null } {
    if (this.normFirst) {
      // GPT-2: x + attn(ln(x)), x + mlp(ln(x)).
      const a = this.attn.forward(this.ln_1.forward(x), ctx, past);
      x = x.add(a.y);
      x = x.add(this.mlp.forward(this.ln_2.forward(x)));
      return { x, present: a.present, weights: a.weights };
    }
    // Post-norm (GPT-1, the original Transformer): ln(x + attn(x)), ln(x + mlp(x)).
    const a = this.attn.forward(x, ctx, past);
    x = this.ln_1.forward(x.add(a.y));
    x = this.ln_2.forward(x.add(this.mlp.forward(x)));
    return { x, present: a.present, weights: a.weights };
  }
}

/** The GPT-2 body: token (+ position) embeddings, blocks, final LayerNorm (HF's GPT2Model). */
export class GPT2Model extends Module {
  readonly config: GPT2Config;
  readonly wte: Embedding;
  /** Learned positions (HF's wpe), a sinusoidal table, or null when positions act inside attention. */
  readonly wpe: PositionEmbedding | null;
  readonly drop: Dropout;
  readonly h: ModuleList<GPT2Block>;
  readonly ln_f: LayerNorm | null;

  constructor(config: GPT2Config) {
    super();
    const c = this.config = config;
    const pt = c.position_embedding_type;
    const concatDim = positionConcatDim(pt, c.n_embd, c.position_embedding_dim);
    this.wte = this.registerModule('wte', new Embedding(c.vocab_size, c.n_embd - concatDim));
    this.wpe = this.registerModule('wpe', positionEmbedding(pt, { dim: c.n_embd, maxPositions: c.n_positions, concatDim }));
    this.drop = this.registerModule('drop', new Dropout(c.embd_pdrop));
    this.h = this.registerModule('h', new ModuleList(Array.from({ length: c.n_layer }, (_, i) => new GPT2Block(c, i))));
    this.ln_f = this.registerModule('ln_f', c.norm_first ? new LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon, bias: c.bias }) : null);
    const pos = attentionPositions(pt, { numHeads: c.n_head, headDim: c.n_embd / c.n_head, maxPositions: c.n_positions,
      maxRelativePosition: c.max_relative_position, ropeTheta: c.rope_theta });
    for (const block of this.h) {
      block.attn.rotary = pos.rotary;
      const bias = pos.scoreBias();
      block.attn.scoreBias = bias;
      if (bias instanceof Module) block.attn.registerModule('relative_position', bias);
    }
  }

  /**
   * pastKeyValues (a KV cache, or PEFT's prefix-tuning prefix) move the default positions to
   * past..past+T-1, as HF's cache_position: a P-token prefix puts the first real token at position P.
   */
  forward(inputs: ModelInputs): { lastHiddenState: Tensor; hiddenStates?: Tensor[]; attentions?: Tensor[]; presentKeyValues?: KeyValue[] } {
    const { ids, embeds, T } = idsOrEmbeds(inputs, this.wte.embeddingDim);
    const pastKV = inputs.pastKeyValues ?? null;
    if (pastKV && pastKV.length !== this.h.length) throw new Error(`pastKeyValues has ${pastKV.length} layers, the model ${this.h.length}`);
    const past = pastKV?.[0]?.key.shape[2] ?? 0;
    const positionIds = optionalIds(inputs.positionIds, 'positionIds');
    if (past + T > this.config.n_positions && this.wpe !== null) {
      throw new Error(`GPT-2: ${past + T} positions exceed n_positions ${this.config.n_positions}`);
    }

    let x = embeds ?? this.wte.forward(ids!);
    x = addPositions(this.wpe, x, positionIds, past);
    const typeIds = optionalIds(inputs.tokenTypeIds, 'tokenTypeIds');
    if (typeIds) x = x.add(this.wte.forward(typeIds)); // HF GPT-2 embeds token types with wte
    x = this.drop.forward(x);

    const { mask, isCausal } = modelAttentionMask(optionalIds(inputs.attentionMask, 'attentionMask'), T, past + T, true);
    const ctx: BlockContext = { mask, isCausal, positionIds, past, outputAttentions: !!inputs.outputAttentions };
    const hiddenStates: Tensor[] = [], attentions: Tensor[] = [], presents: KeyValue[] = [];
    let i = 0;
    for (const block of this.h) {
      if (inputs.outputHiddenStates) hiddenStates.push(x);
      const r = block.forward(x, ctx, pastKV?.[i++] ?? null);
      x = r.x;
      if (inputs.useCache) presents.push(r.present);
      if (r.weights) attentions.push(r.weights);
    }
    if (this.ln_f) x = this.ln_f.forward(x);
    if (inputs.outputHiddenStates) hiddenStates.push(x);
    return {
      lastHiddenState: x,
      ...(inputs.outputHiddenStates ? { hiddenStates } : {}),
      ...(inputs.outputAttentions ? { attentions } : {}),
      ...(inputs.useCache ? { presentKeyValues: presents } : {}),
    };
  }
}

/** GPT-2 with its language-model head, whose weight is wte's (tied), as HF's GPT2LMHeadModel. */
export class GPT2LMHeadModel extends PreTrainedModel<GPT2Config> {
  readonly transformer: GPT2Model;
  readonly lm_head: Linear;

  /** skipInit: leave the weights uninitialised (fromPretrained loads them next). */
  constructor(config: Partial<GPT2Config> & Record<string, unknown> = {}, { skipInit = false } = {}) {
    const c = gpt2Config(config);
    super(c);
    // Built without torch's per-layer init, then initialised once as HF does (GPT-2 small: 124M draws, not 3×).
    this.transformer = this.registerModule('transformer', noInit(() => new GPT2Model(c)));
    this.lm_head = this.registerModule('lm_head', noInit(() => new Linear(c.n_embd, c.vocab_size, { bias: false })));
    // A concatenated position encoding makes wte narrower than the model, so the head cannot share it.
    if (c.tie_word_embeddings && positionConcatDim(c.position_embedding_type, c.n_embd, c.position_embedding_dim) === 0) tieWeight(this.lm_head, this.transformer.wte.weight);
    if (!skipInit) this.initWeights();
  }

  static readonly tasks: readonly TaskName[] = ['causal-lm'];
  get architecture(): string { return 'GPT2LMHeadModel'; }
  override get baseModelPrefix(): string { return 'transformer'; }
  override tiedKeys(): [string, string][] { return [['lm_head.weight', 'transformer.wte.weight']]; }
  // Old checkpoints carry the causal mask buffers.
  override ignoredKeys(): RegExp[] { return [/\.attn\.(bias|masked_bias)$/]; }
  override configDict(): Record<string, unknown> { return { ...gpt2ConfigDict(this.config), architectures: [this.architecture] }; }

  /** HF's _init_weights: N(0, 0.02) weights, zero biases, and residual projections scaled by 1/√(2·n_layer) (GPT-2 paper). */
  private initWeights(): void {
    const std = this.config.initializer_range;
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('.bias') || name.includes('ln_')) continue; // LayerNorm 1/0 and zero biases already
      const residual = name.endsWith('c_proj.weight');
      normal_(p, 0, residual ? std / Math.sqrt(2 * this.config.n_layer) : std);
    }
  }

  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    return causalLmOutput(this.transformer.forward(inputs), this.lm_head, inputs);
  }
}
