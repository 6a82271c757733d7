// What the Trainer needs of a task: training batches, their loss, and an evaluation. Language
// modeling (lm_task.ts) and the fine-tuning tasks (classification, QA, seq2seq) implement it.

import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

export interface TrainingTask<M extends Module = Module, B = unknown> {
  /** One micro-batch of training inputs, drawn with gen (whose state is checkpointed); called inside tidy. */
  trainBatch(gen: Generator): { inputs: B; tokens: number };
  /** The mean loss of a batch (a scalar with a graph to the trainable parameters). */
  loss(model: M, inputs: B): Tensor;
  /** Metrics of the model as it is now; called in eval mode with gradients off. */
  evaluate(model: M, step: number): Record<string, number> | Promise<Record<string, number>>;
  /** The metric that picks the best checkpoint (a key of evaluate's result) and whether higher is better. */
  readonly metricForBest: string;
  readonly greaterIsBetter?: boolean;
  /** Data-order state beyond the generator (an epoch's position), saved in checkpoints for resume. */
  state?(): unknown;
  setState?(state: unknown): void;
}

/** A model whose forward returns its own loss (HF's convention: pass labels, get output.loss). */
export interface ModelWithLoss extends Module {
  forward(inputs: never): { loss?: Tensor };
}

/** The loss the model computes itself from labels in its inputs (HF's default). */
export function modelLoss(model: ModelWithLoss, inputs: object): Tensor {
  const out = model.forward(inputs as never);
  if (!out.loss) throw new Error('Trainer: the model returned no loss; pass labels in the batch or give the task a loss function');
  return out.loss;
}
