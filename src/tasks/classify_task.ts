// Sequence classification (sentiment, topic, sentence pairs) as a TrainingTask: rows of a table
// encoded with the model's tokenizer, dynamically padded batches grouped by length, the model's own
// loss (cross-entropy on the head) or a distillation loss against teachers' distributions, and
// evaluation by accuracy, macro-F1 and Matthews correlation.

import { tensor } from '../tensor/ops/creation.js';
import { noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { SequenceClassificationModel } from '../models/tasks.js';
import { EpochBatcher, evalBatches, padRows, type PaddedBatch, type TokenizedRow } from '../train/batching.js';
import { modelLoss, type TrainingTask } from '../train/task.js';
import { klDiv } from '../tensor/ops/nn.js';
import { InputError } from '../errors.js';
import { accuracy, macroF1, matthewsCorrcoef } from './metrics/classification.js';
import type { TableRow } from './table.js';

export interface EncodedExample extends TokenizedRow {
  /** Class id, or -1 for an unlabelled row. */
  label: number;
  /** Knowledge distillation: a teacher's class distribution for the row (at the distillation temperature). */
  teacher?: Float32Array;
}

export interface EncodeOptions {
  /** Longest encoding in tokens, special tokens included (longer rows are truncated). */
  maxLength: number;
  /** Label name → class id (the model's label2id); rows with other labels are an error. */
  label2id?: Record<string, number>;
  /** For messages: the file the rows came from. */
  source?: string;
}

/** Rows → token ids (pairs as the tokenizer's template joins them), truncated to maxLength. */
export function encodeRows(tok: Tokenizer, rows: readonly TableRow[], o: EncodeOptions): EncodedExample[] {
  if (!(Number.isInteger(o.maxLength) && o.maxLength > 0)) throw new InputError(`maxLength must be a positive integer, got ${o.maxLength}`);
  const truncation = { maxLength: o.maxLength, strategy: 'longest_first' as const };
  return rows.map((r) => {
    let label = -1;
    if (r.label !== undefined && o.label2id) {
      const id = o.label2id[r.label];
      if (id === undefined) {
        throw new InputError(`${o.source ?? 'data'}: line ${r.line}: unknown label '${r.label}' (the model's labels: ${Object.keys(o.label2id).join(', ')})`);
      }
      label = id;
    }
    const enc = tok.encode(r.text, { ...(r.textPair !== undefined ? { pair: r.textPair } : {}), truncation, padding: false });
    return { ids: enc.ids, typeIds: enc.typeIds, label };
  });
}

type Batch = PaddedBatch & { labels?: Tensor };

function collate(rows: readonly EncodedExample[], padId: number, withLabels: boolean): Batch {
  const b: Batch = padRows(rows, padId);
  if (withLabels) b.labels = tensor(Int32Array.from(rows, (r) => r.label), { shape: [rows.length] });
  return b;
}

/** The teachers' distributions of a batch's rows, [B, C] (every row has one: the task checks). */
function collateTeacher(rows: readonly EncodedExample[]): Tensor {
  const C = rows[0]!.teacher!.length, t = new Float32Array(rows.length * C);
  rows.forEach((r, i) => t.set(r.teacher!, i * C));
  return tensor(t, { shape: [rows.length, C] });
}

/**
 * Knowledge distillation (Hinton et al. 2015): alpha × the cross-entropy on the gold labels +
 * (1 − alpha) × T² × KL(teacher ‖ student), both at temperature T. T² keeps the soft term's gradients
 * at the hard term's scale as T grows.
 */
export interface DistillationOptions { alpha: number; temperature: number }

export function distillationLoss(logits: Tensor, hardLoss: Tensor, teacher: Tensor, o: DistillationOptions): Tensor {
  const T = o.temperature;
  const soft = klDiv(logits.div(T).logSoftmax(-1), teacher, { reduction: 'batchmean' }).mul(T * T);
  return o.alpha === 0 ? soft : hardLoss.mul(o.alpha).add(soft.mul(1 - o.alpha));
}

/** Each row's class probabilities (softmax of the logits), in row order, and the mean loss of labelled rows. */
export async function classifyEncoded(model: SequenceClassificationModel, rows: readonly EncodedExample[], padId: number, batchSize = 32): Promise<{ probs: Float32Array[]; loss: number }> {
  const probs: Float32Array[] = new Array(rows.length);
  let lossSum = 0, labelled = 0;
  for (const batch of evalBatches(rows.map((r) => r.ids.length), batchSize)) {
    const part = batch.map((i) => rows[i]!);
    const withLabels = part.every((r) => r.label >= 0);
    const out = noGrad(() => tidy(() => {
      const o = model.forward(collate(part, padId, withLabels));
      return { p: o.logits.softmax(-1), loss: withLabels ? o.loss : undefined };
    }));
    const p = await out.p.data() as Float32Array, L = out.p.shape[1]!;
    batch.forEach((i, k) => { probs[i] = p.slice(k * L, (k + 1) * L); });
    if (out.loss) { lossSum += (await out.loss.data())[0]! * part.length; labelled += part.length; }
    out.p.dispose();
    out.loss?.dispose();
  }
  return { probs, loss: labelled > 0 ? lossSum / labelled : NaN };
}

export function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

/** Accuracy, macro-F1 and Matthews correlation of predicted class ids against gold ones. */
export function classificationMetrics(preds: readonly number[], gold: readonly number[]): { accuracy: number; macro_f1: number; mcc: number } {
  return { accuracy: accuracy(preds, gold), macro_f1: macroF1(preds, gold), mcc: matthewsCorrcoef(preds, gold) };
}

export interface ClassificationTaskOptions {
  batchSize: number;
  padId: number;
  evalBatchSize?: number;
  groupByLength?: boolean;
  /** Train against teachers' distributions as well as the labels (every training row needs `teacher`). */
  distill?: DistillationOptions;
}

export class SequenceClassificationTask implements TrainingTask<SequenceClassificationModel, Batch> {
  readonly metricForBest = 'accuracy';
  readonly greaterIsBetter = true;
  private readonly batcher: EpochBatcher;

  constructor(readonly train: readonly EncodedExample[], readonly evalSet: readonly EncodedExample[], readonly o: ClassificationTaskOptions) {
    if (train.some((r) => r.label < 0)) throw new InputError('the training data has rows without a label');
    if (o.distill && train.some((r) => r.teacher === undefined)) throw new Error('SequenceClassificationTask: distillation needs a teacher distribution for every training row');
    if (evalSet.length === 0) throw new InputError('the evaluation data is empty');
    this.batcher = EpochBatcher.bySize(train.map((r) => r.ids.length), o.batchSize, o.groupByLength ?? true);
  }

  get epoch(): number { return this.batcher.epoch; }
  get stepsPerEpoch(): number { return this.batcher.batchesPerEpoch; }

  trainBatch(gen: Generator): { inputs: Batch & { teacher?: Tensor }; tokens: number } {
    const rows = this.batcher.next(gen).map((i) => this.train[i]!);
    const inputs = { ...collate(rows, this.o.padId, true), ...(this.o.distill ? { teacher: collateTeacher(rows) } : {}) };
    return { inputs, tokens: rows.reduce((n, r) => n + r.ids.length, 0) };
  }

  loss(model: SequenceClassificationModel, inputs: Batch & { teacher?: Tensor }): Tensor {
    if (!this.o.distill) return modelLoss(model, inputs);
    const { teacher, ...batch } = inputs;
    const out = model.forward(batch);
    return distillationLoss(out.logits, out.loss!, teacher!, this.o.distill);
  }

  async evaluate(model: SequenceClassificationModel): Promise<Record<string, number>> {
    const { probs, loss } = await classifyEncoded(model, this.evalSet, this.o.padId, this.o.evalBatchSize ?? 64);
    return { eval_loss: loss, ...classificationMetrics(probs.map(argmax), this.evalSet.map((r) => r.label)) };
  }

  state(): unknown { return this.batcher.getState(); }
  setState(s: unknown): void { this.batcher.setState(s); }
}
