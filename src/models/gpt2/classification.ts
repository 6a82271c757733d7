// GPT-2 as a sequence classifier (HF's GPT2ForSequenceClassification): the transformer, then a
// bias-free linear `score` on every position; a sequence's logits are those of its last token that
// is not padding (a causal model has seen the whole sequence only there).

import { Linear } from '../../nn/linear.js';
import { noInit, normal_ } from '../../nn/init.js';
import type { Tensor } from '../../tensor/tensor.js';
import { PreTrainedModel, asIds, optionalIds, type ModelInputs, type ModelOutput } from '../modeling.js';
import { classificationLoss, labelMaps, numLabelsOf } from '../labels.js';
import type { TaskName } from '../tasks.js';
import { lastTokenLogits } from '../last_token.js';
import { GPT2Model } from './model.js';
import { gpt2Config, gpt2ConfigDict, type GPT2Config } from './config.js';

type ConfigInput = Partial<GPT2Config> & Record<string, unknown> & { num_labels?: number };

export class GPT2ForSequenceClassification extends PreTrainedModel<GPT2Config> {
  static readonly tasks: readonly TaskName[] = ['sequence-classification'];
  /** Its logits are the last real token's (prompt learning keeps padding readable for it). */
  static readonly poolsLastToken = true;
  readonly transformer: GPT2Model;
  readonly score: Linear;
  readonly numLabels: number;

  constructor(config: ConfigInput = {}, { skipInit = false } = {}) {
    const { num_labels, ...rest } = config;
    const c = gpt2Config({ ...rest, ...(num_labels !== undefined ? labelMaps(num_labels) : {}) });
    super(c);
    this.numLabels = numLabelsOf(c);
    this.transformer = this.registerModule('transformer', noInit(() => new GPT2Model(c)));
    this.score = this.registerModule('score', noInit(() => new Linear(c.n_embd, this.numLabels, { bias: false })));
    if (!skipInit) {
      const std = c.initializer_range;
      for (const [name, p] of this.namedParameters()) {
        if (name.endsWith('.bias') || name.includes('ln_')) continue;
        normal_(p, 0, name.endsWith('c_proj.weight') ? std / Math.sqrt(2 * c.n_layer) : std);
      }
    }
  }

  get architecture(): string { return 'GPT2ForSequenceClassification'; }
  override get baseModelPrefix(): string { return 'transformer'; }
  override ignoredKeys(): RegExp[] { return [/\.attn\.(bias|masked_bias)$/, /^lm_head\.weight$/]; }
  override configDict(): Record<string, unknown> { return { ...gpt2ConfigDict(this.config), architectures: [this.architecture] }; }

  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    const out = this.transformer.forward(inputs);
    const all = this.score.forward(out.lastHiddenState); // [B, T, numLabels]
    const ids = inputs.inputsEmbeds ? null : asIds(inputs.inputIds);
    const logits = lastTokenLogits(all, ids, optionalIds(inputs.attentionMask, 'attentionMask'), this.config.pad_token_id as number | null | undefined, this.architecture);
    const labels = inputs.labels;
    const loss = labels !== null && labels !== undefined ? classificationLoss(logits, labels, this.config) : undefined;
    return { ...out, logits, ...(loss ? { loss } : {}) };
  }
}
