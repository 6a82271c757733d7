// BERT's task heads in HF Transformers' layout, each a BertModel under 'bert.' plus its head: masked LM
// (tied decoder), sequence classification (pooler → dropout → linear), question answering (per-token
// start/end scores, with tlm's question-match token type).

import { crossEntropy } from '../../tensor/ops/nn.js';
import { zeros } from '../../tensor/ops/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, replaceModule } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/normalization.js';
import { Dropout } from '../../nn/dropout.js';
import { noGrad } from '../../tensor/engine.js';
import { getActivation, type Activation } from '../../nn/activation.js';
import { noInit } from '../../nn/init.js';
import { classificationLoss } from '../labels.js';
import type { TaskName } from '../tasks.js';
import { PreTrainedModel, asIds, optionalIds, tieWeight, type Ids, type ModelInputs, type ModelOutput } from '../modeling.js';
import { positionConcatDim } from '../positions.js';
import { bertConfig, bertConfigDict, numLabels, type BertConfig } from './config.js';
import { BertModel, initBertWeights, type ConfigInput } from './model.js';

/** A head model around BertModel (key prefix 'bert.'), sharing its config handling. */
abstract class BertHeadModel extends PreTrainedModel<BertConfig> {
  readonly bert: BertModel;
  /** Subclasses add their head, then initialise everything unless told to skip. */
  constructor(config: ConfigInput, pooler: boolean) {
    const c = bertConfig(config);
    super(c);
    this.bert = this.registerModule('bert', new BertModel(c, { addPoolingLayer: pooler, skipInit: true }));
  }
  protected initAll(): void { initBertWeights(this, this.config.initializer_range); }
  override get baseModelPrefix(): string { return 'bert'; }
  override ignoredKeys(): RegExp[] { return [/embeddings\.(position_ids|token_type_ids)$/]; }
  override configDict(): Record<string, unknown> { return { ...bertConfigDict(this.config), architectures: [this.architecture] }; }
}

class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly act: Activation;
  readonly LayerNorm: LayerNorm;
  constructor(c: BertConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(c.hidden_size, c.hidden_size));
    this.act = getActivation(c.hidden_act);
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps }));
  }
  forward(x: Tensor): Tensor { return this.LayerNorm.forward(this.act(this.dense.forward(x))); }
}

class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly decoder: Linear;
  readonly bias: Tensor;
  constructor(c: BertConfig) {
    super();
    this.transform = this.registerModule('transform', new BertPredictionHeadTransform(c));
    this.decoder = this.registerModule('decoder', new Linear(c.hidden_size, c.vocab_size));
    // HF: decoder.bias is this bias (one tensor, saved as cls.predictions.bias).
    this.bias = this.registerParameter('bias', zeros([c.vocab_size]))!;
    const old = this.decoder.bias!;
    this.decoder.setParameter('bias', this.bias);
    old.dispose();
  }
  forward(h: Tensor): Tensor { return this.decoder.forward(this.transform.forward(h)); }
}

class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;
  constructor(c: BertConfig) {
    super();
    this.predictions = this.registerModule('predictions', new BertLMPredictionHead(c));
  }
}

/** BERT with the masked-LM head; the decoder shares the word embeddings (HF's BertForMaskedLM). */
export class BertForMaskedLM extends BertHeadModel {
  readonly cls: BertOnlyMLMHead;
  constructor(config: ConfigInput = {}, { skipInit = false } = {}) {
    super(config, false);
    this.cls = this.registerModule('cls', noInit(() => new BertOnlyMLMHead(this.config)));
    const tie = (this.config.tie_word_embeddings ?? true) && positionConcatDim(this.config.position_embedding_type, this.config.hidden_size, this.config.position_embedding_dim) === 0;
    if (tie) tieWeight(this.cls.predictions.decoder, this.bert.embeddings.word_embeddings.weight);
    if (!skipInit) this.initAll();
  }
  static readonly tasks: readonly TaskName[] = ['masked-lm'];
  get architecture(): string { return 'BertForMaskedLM'; }
  override tiedKeys(): [string, string][] {
    return [['cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight'], ['cls.predictions.decoder.bias', 'cls.predictions.bias']];
  }
  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    const out = this.bert.forward(inputs);
    const logits = this.cls.predictions.forward(out.lastHiddenState);
    const labels = optionalIds(inputs.labels, 'labels');
    const loss = labels ? crossEntropy(logits.reshape(-1, this.config.vocab_size), labels.reshape(-1), { ignoreIndex: -100 }) : undefined;
    return { ...out, logits, ...(loss ? { loss } : {}) };
  }

  /**
   * The MLM loss computed only where it is defined: the vocabulary projection runs on the masked
   * positions (flat indices into [B·T]) alone, ~15% of them, instead of every position — the same
   * loss as forward()'s, at a fraction of the head's cost in pretraining.
   */
  maskedLmLoss(inputs: ModelInputs, positions: Tensor, targets: Tensor): Tensor {
    const h = this.bert.forward(inputs).lastHiddenState;
    const rows = h.reshape(-1, h.shape[2]!).indexSelect(0, positions);
    return crossEntropy(this.cls.predictions.forward(rows), targets);
  }
}

/** BERT + dropout + linear on the pooled state, [CLS]'s or the tokens' mean (HF's BertForSequenceClassification). */
export class BertForSequenceClassification extends BertHeadModel {
  readonly dropout: Dropout;
  readonly classifier: Linear;
  readonly numLabels: number;
  constructor(config: ConfigInput = {}, { skipInit = false } = {}) {
    super(config, true);
    this.numLabels = numLabels(this.config);
    this.dropout = this.registerModule('dropout', new Dropout(this.config.classifier_dropout ?? this.config.hidden_dropout_prob));
    this.classifier = this.registerModule('classifier', noInit(() => new Linear(this.config.hidden_size, this.numLabels)));
    if (!skipInit) this.initAll();
  }
  static readonly tasks: readonly TaskName[] = ['sequence-classification'];
  get architecture(): string { return 'BertForSequenceClassification'; }
  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor } {
    const out = this.bert.forward(inputs);
    const logits = this.classifier.forward(this.dropout.forward(out.poolerOutput!));
    const labels = inputs.labels;
    const loss = labels !== null && labels !== undefined ? classificationLoss(logits, labels, this.config) : undefined;
    return { ...out, logits, ...(loss ? { loss } : {}) };
  }
}

/** BERT + a linear layer giving each token a span-start and a span-end score (HF's BertForQuestionAnswering). */
export class BertForQuestionAnswering extends BertHeadModel {
  readonly qa_outputs: Linear;
  constructor(config: ConfigInput = {}, { skipInit = false } = {}) {
    super(config, false);
    this.qa_outputs = this.registerModule('qa_outputs', noInit(() => new Linear(this.config.hidden_size, numLabels(this.config))));
    if (!skipInit) this.initAll();
  }
  static readonly tasks: readonly TaskName[] = ['question-answering'];
  get architecture(): string { return 'BertForQuestionAnswering'; }

  /**
   * Gives context tokens that occur in the question a token type of their own (config
   * question_match_type_id), adding it when the checkpoint has only HF's two: the new row starts as
   * the context segment's, so the model's outputs are unchanged until fine-tuning moves it.
   */
  enableQuestionMatch(): number {
    const c = this.config;
    if (c.question_match_type_id !== null) return c.question_match_type_id;
    const old = this.bert.embeddings.token_type_embeddings;
    const grown = new Embedding(c.type_vocab_size + 1, old.embeddingDim);
    noGrad(() => {
      grown.weight.narrow(0, 0, c.type_vocab_size).copy_(old.weight);
      grown.weight.narrow(0, c.type_vocab_size, 1).copy_(old.weight.narrow(0, Math.min(1, c.type_vocab_size - 1), 1));
    });
    replaceModule(this, 'bert.embeddings.token_type_embeddings', old, grown);
    old.weight.dispose();
    c.question_match_type_id = c.type_vocab_size;
    c.type_vocab_size += 1;
    return c.question_match_type_id;
  }
  /** startLogits and endLogits [B, T]; loss with startPositions/endPositions [B]: the mean of both cross-entropies. */
  forward(inputs: ModelInputs & { startPositions?: Ids | null; endPositions?: Ids | null }): ModelOutput & { startLogits: Tensor; endLogits: Tensor } {
    const out = this.bert.forward(inputs);
    const logits = this.qa_outputs.forward(out.lastHiddenState);
    const [start, end] = logits.split(1, -1).map((t) => t.squeeze(-1)) as [Tensor, Tensor];
    let loss: Tensor | undefined;
    if (inputs.startPositions != null && inputs.endPositions != null) {
      const T = start.shape[1]!;
      // Positions outside the sequence are clamped to T and ignored, as HF.
      const clampIds = (p: Ids) => { const t = asIds(p, 'positions').reshape(-1).clamp(0, T); return t.maskedFill(t.eq(T), -100); };
      loss = crossEntropy(start, clampIds(inputs.startPositions)).add(crossEntropy(end, clampIds(inputs.endPositions))).div(2);
    }
    return { ...out, startLogits: start, endLogits: end, ...(loss ? { loss } : {}) };
  }
}
