// LoRA for tlm's models, in HF PEFT's file format: applyLora (get_peft_model) knows the model
// families (GPT-2's Conv1D layout, the task heads PEFT trains in full), saveAdapter writes
// adapter_config.json + adapter_model.safetensors as PeftModel.save_pretrained does, and
// loadAdapter reads them (PeftModel.from_pretrained / load_adapter), so adapters move between
// tlm and PEFT unchanged.

import { fileSystem } from '../io/files.js';
import { join } from '../io/path.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { LoraModel } from '../nn/lora_model.js';
import { patternSource, type LoraConfig, type ResolvedLoraConfig } from '../nn/lora_config.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Conv1D } from './gpt2/model.js';
import { tasksOf } from './tasks.js';
import { PreTrainedModel } from './modeling.js';
import type { PromptLearningModel } from './prompt_model.js';

/** PEFT's TaskType values, as written to adapter_config.json. */
export type TaskType = 'SEQ_CLS' | 'SEQ_2_SEQ_LM' | 'CAUSAL_LM' | 'TOKEN_CLS' | 'QUESTION_ANS' | 'FEATURE_EXTRACTION';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';

/** Heads that PEFT's PeftModelFor<task> adds to modules_to_save: they start untrained, so they must learn. */
const TASK_HEADS: Partial<Record<string, string[]>> = { SEQ_CLS: ['classifier', 'score'], TOKEN_CLS: ['classifier', 'score'], QUESTION_ANS: ['qa_outputs'] };
/** Output projections that 'all-linear' leaves out (tied to the embeddings in most LMs). */
const OUTPUT_LAYERS = ['lm_head', 'cls.predictions.decoder'];

/** LoRA's view of a layer: Linear keeps W [out, in]; GPT-2's Conv1D keeps W [in, out] (fan_in_fan_out). */
export function loraLayout(m: Module): boolean | undefined {
  return m instanceof Conv1D ? true : m instanceof Linear ? false : undefined;
}

/** The PEFT task of a model, from the tasks its class implements (the model/task contract). */
export function inferTaskType(model: Module): TaskType | null {
  const tasks = tasksOf(model);
  if (tasks.includes('sequence-classification')) return 'SEQ_CLS';
  if (tasks.includes('causal-lm')) return 'CAUSAL_LM';
  if (tasks.includes('question-answering')) return 'QUESTION_ANS';
  if (tasks.includes('seq2seq-lm')) return 'SEQ_2_SEQ_LM';
  return model instanceof PreTrainedModel ? 'FEATURE_EXTRACTION' : null;
}

export interface ApplyLoraOptions extends LoraConfig {
  /** Name of the adapter (default 'default'). */
  adapterName?: string;
}

/**
 * Adds LoRA adapters to a model, in place, and freezes its weights (PEFT's get_peft_model). The
 * task (taskType, inferred from the class when left out) decides which heads also train in full,
 * as PEFT: a sequence classifier's `classifier`, a QA model's `qa_outputs`.
 *
 *     const lora = applyLora(model, { r: 8, loraAlpha: 16, targetModules: ['query', 'value'] });
 *     const opt = new optim.AdamW(lora.trainableParameters(), { lr: 1e-3 });
 */
export function applyLora<M extends Module>(model: M, config: ApplyLoraOptions): LoraModel<M> {
  const { adapterName, ...cfg } = config;
  return new LoraModel(model, cfg, {
    adapterName: adapterName ?? 'default',
    layout: loraLayout,
    outputLayers: OUTPUT_LAYERS,
    prepareConfig: (c) => withTaskDefaults(model, c),
  });
}

/** taskType filled in, and the task's heads (those the model has) added to modulesToSave. */
function withTaskDefaults(model: Module, c: LoraConfig): LoraConfig {
  const taskType = c.taskType === undefined ? inferTaskType(model) : c.taskType;
  return { ...c, taskType, modulesToSave: adapterModulesToSave(model, c.modulesToSave ?? [], taskType ? TASK_HEADS[taskType] ?? [] : []) };
}

/** The modules holding weights that loading initialised because the checkpoint lacked them (none for a model not loaded). */
export function freshModules(model: Module): string[] {
  const keys = model instanceof PreTrainedModel ? model.newlyInitialised : [];
  return [...new Set(keys.map((key) => key.slice(0, key.lastIndexOf('.'))).filter((m) => m !== ''))];
}

/**
 * What an adapter trains in full and saves beside itself (PEFT's modules_to_save): the modules asked
 * for, the task's heads that this model has (PEFT lists 'classifier' and 'score'; absent ones are
 * dropped), and every module whose weights the checkpoint lacked, such as BERT's pooler after masked-LM
 * pretraining: loading draws those at random, so a reloaded adapter could not rebuild them otherwise.
 * A module inside one already listed is covered by it.
 */
export function adapterModulesToSave(model: Module, given: readonly string[], heads: readonly string[]): string[] | null {
  const names = [...model.namedModules()].map(([k]) => k);
  const has = (h: string) => names.some((k) => k === h || k.endsWith(`.${h}`));
  const listed = [...new Set([...given.filter((m) => !heads.includes(m) || has(m)), ...heads.filter(has)])];
  const covered = (m: string) => listed.some((g) => m === g || m.endsWith(`.${g}`) || m.startsWith(`${g}.`) || m.includes(`.${g}.`));
  const toSave = [...listed, ...freshModules(model).filter((m) => !covered(m))];
  return toSave.length ? toSave : null;
}

// ---------------------------------------------------------------- adapter_config.json

/** Objects with their keys sorted, as PEFT writes adapter_config.json (json.dumps(sort_keys=True)). */
function sortKeys(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
}

/** The adapter_config.json of an adapter: PEFT's LoraConfig fields, inference_mode true as save_pretrained writes it. */
export function adapterConfigJson(cfg: ResolvedLoraConfig, fanInFanOut: boolean): Record<string, unknown> {
  const names = (v: string[] | RegExp | null) => (v === null ? null : v instanceof RegExp ? patternSource(v) : [...v]);
  return sortKeys({
    alpha_pattern: cfg.alphaPattern,
    auto_mapping: null,
    base_model_name_or_path: cfg.baseModelNameOrPath,
    bias: 'none',
    exclude_modules: names(cfg.excludeModules),
    fan_in_fan_out: fanInFanOut,
    inference_mode: true,
    init_lora_weights: cfg.initLoraWeights,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: cfg.loraAlpha,
    lora_bias: false,
    lora_dropout: cfg.loraDropout,
    modules_to_save: cfg.modulesToSave,
    peft_type: 'LORA',
    r: cfg.r,
    rank_pattern: cfg.rankPattern,
    revision: null,
    target_modules: names(cfg.targetModules),
    task_type: cfg.taskType,
    use_dora: false,
    use_rslora: cfg.useRslora,
  });
}

/**
 * A LoraConfig from adapter_config.json's fields. Refuses what tlm cannot reproduce faithfully
 * (other PEFT methods, DoRA, trainable biases, layer subsets, inits that change the base model).
 */
export function loraConfigFromJson(json: unknown, file = ADAPTER_CONFIG_NAME): LoraConfig {
  const fail = (msg: string): never => { throw new Error(`loadAdapter: ${file}: ${msg}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('must hold a JSON object');
  const j = json as Record<string, unknown>;
  if (j.peft_type === undefined) fail("has no peft_type (expected 'LORA')");
  if (j.peft_type === 'PROMPT_TUNING' || j.peft_type === 'PREFIX_TUNING') fail(`peft_type '${j.peft_type}' is a prompt-learning adapter; load it with loadPromptAdapter (or loadPeftAdapter)`);
  if (j.peft_type !== 'LORA') fail(`peft_type '${String(j.peft_type)}' is not supported; tlm loads 'LORA' adapters`);
  const isSet = (v: unknown) => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0)
    && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
  for (const field of ['use_dora', 'lora_bias', 'layers_to_transform', 'layer_replication', 'target_parameters', 'trainable_token_indices', 'use_qalora', 'alora_invocation_tokens']) {
    if (isSet(j[field])) fail(`${field} = ${JSON.stringify(j[field])} is not supported`);
  }
  if (j.bias !== undefined && j.bias !== 'none') fail(`bias '${String(j.bias)}' is not supported; only 'none'`);
  const init = j.init_lora_weights ?? true;
  if (init !== true && init !== false && init !== 'gaussian') fail(`init_lora_weights '${String(init)}' changes the base model's weights; convert the adapter to plain LoRA first`);
  const num = (field: string, dflt: number): number => {
    const v = j[field] ?? dflt;
    return typeof v === 'number' ? v : fail(`${field} must be a number, got ${JSON.stringify(v)}`);
  };
  const strings = (field: string): string[] | string | null => {
    const v = j[field];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'))) return v as string[] | string;
    return fail(`${field} must be a list of names or a pattern, got ${JSON.stringify(v)}`);
  };
  const target = strings('target_modules') ?? fail('target_modules is missing');
  const toSave = strings('modules_to_save');
  if (typeof toSave === 'string') fail('modules_to_save must be a list of names');
  return {
    r: num('r', 8),
    loraAlpha: num('lora_alpha', 8),
    loraDropout: num('lora_dropout', 0),
    targetModules: target,
    excludeModules: strings('exclude_modules'),
    modulesToSave: toSave as string[] | null,
    useRslora: j.use_rslora === true,
    initLoraWeights: init as boolean | 'gaussian',
    rankPattern: (j.rank_pattern ?? {}) as Record<string, number>,
    alphaPattern: (j.alpha_pattern ?? {}) as Record<string, number>,
    fanInFanOut: j.fan_in_fan_out === true,
    taskType: typeof j.task_type === 'string' ? j.task_type : null,
    baseModelNameOrPath: typeof j.base_model_name_or_path === 'string' ? j.base_model_name_or_path : null,
  };
}

// ---------------------------------------------------------------- files

export interface SaveAdapterOptions {
  /** The adapter to save (default: the active one). Its name is not stored, as in PEFT. */
  adapterName?: string;
}

/** Writes dir/adapter_config.json and dir/adapter_model.safetensors (atomically) as PEFT's save_pretrained. */
export async function saveAdapter(dir: string, lora: LoraModel | PromptLearningModel, opts: SaveAdapterOptions = {}): Promise<void> {
  if (!(lora instanceof LoraModel)) return (await import('./prompt_files.js')).savePromptAdapter(dir, lora);
  const name = opts.adapterName ?? lora.activeAdapter;
  const cfg = lora.peftConfig[name];
  if (cfg === undefined) throw new Error(`saveAdapter: no adapter '${name}' (adapters: ${lora.adapterNames.join(', ')})`);
  const weights = lora.adapterStateDict(name);
  const fanInFanOut = lora.loraLayers().some(([, l]) => l.fanInFanOut && l.hasAdapter(name));
  await fileSystem().promises.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), JSON.stringify(adapterConfigJson(cfg, fanInFanOut), null, 2) + '\n');
  await saveSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), weights, { format: 'pt' });
}

/** The adapter config saved in dir. */
export async function readAdapterConfig(dir: string): Promise<LoraConfig> {
  const file = join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = await fileSystem().promises.readFile(file, 'utf8');
  } catch {
    throw new Error(`loadAdapter: ${file} not found`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`loadAdapter: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return loraConfigFromJson(json, file);
}

export interface LoadAdapterOptions {
  /** The name to load it under (default 'default'). */
  adapterName?: string;
  /** Let the adapter train further (default false: inference mode, as PEFT's is_trainable=False). */
  isTrainable?: boolean;
}

/**
 * Loads a PEFT LoRA adapter from dir. Given a plain model, injects LoRA and returns the new handle
 * with the adapter active (PeftModel.from_pretrained); given a LoraModel, adds the adapter to it,
 * inactive until setAdapter (load_adapter). On any error the model is left as it was.
 */
export async function loadAdapter<M extends Module>(target: M | LoraModel<M>, dir: string, opts: LoadAdapterOptions = {}): Promise<LoraModel<M>> {
  const name = opts.adapterName ?? 'default';
  const cfg = await readAdapterConfig(dir);
  const file = join(dir, ADAPTER_WEIGHTS_NAME);
  if (!fileSystem().existsSync(file)) {
    const hint = fileSystem().existsSync(join(dir, 'adapter_model.bin')) ? ' (only adapter_model.bin is there: save it with safe_serialization=True)' : '';
    throw new Error(`loadAdapter: ${file} not found${hint}`);
  }
  const weights: Record<string, Tensor> = await loadSafetensors(file);
  try {
    const config = { ...cfg, inferenceMode: !opts.isTrainable };
    const created = !(target instanceof LoraModel);
    const lora = target instanceof LoraModel ? target : applyLora(target, { ...config, adapterName: name });
    if (!created) lora.addAdapter(name, config);
    try {
      lora.loadAdapterStateDict(weights, name, file);
    } catch (err) {
      if (created) lora.unload();
      else lora.deleteAdapter(name);
      throw err;
    }
    return lora;
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
}
