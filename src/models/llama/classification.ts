// Llama (and Qwen2, Mistral) as a sequence classifier, HF's LlamaForSequenceClassification: the
// Llama body (`model.*`), then a bias-free linear `score` on every position; a sequence's logits
// are those of its last token that is not padding (see ../last_token.ts), as GPT-2's classifier.
// A causal-LM checkpoint loads into it with a fresh `score` (its lm_head is left unused).

import { Linear } from '../../nn/linear.js';
import { noInit } from '../../nn/init.js';
import type { Tensor } from '../../tensor/tensor.js';
import { PreTrainedModel, asIds, optionalIds, type ModelInputs, type ModelOutput } from '../modeling.js';
import { classificationLoss, labelMaps, numLabelsOf } from '../labels.js';
import { lastTokenLogits } from '../last_token.js';
import type { TaskName } from '../tasks.js';
import { LlamaModel, initLlamaWeights } from './model.js';
import { llamaConfig, type LlamaConfig, type LlamaFamily } from './config.js';

export class LlamaForSequenceClassification extends PreTrainedModel<LlamaConfig> {
  static readonly tasks: readonly TaskName[] = ['sequence-classification'];
  /** Its logits are the last real token's (prompt learning keeps padding readable for it). */
  static readonly poolsLastToken = true;
  /** The model_type this class builds (subclasses: Qwen2, Mistral). */
  static readonly family: LlamaFamily = 'llama';
  readonly model: LlamaModel;
  readonly score: Linear;
  readonly numLabels: number;

  /** config: config.json's fields; num_labels (HF's shorthand) names the labels LABEL_0 … */
  constructor(config: Record<string, unknown> = {}, { skipInit = false } = {}) {
    const { num_labels, ...rest } = config;
    if (num_labels !== undefined && !(Number.isInteger(num_labels) && (num_labels as number) > 0)) {
      throw new Error(`${new.target.name}: num_labels must be a positive integer, got ${JSON.stringify(num_labels)}`);
    }
    const c = llamaConfig({ ...rest, ...(num_labels !== undefined ? labelMaps(num_labels as number) : {}) }, (new.target as typeof LlamaForSequenceClassification).family);
    super(c);
    this.numLabels = numLabelsOf(c);
    this.model = this.registerModule('model', noInit(() => new LlamaModel(c)));
    this.score = this.registerModule('score', noInit(() => new Linear(c.hidden_size, this.numLabels, { bias: false })));
    if (!skipInit) initLlamaWeights(this, c);
  }

  get architecture(): string { return 'LlamaForSequenceClassification'; }
  override get baseModelPrefix(): string { return 'model'; }
  // A causal-LM checkpoint's head, and older checkpoints' RoPE frequencies, carry no weight of ours.
  override ignoredKeys(): RegExp[] { return [/rotary_emb\.inv_freq$/, /^lm_head\.weight$/]; }
  override configDict(): Record<string, unknown> { return { ...this.config, architectures: [this.architecture] }; }

  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    const out = this.model.forward(inputs);
    const all = this.score.forward(out.lastHiddenState); // [B, T, numLabels]
    const ids = inputs.inputsEmbeds ? null : asIds(inputs.inputIds);
    const logits = lastTokenLogits(all, ids, optionalIds(inputs.attentionMask, 'attentionMask'), this.config.pad_token_id, this.architecture);
    const labels = inputs.labels;
    const loss = labels !== null && labels !== undefined ? classificationLoss(logits, labels, this.config) : undefined;
    return { ...out, logits, ...(loss ? { loss } : {}) };
  }
}

/** Qwen2 (model_type qwen2) as a sequence classifier: Llama with biases on q/k/v. */
export class Qwen2ForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family: LlamaFamily = 'qwen2';
  override get architecture(): string { return 'Qwen2ForSequenceClassification'; }
}

/** Mistral (model_type mistral) as a sequence classifier: Llama with a sliding attention window. */
export class MistralForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family: LlamaFamily = 'mistral';
  override get architecture(): string { return 'MistralForSequenceClassification'; }
}
