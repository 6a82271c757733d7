// Prompt-learning adapters in HF PEFT's file format: adapter_config.json (peft_type PROMPT_TUNING
// or PREFIX_TUNING) and adapter_model.safetensors with PEFT's `prompt_embeddings` (plus
// base_model.<head>.* for a classifier trained alongside), as PeftModel.save_pretrained writes and
// PeftModel.from_pretrained reads them. loadPeftAdapter reads any supported adapter directory.

import { fileSystem } from '../io/files.js';
import { join } from '../io/path.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { PrefixEncoder, PromptEmbedding } from '../nn/prompt.js';
import type { LoraModel } from '../nn/lora_model.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, loadAdapter, type LoadAdapterOptions } from './peft.js';
import { PROMPT_PEFT_TYPES, promptConfigFromJson, promptConfigJson, type PromptLearningConfig } from './prompt_config.js';
import { PromptLearningModel } from './prompt_model.js';
import { promptModelParts, promptModelShape } from './prompt_apply.js';

/** Writes dir/adapter_config.json and dir/adapter_model.safetensors (atomically), as PEFT's save_pretrained. */
export async function savePromptAdapter(dir: string, model: PromptLearningModel): Promise<void> {
  const { weights, computed } = model.adapterStateDict();
  try {
    await fileSystem().promises.mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), JSON.stringify(promptConfigJson(model.peftConfig), null, 2) + '\n');
    await saveSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), weights, { format: 'pt' });
  } finally {
    for (const t of computed) t.dispose();
  }
}

/** dir/adapter_config.json as JSON (errors name the file). */
async function readAdapterJson(dir: string, where: string): Promise<{ file: string; json: unknown }> {
  const file = join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = await fileSystem().promises.readFile(file, 'utf8');
  } catch {
    throw new Error(`${where}: ${file} not found`);
  }
  try {
    return { file, json: JSON.parse(text) };
  } catch (err) {
    throw new Error(`${where}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface LoadPromptAdapterOptions {
  /** Let the prompt train further (default false: inference mode). A prefix saved with prefix_projection cannot: PEFT keeps only its output. */
  isTrainable?: boolean;
  adapterName?: string;
}

/** The adapter's config checked against the model it is loaded into (layers, width, heads). */
function checkFits(cfg: PromptLearningConfig, model: Module, file: string): void {
  const shape = promptModelShape(model, 'loadPromptAdapter', cfg.peftType);
  const pairs: [string, number, number][] = [['num_layers', cfg.numLayers, shape.numLayers], ['token_dim', cfg.tokenDim, shape.tokenDim], ['num_attention_heads', cfg.numAttentionHeads, shape.numAttentionHeads]];
  for (const [field, saved, own] of pairs) {
    if (saved !== own) throw new Error(`loadPromptAdapter: ${file}: ${field} is ${saved}, the model (${model.constructor.name}) has ${own}`);
  }
}

/**
 * Loads a PEFT prompt-tuning or prefix-tuning adapter from dir onto a model (PeftModel.from_pretrained):
 * the model is frozen and wrapped; the returned handle runs it with the prompt. On error the model is left as it was.
 */
export async function loadPromptAdapter<M extends Module>(model: M, dir: string, opts: LoadPromptAdapterOptions = {}): Promise<PromptLearningModel<M>> {
  const { file, json } = await readAdapterJson(dir, 'loadPromptAdapter');
  const cfg = promptConfigFromJson(json, file);
  checkFits(cfg, model, file);
  cfg.inferenceMode = !opts.isTrainable;
  // A prefix trained through the MLP is saved as its output: loaded flat, it runs the same but cannot retrain the MLP.
  if (opts.isTrainable && cfg.peftType === 'PREFIX_TUNING' && cfg.prefixProjection) {
    throw new Error(`loadPromptAdapter: ${file}: prefix_projection is true and PEFT saves only the computed prefix, so the adapter can be loaded for inference only (isTrainable: false)`);
  }
  const wfile = join(dir, ADAPTER_WEIGHTS_NAME);
  if (!fileSystem().existsSync(wfile)) {
    const hint = fileSystem().existsSync(join(dir, 'adapter_model.bin')) ? ' (only adapter_model.bin is there: save it with safe_serialization=True)' : '';
    throw new Error(`loadPromptAdapter: ${wfile} not found${hint}`);
  }
  const weights: Record<string, Tensor> = await loadSafetensors(wfile);
  try {
    const parts = promptModelParts(model, promptModelShape(model, 'loadPromptAdapter').vocabSize, 'loadPromptAdapter');
    const encoder = cfg.peftType === 'PROMPT_TUNING'
      ? new PromptEmbedding({ numVirtualTokens: cfg.numVirtualTokens, tokenDim: cfg.tokenDim })
      : new PrefixEncoder({ numVirtualTokens: cfg.numVirtualTokens, tokenDim: cfg.tokenDim, numLayers: cfg.numLayers, prefixProjection: false });
    let handle: PromptLearningModel<M>;
    try {
      handle = new PromptLearningModel(model, cfg, encoder, parts, opts.adapterName);
    } catch (err) {
      encoder.dispose();
      throw err;
    }
    try {
      handle.loadAdapterStateDict(weights, wfile);
    } catch (err) {
      handle.unload();
      throw err;
    }
    return handle;
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
}

/**
 * Any adapter directory tlm reads (PeftModel.from_pretrained): LoRA through loadAdapter, prompt and
 * prefix tuning through loadPromptAdapter, chosen by adapter_config.json's peft_type.
 */
export async function loadPeftAdapter<M extends Module>(model: M, dir: string, opts: LoadAdapterOptions = {}): Promise<LoraModel<M> | PromptLearningModel<M>> {
  const { json } = await readAdapterJson(dir, 'loadPeftAdapter');
  const type = (json as { peft_type?: unknown } | null)?.peft_type;
  if (typeof type === 'string' && PROMPT_PEFT_TYPES.includes(type)) return loadPromptAdapter(model, dir, opts);
  return loadAdapter(model, dir, opts);
}
