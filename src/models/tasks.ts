// The model/task contract: what a model of each task takes and gives. A model class declares the
// tasks it implements (`static tasks`); training, generation, evaluation and the CLI reach a model
// through these interfaces and `asTask`, never through casts or lists of architecture names. A new
// family or head plugs in by implementing its task's interface and declaring it.

import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { KeyValue } from '../nn/attention.js';
import type { Ids, ModelInputs, ModelOutput } from './modeling.js';
import { InputError } from '../errors.js';

export type TaskName = 'causal-lm' | 'masked-lm' | 'seq2seq-lm' | 'sequence-classification' | 'question-answering';

/** What every task model has: a module with an HF config that saves as an HF-layout directory. */
export interface TaskModel extends Module {
  readonly architecture: string;
  readonly config: Record<string, unknown>;
  savePretrained(dir: string): Promise<void>;
  numParameters(): number;
}

/** Decoder-only language model (GPT-2 family): next-token logits; labels = the inputs (shifted inside). */
export interface CausalLMModel extends TaskModel {
  forward(inputs: ModelInputs & { pastKeyValues?: KeyValue[] | null }): ModelOutput & { logits: Tensor; presentKeyValues?: KeyValue[] };
}

/** Masked language model (BERT family): logits at every position; labels -100 except masked positions. */
export interface MaskedLMModel extends TaskModel {
  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor };
  /** Optional: the loss at the masked positions (flat indices) only, skipping the head elsewhere. */
  maskedLmLoss?(inputs: ModelInputs, positions: Tensor, targets: Tensor): Tensor;
}

/** Encoder-decoder language model: encode once, decode step by step; labels are the target ids. */
export interface Seq2SeqLMModel extends TaskModel {
  encode(inputs: { inputIds: Ids; attentionMask?: Ids | null }): Tensor;
  decode(inputs: { decoderInputIds: Ids; encoderHiddenStates: Tensor; attentionMask?: Ids | null }): { logits: Tensor };
}

/** Sequence classification: logits [B, numLabels]; labels [B] (class ids). */
export interface SequenceClassificationModel extends TaskModel {
  readonly numLabels: number;
  forward(inputs: ModelInputs): ModelOutput & { logits: Tensor };
}

/** Extractive question answering: span start and end logits [B, T]; labels are start/end positions [B]. */
export interface QuestionAnsweringModel extends TaskModel {
  forward(inputs: ModelInputs & { startPositions?: Ids | null; endPositions?: Ids | null }): ModelOutput & { startLogits: Tensor; endLogits: Tensor };
}

export interface TaskModels {
  'causal-lm': CausalLMModel;
  'masked-lm': MaskedLMModel;
  'seq2seq-lm': Seq2SeqLMModel;
  'sequence-classification': SequenceClassificationModel;
  'question-answering': QuestionAnsweringModel;
}

/** What a task does, for messages ("… does not classify"). */
const VERBS: Record<TaskName, string> = {
  'causal-lm': 'generate text (causal LM)',
  'masked-lm': 'fill masks (masked LM)',
  'seq2seq-lm': 'translate or summarize (seq2seq LM)',
  'sequence-classification': 'classify sequences',
  'question-answering': 'answer questions (extractive QA)',
};

/** The tasks a model implements, from its class's `static tasks`. */
export function tasksOf(model: object): readonly TaskName[] {
  return ((model.constructor as { tasks?: readonly TaskName[] }).tasks) ?? [];
}

export function supportsTask<T extends TaskName>(model: object, task: T): model is TaskModels[T] {
  return tasksOf(model).includes(task);
}

/** model as the task's interface, or an InputError that names what it is and what it can do. */
export function asTask<T extends TaskName>(model: object, task: T, where = 'model'): TaskModels[T] {
  if (supportsTask(model, task)) return model;
  const arch = (model as { architecture?: string }).architecture ?? model.constructor.name;
  const can = tasksOf(model).map((t) => VERBS[t]);
  throw new InputError(`${where} is a ${arch}, which does not ${VERBS[task]}${can.length ? `; it can ${can.join(', ')}` : ''}`);
}
