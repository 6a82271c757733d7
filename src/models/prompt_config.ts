// Prompt-learning configuration as HF PEFT's PromptTuningConfig / PrefixTuningConfig (camelCased),
// and its adapter_config.json: written with PEFT's field names, read back with checks that name
// the field. The model-shape fields (token_dim, num_layers, ...) are filled in from the model, as
// PEFT's _prepare_prompt_learning_config does.

import type { TaskType } from './peft.js';

export type PromptPeftType = 'PROMPT_TUNING' | 'PREFIX_TUNING';
export type PromptTuningInit = 'RANDOM' | 'TEXT' | 'SAMPLE_VOCAB';

/** A prompt-learning adapter's configuration, every field resolved. */
export interface PromptLearningConfig {
  peftType: PromptPeftType;
  taskType: TaskType | null;
  numVirtualTokens: number;
  /** The model's embedding width (hidden_size / n_embd). */
  tokenDim: number;
  /** 1: one prompt for the one stack (encoder-only or decoder-only models; 2 is PEFT's seq2seq). */
  numTransformerSubmodules: number;
  numAttentionHeads: number;
  numLayers: number;
  /** Heads trained in full and saved with the adapter (a classifier's `classifier` / `score`). */
  modulesToSave: string[] | null;
  /** The adapter does not train (loaded adapters, unless asked otherwise). */
  inferenceMode: boolean;
  baseModelNameOrPath: string | null;
  revision: string | null;
  /** Prompt tuning. */
  promptTuningInit: PromptTuningInit;
  promptTuningInitText: string | null;
  tokenizerNameOrPath: string | null;
  /** Prefix tuning. */
  prefixProjection: boolean;
  encoderHiddenSize: number | null;
  initWeights: 'zero' | null;
}

/** Objects with their keys sorted, as PEFT writes adapter_config.json (json.dumps(sort_keys=True)). */
function sortKeys(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
}

/**
 * adapter_config.json as PeftModel.save_pretrained writes it (inference_mode true). TEXT init: PEFT
 * refuses a config without tokenizer_name_or_path, so give one (tlm's loader does not need it).
 */
export function promptConfigJson(cfg: PromptLearningConfig): Record<string, unknown> {
  const common = {
    auto_mapping: null,
    base_model_name_or_path: cfg.baseModelNameOrPath,
    inference_mode: true,
    modules_to_save: cfg.modulesToSave,
    num_attention_heads: cfg.numAttentionHeads,
    num_layers: cfg.numLayers,
    num_transformer_submodules: cfg.numTransformerSubmodules,
    num_virtual_tokens: cfg.numVirtualTokens,
    peft_type: cfg.peftType,
    revision: cfg.revision,
    task_type: cfg.taskType,
    token_dim: cfg.tokenDim,
  };
  if (cfg.peftType === 'PROMPT_TUNING') {
    return sortKeys({
      ...common,
      prompt_tuning_init: cfg.promptTuningInit,
      prompt_tuning_init_text: cfg.promptTuningInitText,
      tokenizer_kwargs: null,
      tokenizer_name_or_path: cfg.tokenizerNameOrPath,
    });
  }
  return sortKeys({
    ...common,
    encoder_hidden_size: cfg.encoderHiddenSize ?? cfg.tokenDim,
    prefix_projection: cfg.prefixProjection,
    // Older PEFT versions do not know this field: written only when it says something.
    ...(cfg.initWeights !== null ? { init_weights: cfg.initWeights } : {}),
  });
}

export const PROMPT_PEFT_TYPES: readonly string[] = ['PROMPT_TUNING', 'PREFIX_TUNING'];

/** A PromptLearningConfig from adapter_config.json's fields; `file` names it in errors. */
export function promptConfigFromJson(json: unknown, file = 'adapter_config.json'): PromptLearningConfig {
  const fail = (msg: string): never => { throw new Error(`loadPromptAdapter: ${file}: ${msg}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('must hold a JSON object');
  const j = json as Record<string, unknown>;
  const type = j.peft_type;
  if (type !== 'PROMPT_TUNING' && type !== 'PREFIX_TUNING') {
    fail(`peft_type ${JSON.stringify(type ?? null)} is not a prompt-learning adapter (expected 'PROMPT_TUNING' or 'PREFIX_TUNING'${type === 'LORA' ? '; load LoRA adapters with loadAdapter' : ''})`);
  }
  const int = (field: string, dflt?: number): number => {
    const v = j[field] ?? dflt;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fail(`${field} must be a positive integer, got ${JSON.stringify(v ?? null)}`);
  };
  const str = (field: string): string | null => {
    const v = j[field];
    return v === undefined || v === null ? null : typeof v === 'string' ? v : fail(`${field} must be a string or null, got ${JSON.stringify(v)}`);
  };
  const subs = int('num_transformer_submodules', 1);
  if (subs !== 1) fail(`num_transformer_submodules ${subs} is for encoder-decoder models; tlm's prompt learning covers one stack (BERT, GPT-2)`);
  const toSave = j.modules_to_save ?? null;
  if (toSave !== null && !(Array.isArray(toSave) && toSave.every((s) => typeof s === 'string'))) fail(`modules_to_save must be a list of names, got ${JSON.stringify(toSave)}`);
  const init = j.prompt_tuning_init ?? 'RANDOM';
  if (init !== 'RANDOM' && init !== 'TEXT' && init !== 'SAMPLE_VOCAB') fail(`prompt_tuning_init must be RANDOM, TEXT or SAMPLE_VOCAB, got ${JSON.stringify(init)}`);
  const projection = j.prefix_projection ?? false;
  if (typeof projection !== 'boolean') fail(`prefix_projection must be true or false, got ${JSON.stringify(projection)}`);
  const initWeights = j.init_weights ?? null;
  if (initWeights !== null && initWeights !== 'zero') fail(`init_weights must be "zero" or null, got ${JSON.stringify(initWeights)}`);
  return {
    peftType: type as PromptPeftType,
    taskType: str('task_type') as TaskType | null,
    numVirtualTokens: int('num_virtual_tokens'),
    tokenDim: int('token_dim'),
    numTransformerSubmodules: subs,
    numAttentionHeads: int('num_attention_heads'),
    numLayers: int('num_layers'),
    modulesToSave: toSave as string[] | null,
    inferenceMode: j.inference_mode !== false,
    baseModelNameOrPath: str('base_model_name_or_path'),
    revision: str('revision'),
    promptTuningInit: init as PromptTuningInit,
    promptTuningInitText: str('prompt_tuning_init_text'),
    tokenizerNameOrPath: str('tokenizer_name_or_path'),
    prefixProjection: projection as boolean,
    encoderHiddenSize: j.encoder_hidden_size === undefined || j.encoder_hidden_size === null ? null : int('encoder_hidden_size'),
    initWeights: initWeights as 'zero' | null,
  };
}
