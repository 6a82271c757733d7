// HF's AutoModelFor…: the head class of a task for a family (model_type), built from any checkpoint
// of that family — a pretrained base or MLM checkpoint gets a fresh head, a fine-tuned one keeps its.

import { readConfig, loadWeightsInto, type LoadOptions, type PreTrainedModel, type PretrainedModelClass } from './modeling.js';
import { GPT2LMHeadModel } from './gpt2/model.js';
import { GPT2ForSequenceClassification } from './gpt2/classification.js';
import { BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification } from './bert/index.js';
import { Seq2SeqTransformer } from './seq2seq/model.js';
import { MarianMTModel } from './marian/model.js';
import { LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM } from './llama/model.js';
import { LlamaForSequenceClassification, MistralForSequenceClassification, Qwen2ForSequenceClassification } from './llama/classification.js';
import { asTask, type TaskModels, type TaskName } from './tasks.js';
import { InputError } from '../errors.js';

/** model_type → the class implementing each task. A family adds its heads here. */
export const TASK_CLASSES: Record<string, Partial<Record<TaskName, PretrainedModelClass<PreTrainedModel>>>> = {
  gpt2: { 'causal-lm': GPT2LMHeadModel, 'sequence-classification': GPT2ForSequenceClassification },
  bert: { 'masked-lm': BertForMaskedLM, 'sequence-classification': BertForSequenceClassification, 'question-answering': BertForQuestionAnswering },
  'tlm-seq2seq': { 'seq2seq-lm': Seq2SeqTransformer },
  marian: { 'seq2seq-lm': MarianMTModel },
  llama: { 'causal-lm': LlamaForCausalLM, 'sequence-classification': LlamaForSequenceClassification },
  qwen2: { 'causal-lm': Qwen2ForCausalLM, 'sequence-classification': Qwen2ForSequenceClassification },
  mistral: { 'causal-lm': MistralForCausalLM, 'sequence-classification': MistralForSequenceClassification },
};

/** The class for task in a family, or an InputError listing what the family offers. */
export function taskClass(modelType: string, task: TaskName): PretrainedModelClass<PreTrainedModel> {
  const family = TASK_CLASSES[modelType];
  if (family === undefined) throw new InputError(`no model family '${modelType}' (families: ${Object.keys(TASK_CLASSES).join(', ')})`);
  const cls = family[task];
  if (cls === undefined) throw new InputError(`model_type '${modelType}' has no ${task} head (it has: ${Object.keys(family).join(', ')})`);
  return cls;
}

/**
 * The model in dir as the head of `task` (HF's AutoModelForSequenceClassification.from_pretrained):
 * config.json's fields with `configOverrides` on top (e.g. id2label), weights loaded by name, and
 * the head initialised when the checkpoint has none (reported through opts.warn).
 */
export async function fromPretrainedForTask<T extends TaskName>(dir: string, task: T, o: LoadOptions & { configOverrides?: Record<string, unknown> } = {}): Promise<TaskModels[T] & PreTrainedModel> {
  const config = { ...(await readConfig(dir)), ...o.configOverrides };
  const cls = taskClass(String(config.model_type), task);
  const model = new cls(config as never, { skipInit: true });
  await loadWeightsInto(model, dir, o);
  return asTask(model, task) as TaskModels[T] & PreTrainedModel;
}
