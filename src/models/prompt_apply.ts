// applyPromptTuning / applyPrefixTuning (PEFT's get_peft_model with a PromptTuningConfig or a
// PrefixTuningConfig): read the model's shape from its config (as PEFT's
// _prepare_prompt_learning_config), find its word embeddings, build the prompt encoder, and wrap
// the model in a PromptLearningModel with its weights frozen.
//
//     const pt = applyPromptTuning(model, { numVirtualTokens: 20, init: { text: 'Classify the review:', tokenizer } });
//     const opt = new optim.AdamW(pt.trainableParameters(), { lr: 3e-2 });
//     const loss = pt.forward({ inputIds, attentionMask, labels }).loss;

import { noGrad, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Embedding } from '../nn/embedding.js';
import type { Module } from '../nn/module.js';
import { PrefixEncoder, PromptEmbedding } from '../nn/prompt.js';
import { prefixFromActivations, promptInitIds, type PromptInit } from './prompt_init.js';
import { adapterModulesToSave, inferTaskType, type TaskType } from './peft.js';
import { supportsTask, tasksOf } from './tasks.js';
import type { PromptLearningConfig } from './prompt_config.js';
import { PromptLearningModel, type PromptModelParts } from './prompt_model.js';

export interface PromptLearningOptions {
  numVirtualTokens: number;
  /** PEFT task type (default: from the model's class, as LoRA's). SEQ_CLS and QUESTION_ANS also train a copy of the head. */
  taskType?: TaskType | null;
  /** Heads trained in full next to the prompt (default: the task's, as PEFT: classifier/score, qa_outputs). */
  modulesToSave?: string[] | null;
  /** Saved in adapter_config.json. */
  baseModelNameOrPath?: string | null;
  /** Build the adapter frozen (default false). */
  inferenceMode?: boolean;
  /** Name of the adapter in state-dict keys (prompt_encoder.<name>; default 'default'). */
  adapterName?: string;
  /** Random numbers for the init (default: the global generator that manualSeed seeds). */
  generator?: Generator;
}

export interface PromptTuningOptions extends PromptLearningOptions {
  /** The embeddings of which tokens the prompt starts from (default 'random': N(0, 1) vectors, PEFT's RANDOM); see PromptInit. */
  init?: PromptInit;
}

export interface PrefixTuningOptions extends PromptLearningOptions {
  /** Learn the prefix through a two-layer MLP (P-tuning v2's reparameterization; default false). */
  prefixProjection?: boolean;
  /** The MLP's width (default: the model's hidden size). */
  encoderHiddenSize?: number;
  /** 'zero': start with a zero prefix (PEFT's init_weights="zero"); default N(0, 1). */
  initWeights?: 'zero' | null;
  /**
   * Start from the keys and values the frozen model computes for these tokens (Li & Liang's init
   * from real words' activations; BERT, without prefix_projection); default 'random' (initWeights).
   */
  init?: PromptInit;
}

/** Heads that PEFT's PeftModelFor<task> trains in full (modules_to_save). */
const TASK_HEADS: Partial<Record<string, string[]>> = { SEQ_CLS: ['classifier', 'score'], QUESTION_ANS: ['qa_outputs'] };

/**
 * The model's shape, as PEFT reads it from the config (BERT's names, then GPT-2's). A prefix is keys
 * and values, so under grouped-query attention (Llama, Qwen2, Mistral) it is num_key_value_heads
 * wide: token_dim becomes head_dim · num_key_value_heads and num_attention_heads the key/value
 * heads, as PEFT's _prepare_prompt_learning_config does for PREFIX_TUNING.
 */
export function promptModelShape(model: Module, where: string, peftType: PromptLearningConfig['peftType'] = 'PROMPT_TUNING'): { numLayers: number; tokenDim: number; numAttentionHeads: number; vocabSize: number } {
  const c = (model as { config?: Record<string, unknown> }).config;
  if (c === undefined || c === null || typeof c !== 'object') throw new Error(`${where}: ${model.constructor.name} has no config (prompt learning reads layers, width and heads from it)`);
  if (tasksOf(model).includes('seq2seq-lm')) throw new Error(`${where}: ${model.constructor.name} is an encoder-decoder model; prompt learning supports one-stack models (BERT, GPT-2, Llama)`);
  const num = (...keys: string[]): number => {
    for (const k of keys) if (typeof c[k] === 'number') return c[k] as number;
    throw new Error(`${where}: the config has none of ${keys.join(', ')}`);
  };
  const shape = { numLayers: num('num_hidden_layers', 'n_layer', 'num_layers'), tokenDim: num('hidden_size', 'n_embd', 'd_model'),
    numAttentionHeads: num('num_attention_heads', 'n_head', 'num_heads'), vocabSize: num('vocab_size') };
  const kv = c.num_key_value_heads;
  if (peftType === 'PREFIX_TUNING' && typeof kv === 'number') {
    const headDim = typeof c.head_dim === 'number' ? c.head_dim : shape.tokenDim / shape.numAttentionHeads;
    return { ...shape, tokenDim: headDim * kv, numAttentionHeads: kv };
  }
  return shape;
}

/** The word embeddings (PEFT: embeddings.word_embeddings, else the table with vocab_size rows) and what the handle needs. */
export function promptModelParts(model: Module, vocabSize: number, where: string): PromptModelParts {
  const tables = [...model.namedModules()].filter((e): e is [string, Embedding] => e[1] instanceof Embedding);
  const found = tables.find(([k]) => k === 'embeddings.word_embeddings' || k.endsWith('.embeddings.word_embeddings'))
    ?? tables.find(([, m]) => m.numEmbeddings === vocabSize);
  if (!found) throw new Error(`${where}: found no word embeddings in ${model.constructor.name} (an Embedding with vocab_size ${vocabSize} rows)`);
  const pad = (model as { config?: { pad_token_id?: unknown } }).config?.pad_token_id;
  // Only a causal classifier reads pad ids to find each row's last token.
  const causalClassifier = supportsTask(model, 'sequence-classification') && (model.constructor as { poolsLastToken?: boolean }).poolsLastToken === true;
  return { wordEmbeddings: found[1], padTokenId: causalClassifier && typeof pad === 'number' ? pad : null };
}

function baseConfig(model: Module, opts: PromptLearningOptions, peftType: PromptLearningConfig['peftType'], where: string): PromptLearningConfig {
  if (opts === null || typeof opts !== 'object') throw new Error(`${where}: expected an options object`);
  const P = opts.numVirtualTokens;
  if (!Number.isInteger(P) || P <= 0) throw new Error(`${where}: numVirtualTokens must be a positive integer, got ${JSON.stringify(P)}`);
  const shape = promptModelShape(model, where, peftType);
  const taskType = opts.taskType === undefined ? inferTaskType(model) : opts.taskType;
  const toSave = adapterModulesToSave(model, opts.modulesToSave ?? [], TASK_HEADS[taskType ?? ''] ?? []);
  return {
    peftType, taskType, numVirtualTokens: P, tokenDim: shape.tokenDim, numTransformerSubmodules: 1,
    numAttentionHeads: shape.numAttentionHeads, numLayers: shape.numLayers, modulesToSave: toSave,
    inferenceMode: opts.inferenceMode ?? false, baseModelNameOrPath: opts.baseModelNameOrPath ?? null, revision: null,
    promptTuningInit: 'RANDOM', promptTuningInitText: null, tokenizerNameOrPath: null,
    prefixProjection: false, encoderHiddenSize: null, initWeights: null,
  };
}

/**
 * Soft prompts (PEFT's PROMPT_TUNING): numVirtualTokens trainable vectors before the input
 * embeddings of a frozen BERT, GPT-2 or Llama model.
 */
export function applyPromptTuning<M extends Module>(model: M, opts: PromptTuningOptions): PromptLearningModel<M> {
  const where = 'applyPromptTuning';
  const cfg = baseConfig(model, opts, 'PROMPT_TUNING', where);
  const parts = promptModelParts(model, promptModelShape(model, where).vocabSize, where);
  const words = parts.wordEmbeddings;
  if (words.embeddingDim !== cfg.tokenDim) throw new Error(`${where}: the word embeddings are ${words.embeddingDim} wide, the model ${cfg.tokenDim} (a concatenated position encoding); prompt tuning needs them equal`);
  const P = cfg.numVirtualTokens, init = opts.init ?? 'random';
  const ids = promptInitIds(init, P, words.numEmbeddings, opts.generator ?? defaultGenerator, where);
  if (init === 'sample-vocab') cfg.promptTuningInit = 'SAMPLE_VOCAB';
  else if (typeof init === 'object') {
    cfg.promptTuningInit = 'TEXT';
    cfg.promptTuningInitText = init.text;
    cfg.tokenizerNameOrPath = init.tokenizerNameOrPath ?? cfg.baseModelNameOrPath;
  }
  const start: Tensor | null = ids === null ? null : noGrad(() => tidy(() => words.forward(tensor(Int32Array.from(ids!), { shape: [P] }))));
  try {
    return wrap(model, cfg, new PromptEmbedding({ numVirtualTokens: P, tokenDim: cfg.tokenDim, init: start, generator: opts.generator }), parts, opts.adapterName);
  } finally {
    start?.dispose();
  }
}

/**
 * Deep prompts (PEFT's PREFIX_TUNING, P-tuning v2): per virtual token, trainable keys and values
 * in every attention layer of a frozen BERT, GPT-2 or Llama model (num_key_value_heads of them
 * under grouped-query attention).
 */
export function applyPrefixTuning<M extends Module>(model: M, opts: PrefixTuningOptions): PromptLearningModel<M> {
  const where = 'applyPrefixTuning';
  const cfg = baseConfig(model, opts, 'PREFIX_TUNING', where);
  if (cfg.tokenDim % cfg.numAttentionHeads !== 0) throw new Error(`${where}: hidden size ${cfg.tokenDim} is not divisible by ${cfg.numAttentionHeads} heads`);
  const parts = promptModelParts(model, promptModelShape(model, where).vocabSize, where);
  cfg.prefixProjection = opts.prefixProjection ?? false;
  cfg.encoderHiddenSize = opts.encoderHiddenSize ?? cfg.tokenDim;
  cfg.initWeights = opts.initWeights ?? null;
  const ids = promptInitIds(opts.init ?? 'random', cfg.numVirtualTokens, parts.wordEmbeddings.numEmbeddings, opts.generator ?? defaultGenerator, where);
  const start = ids === null ? null : prefixFromActivations(model, ids, cfg.numLayers, where);
  try {
    const encoder = new PrefixEncoder({ numVirtualTokens: cfg.numVirtualTokens, tokenDim: cfg.tokenDim, numLayers: cfg.numLayers,
      prefixProjection: cfg.prefixProjection, encoderHiddenSize: cfg.encoderHiddenSize, initWeights: cfg.initWeights, init: start, generator: opts.generator });
    return wrap(model, cfg, encoder, parts, opts.adapterName);
  } finally {
    start?.dispose();
  }
}

/** The handle, or the encoder freed and the error passed on (the model is left as it was). */
function wrap<M extends Module>(model: M, cfg: PromptLearningConfig, encoder: PromptEmbedding | PrefixEncoder, parts: PromptModelParts, name?: string): PromptLearningModel<M> {
  try {
    return new PromptLearningModel(model, cfg, encoder, parts, name);
  } catch (err) {
    encoder.dispose();
    throw err;
  }
}
