// Model families and loading by name: models.fromPretrained(dir) reads config.json, picks the class
// named in its architectures (or the family's default for its model_type) and loads model.safetensors.

import { PreTrainedModel, readConfig, loadWeightsInto, type LoadOptions, type PretrainedModelClass } from './modeling.js';
import { GPT2LMHeadModel } from './gpt2/model.js';
import { GPT2ForSequenceClassification } from './gpt2/classification.js';
import { BertModel, BertForMaskedLM, BertForSequenceClassification, BertForQuestionAnswering } from './bert/index.js';
import { Seq2SeqTransformer } from './seq2seq/model.js';
import { MarianMTModel } from './marian/model.js';
import { LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM } from './llama/model.js';
import { LlamaForSequenceClassification, MistralForSequenceClassification, Qwen2ForSequenceClassification } from './llama/classification.js';

export * from './gpt2/index.js';
export * from './bert/index.js';
export * from './seq2seq/index.js';
export * from './marian/index.js';
export * from './llama/index.js';
export { weightFiles, readGenerationConfig, WEIGHTS_NAME, WEIGHTS_INDEX_NAME, GENERATION_CONFIG_NAME, type WeightFile } from './pretrained_files.js';
export {
  PreTrainedModel, asIds, readConfig, readWeights, loadWeightsInto, tieWeight,
  type Ids, type ModelInputs, type ModelOutput, type BaseConfig, type LoadOptions, type PretrainedModelClass,
} from './modeling.js';
export { normalizeStateDict, renameLegacyKey, MASK_MIN } from './hf.js';
export { modelAttentionMask, attentionPositions } from './positions.js';
export { asTask, supportsTask, tasksOf, type TaskName, type TaskModel, type TaskModels, type CausalLMModel, type MaskedLMModel,
  type Seq2SeqLMModel, type SequenceClassificationModel, type QuestionAnsweringModel } from './tasks.js';
export { TASK_CLASSES, taskClass, fromPretrainedForTask } from './auto.js';
export { labelMaps, labelNames, labelOrder, numLabelsOf, classificationLoss, type LabelConfig } from './labels.js';
export {
  applyLora, saveAdapter, loadAdapter, readAdapterConfig, adapterConfigJson, loraConfigFromJson, inferTaskType, loraLayout, freshModules, adapterModulesToSave,
  ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME,
  type ApplyLoraOptions, type SaveAdapterOptions, type LoadAdapterOptions, type TaskType,
} from './peft.js';
export { PromptLearningModel, PROMPT_PEFT_PREFIX, type PromptModelParts } from './prompt_model.js';
export { applyPromptTuning, applyPrefixTuning, type PromptTuningOptions, type PrefixTuningOptions, type PromptLearningOptions } from './prompt_apply.js';
export { prefixFromActivations, type PromptInit, type PromptInitTokenizer } from './prompt_init.js';
export { savePromptAdapter, loadPromptAdapter, loadPeftAdapter, type LoadPromptAdapterOptions } from './prompt_files.js';
export { promptConfigJson, promptConfigFromJson, type PromptLearningConfig, type PromptPeftType, type PromptTuningInit } from './prompt_config.js';
export { quantizeModel, prepareQuantizedModel, readQuantizationConfig, QUANTIZABLE_ARCHITECTURES, type QuantizeOptions, type QuantizeReport,
  type QuantizationConfig } from './quantize/index.js';
export { ClozeClassifier, type ClozeOptions, type ClozeBatch, type ClozeInput, type ClozeModel, type ClozeTokenizer } from './prompt_cloze.js';


/** config.json architectures → class. */
export const ARCHITECTURES: Record<string, PretrainedModelClass<PreTrainedModel>> = {
  GPT2LMHeadModel,
  GPT2ForSequenceClassification,
  BertModel,
  BertForMaskedLM,
  BertForSequenceClassification,
  BertForQuestionAnswering,
  Seq2SeqTransformer,
  MarianMTModel,
  LlamaForCausalLM,
  Qwen2ForCausalLM,
  MistralForCausalLM,
  LlamaForSequenceClassification,
  Qwen2ForSequenceClassification,
  MistralForSequenceClassification,
};

const DEFAULT_FOR_TYPE: Record<string, string> = { gpt2: 'GPT2LMHeadModel', bert: 'BertModel', 'tlm-seq2seq': 'Seq2SeqTransformer', marian: 'MarianMTModel',
  llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' };

/** The model saved in dir (config.json + model.safetensors), in eval mode. */
export async function fromPretrained(dir: string, opts: LoadOptions = {}): Promise<PreTrainedModel> {
  const config = await readConfig(dir);
  const named = Array.isArray(config.architectures) ? config.architectures : [];
  const arch = named.find((a) => a in ARCHITECTURES) ?? (named.length === 0 ? DEFAULT_FOR_TYPE[config.model_type] : undefined);
  if (arch === undefined) {
    throw new Error(`fromPretrained: ${dir}/config.json: model_type '${String(config.model_type)}'${named.length ? ` (architectures ${named.join(', ')})` : ''} is not supported; supported: ${Object.keys(ARCHITECTURES).join(', ')}`);
  }
  const model = new ARCHITECTURES[arch]!(config as never, { skipInit: true });
  await loadWeightsInto(model, dir, opts);
  return model;
}
