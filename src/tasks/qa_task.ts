// Extractive question answering as a TrainingTask: examples cut into overlapping windows
// (prepareQaFeatures), trained on the answer's start/end tokens (the model's own loss), evaluated by
// answering every evaluation question from all its windows and scoring with SQuAD's EM and F1.

import { tensor } from '../tensor/ops/creation.js';
import { noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import type { QuestionAnsweringModel } from '../models/tasks.js';
import { EpochBatcher, evalBatches, padRows, type PaddedBatch } from '../train/batching.js';
import { modelLoss, type TrainingTask } from '../train/task.js';
import { InputError } from '../errors.js';
import { squad } from './metrics/squad.js';
import { postprocessQaPredictions, type QaPostprocessOptions, type QaPrediction } from './qa_postprocess.js';
import type { QaExample, QaFeature } from './qa_types.js';

type Batch = PaddedBatch & { startPositions?: Tensor; endPositions?: Tensor };

function collate(features: readonly QaFeature[], padId: number, withLabels: boolean): Batch {
  const b: Batch = padRows(features.map((f) => ({ ids: f.inputIds, typeIds: f.tokenTypeIds })), padId);
  if (withLabels) {
    b.startPositions = tensor(Int32Array.from(features, (f) => f.startPosition ?? 0), { shape: [features.length] });
    b.endPositions = tensor(Int32Array.from(features, (f) => f.endPosition ?? 0), { shape: [features.length] });
  }
  return b;
}

/** Start and end logits of every feature (rows as long as the feature), in feature order. */
export async function qaLogits(model: QuestionAnsweringModel, features: readonly QaFeature[], padId: number, batchSize = 32): Promise<{ start: Float32Array[]; end: Float32Array[] }> {
  const start: Float32Array[] = new Array(features.length), end: Float32Array[] = new Array(features.length);
  for (const batch of evalBatches(features.map((f) => f.inputIds.length), batchSize)) {
    const part = batch.map((i) => features[i]!);
    const out = noGrad(() => tidy(() => {
      const o = model.forward(collate(part, padId, false));
      return { s: o.startLogits, e: o.endLogits };
    }));
    const T = out.s.shape[1]!;
    const s = await out.s.data() as Float32Array, e = await out.e.data() as Float32Array;
    batch.forEach((i, k) => {
      const n = features[i]!.inputIds.length;
      start[i] = s.slice(k * T, k * T + n);
      end[i] = e.slice(k * T, k * T + n);
    });
    out.s.dispose();
    out.e.dispose();
  }
  return { start, end };
}

/** Answers for examples from their features: the best valid span over all windows of each. */
export async function answerQuestions(model: QuestionAnsweringModel, examples: QaExample[], features: QaFeature[], padId: number,
                                      o: QaPostprocessOptions & { batchSize?: number } = {}): Promise<QaPrediction[]> {
  const { start, end } = await qaLogits(model, features, padId, o.batchSize);
  return postprocessQaPredictions(examples, features, start, end, o);
}

export interface QaTaskOptions {
  batchSize: number;
  padId: number;
  evalBatchSize?: number;
  nBest?: number;
  maxAnswerLength?: number;
  /** Evaluation answers of whole words only (default true; see postprocessQaPredictions). */
  wholeWords?: boolean;
}

export class QuestionAnsweringTask implements TrainingTask<QuestionAnsweringModel, Batch> {
  readonly metricForBest = 'f1';
  readonly greaterIsBetter = true;
  private readonly batcher: EpochBatcher;

  constructor(readonly trainFeatures: readonly QaFeature[], readonly evalExamples: QaExample[], readonly evalFeatures: QaFeature[],
              readonly o: QaTaskOptions) {
    if (trainFeatures.length === 0) throw new InputError('the training data has no question');
    if (trainFeatures.some((f) => f.startPosition === undefined)) throw new InputError('the training data has questions without answers');
    if (evalExamples.length === 0) throw new InputError('the evaluation data has no question');
    this.batcher = EpochBatcher.bySize(trainFeatures.map((f) => f.inputIds.length), o.batchSize);
  }

  get stepsPerEpoch(): number { return this.batcher.batchesPerEpoch; }

  trainBatch(gen: Generator): { inputs: Batch; tokens: number } {
    const rows = this.batcher.next(gen).map((i) => this.trainFeatures[i]!);
    return { inputs: collate(rows, this.o.padId, true), tokens: rows.reduce((n, f) => n + f.inputIds.length, 0) };
  }

  loss(model: QuestionAnsweringModel, inputs: Batch): Tensor {
    return modelLoss(model, inputs);
  }

  /** SQuAD v1.1 exact match and F1 (0–100) of the answers to the evaluation questions. */
  async evaluate(model: QuestionAnsweringModel): Promise<Record<string, number>> {
    const preds = await answerQuestions(model, this.evalExamples, this.evalFeatures, this.o.padId,
      { batchSize: this.o.evalBatchSize ?? 32, nBest: this.o.nBest, maxAnswerLength: this.o.maxAnswerLength, wholeWords: this.o.wholeWords ?? true });
    const s = squad(preds.map((p) => p.text), this.evalExamples.map((e) => (e.answers ?? []).map((a) => a.text)));
    return { exact_match: s.exactMatch, f1: s.f1 };
  }

  state(): unknown { return this.batcher.getState(); }
  setState(s: unknown): void { this.batcher.setState(s); }
}
