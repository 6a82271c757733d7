// What every model family shares: the forward inputs and outputs, the KV cache shape, and
// PreTrainedModel, which reads and writes HF-layout directories (config.json + model.safetensors).

import { fileSystem } from '../io/files.js';
import { join } from '../io/path.js';
import { tensor, writeData_ } from '../tensor/ops/creation.js';
import { noGrad } from '../tensor/engine.js';
import { fmtShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { isTensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import type { KeyValue } from '../nn/attention.js';
import { loadSafetensors, openSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { normalizeStateDict } from './hf.js';
import { StateDictError } from '../nn/module.js';
import { normal_, ones_, zeros_ } from '../nn/init.js';
import type { GenerateOptions, GenerateOutput, GenerationModel } from '../generate/generate.js';
import type { TokenDecoder } from '../generate/streamers.js';
import { asTask, supportsTask } from './tasks.js';
import { checkShard, readGenerationConfig, weightFiles, GENERATION_CONFIG_NAME, type WeightFile } from './pretrained_files.js';

/** Token ids as an int32 tensor, or nested arrays of numbers. */
export type Ids = Tensor | number[] | number[][];

export interface ModelInputs {
  /** [B, T] token ids (or give inputsEmbeds instead). */
  inputIds?: Ids | null;
  /**
   * [B, T, d] input embeddings used in place of the word embeddings of inputIds (HF's
   * inputs_embeds; soft prompts prepend their vectors here). Token-type and position embeddings
   * are still added. Give inputIds or inputsEmbeds, not both.
   */
  inputsEmbeds?: Tensor | null;
  /** [B, S] 1 = attend, 0 = padding (S = past + T with a cache). */
  attentionMask?: Ids | null;
  /** [B, T] segment ids (BERT). */
  tokenTypeIds?: Ids | null;
  /** [B, T] positions (default past..past+T-1). */
  positionIds?: Ids | null;
  /**
   * KV cache: per layer, keys and values [B, H, past, Dh] from earlier calls; the new tokens' are
   * concatenated along the time axis and returned as presentKeyValues (when useCache). BERT takes
   * them too, as HF's past_key_values: keys/values prepended in every layer (prefix tuning), with
   * attentionMask then [B, past + T] and positions starting at past, as in HF.
   */
  pastKeyValues?: KeyValue[] | null;
  useCache?: boolean;
  /** Also return every layer's hidden states (HF's output_hidden_states). */
  outputHiddenStates?: boolean;
  /** Also return every layer's attention probabilities [B, H, T, S]. */
  outputAttentions?: boolean;
  /** Targets: [B, T] for language models (shifted inside for causal LMs, -100 ignored), [B] for classifiers. */
  labels?: Ids | null;
  /** Language models: logits for the last k positions only (generation needs 1; HF's logits_to_keep). */
  logitsToKeep?: number;
}

export interface ModelOutput {
  /** [B, T, V] for language models, [B, numLabels] for classifiers; absent for base models and QA. */
  logits?: Tensor;
  /** Question answering: span start and end scores [B, T]. */
  startLogits?: Tensor;
  endLogits?: Tensor;
  loss?: Tensor;
  /** BERT: tanh(dense([CLS] state)). */
  poolerOutput?: Tensor;
  lastHiddenState?: Tensor;
  /** Embeddings output, then each layer's (HF's hidden_states tuple). */
  hiddenStates?: Tensor[];
  attentions?: Tensor[];
  presentKeyValues?: KeyValue[];
}

/** ids as int32 [B, T] (a flat list is one sequence). */
export function asIds(x: Ids | null | undefined, what = 'inputIds'): Tensor {
  if (x === null || x === undefined) throw new Error(`${what} is missing: pass token ids${what === 'inputIds' ? ' (or inputsEmbeds, where the model takes them)' : ''}`);
  if (isTensor(x)) {
    if (x.ndim !== 1 && x.ndim !== 2) throw new Error(`${what} must be [batch, length] (or one [length] sequence), got [${x.shape.join(',')}]`);
    const ids = x.dtype === 'int32' ? x : x.to('int32');
    return ids.ndim === 1 ? ids.unsqueeze(0) : ids;
  }
  if (!Array.isArray(x)) throw new Error(`${what} must be a Tensor or an array of token ids`);
  const rows = (x.length > 0 && Array.isArray(x[0]) ? x : [x]) as number[][];
  const T = rows[0]?.length ?? 0;
  for (const r of rows) if (r.length !== T) throw new Error(`${what}: rows have different lengths (${T} and ${r.length}); pad them and pass an attentionMask`);
  const flat = new Int32Array(rows.length * T);
  rows.forEach((r, i) => flat.set(r, i * T));
  return tensor(flat, { shape: [rows.length, T] });
}

/**
 * A forward call's input: token ids [B, T], or embeddings [B, T, dim] given in their place (HF's
 * inputs_embeds), never both, as HF.
 */
export function idsOrEmbeds(inputs: ModelInputs, dim: number): { ids: Tensor | null; embeds: Tensor | null; B: number; T: number } {
  const e = inputs.inputsEmbeds ?? null;
  const given = inputs.inputIds !== null && inputs.inputIds !== undefined;
  if (e === null) {
    const ids = asIds(inputs.inputIds);
    return { ids, embeds: null, B: ids.shape[0]!, T: ids.shape[1]! };
  }
  if (given) throw new Error('give inputIds or inputsEmbeds, not both');
  if (!isTensor(e) || e.ndim !== 3 || e.shape[2] !== dim || e.dtype !== 'float32') {
    throw new Error(`inputsEmbeds must be a float32 [batch, length, ${dim}] tensor, got ${isTensor(e) ? `${e.dtype} [${e.shape.join(',')}]` : typeof e}`);
  }
  return { ids: null, embeds: e, B: e.shape[0]!, T: e.shape[1]! };
}

export function optionalIds(x: Ids | null | undefined, what: string): Tensor | null {
  return x === null || x === undefined ? null : asIds(x, what);
}

/** Makes module's weight the given tensor (tied embeddings), freeing the one it had. */
export function tieWeight(module: Module & { weight: Tensor }, weight: Tensor): void {
  const old = module.weight;
  module.setParameter('weight', weight);
  if (old !== weight) old.dispose();
}

/** A model class as fromPretrained builds it: from a config object, weights left for loading. */
export type PretrainedModelClass<T> = new (config: never, opts?: { skipInit?: boolean }) => T;

/** The subset of HF's PretrainedConfig every family has. */
export interface BaseConfig {
  model_type: string;
  architectures?: string[];
  [key: string]: unknown;
}

export abstract class PreTrainedModel<C extends BaseConfig = BaseConfig> extends Module {
  readonly config: C;
  /** generation_config.json's fields (generate()'s defaults, over config.json's), when the directory had one. */
  generationConfig?: Record<string, unknown>;
  /** State-dict keys the checkpoint lacked, initialised fresh when loading (a new head; BERT's pooler after MLM-only pretraining). */
  newlyInitialised: readonly string[] = [];
  constructor(config: C) {
    super();
    this.config = config;
  }

  /** The name written to config.json's architectures. */
  abstract get architecture(): string;
  /** The base model's attribute name in state-dict keys ('transformer', 'bert'), '' if none. */
  get baseModelPrefix(): string { return ''; }
  /** [alias, source] pairs of tied parameters: HF writes only the source. */
  tiedKeys(): [string, string][] { return []; }
  /** Checkpoint keys that are buffers of HF's (causal masks, position id ranges) and carry no weights. */
  ignoredKeys(): RegExp[] { return []; }
  /** The model's keys a checkpoint may leave out: they keep their values, unreported (HF's _keys_to_ignore_on_load_missing). */
  optionalKeys(): RegExp[] { return []; }

  abstract forward(inputs: ModelInputs): ModelOutput;

  /**
   * Loads an HF-layout state dict: renames old gamma/beta LayerNorm names, adds or strips the base
   * model prefix, drops HF's non-weight buffers, and fills tied parameters from their source.
   */
  loadPretrainedStateDict(dict: Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const fixed = normalizeStateDict(dict, this);
    const own = this.stateDict(), optional = this.optionalKeys();
    for (const key of Object.keys(own)) if (!(key in fixed) && optional.some((re) => re.test(key))) fixed[key] = own[key]!;
    return this.loadStateDict(fixed, opts);
  }

  /** The state dict as HF saves it: tied aliases left out. */
  pretrainedStateDict(): Record<string, Tensor> {
    const all = this.stateDict();
    const sd = { ...all };
    for (const [alias, source] of this.tiedKeys()) if (all[alias] !== undefined && all[alias] === all[source]) delete sd[alias];
    return sd;
  }

  /** The config as written to config.json. */
  configDict(): Record<string, unknown> {
    return { ...this.config, architectures: [this.architecture] };
  }

  /** A model of this class with the config and weights of an HF-layout directory (in eval mode, as HF). */
  static async fromPretrained<T extends PreTrainedModel>(
    this: PretrainedModelClass<T>, dir: string, opts: LoadOptions = {},
  ): Promise<T> {
    // Each class checks config.json's fields against its own config type.
    const model = new this(await readConfig(dir) as never, { skipInit: true });
    await loadWeightsInto(model, dir, opts);
    return model;
  }

  /**
   * Text generation (src/generate): full sequences, prompt + new tokens, as HF's generate. Loaded on
   * first use, so that models do not depend on the generation code above them.
   */
  generate(inputIds: Ids, opts: GenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
  generate(inputIds: Ids, opts?: GenerateOptions): Promise<number[][]>;
  async generate(inputIds: Ids, opts: GenerateOptions = {}): Promise<number[][] | GenerateOutput> {
    const { generate } = await import('../generate/generate.js');
    return generate(generationModel(this), inputIds, opts);
  }

  /** The generated text of one sequence, piece by piece (never splitting a character). */
  async *generateStream(inputIds: Ids, opts: GenerateOptions = {}, tokenizer?: TokenDecoder): AsyncGenerator<string> {
    const { generateStream } = await import('../generate/generate.js');
    yield* generateStream(generationModel(this), inputIds, opts, tokenizer);
  }

  /** Writes config.json and model.safetensors (both atomically) that HF Transformers loads as they are. */
  async savePretrained(dir: string): Promise<void> {
    await fileSystem().promises.mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(sortKeys(this.configDict()), null, 2) + '\n');
    await saveSafetensors(join(dir, 'model.safetensors'), this.pretrainedStateDict(), { format: 'pt' });
    if (this.generationConfig) await writeFileAtomic(join(dir, GENERATION_CONFIG_NAME), JSON.stringify(sortKeys(this.generationConfig), null, 2) + '\n');
  }
}

/** The model as generation takes it: a seq2seq or causal LM, by the tasks its class declares. */
function generationModel(model: PreTrainedModel): GenerationModel {
  return supportsTask(model, 'seq2seq-lm') ? model : asTask(model, 'causal-lm', `generate: ${model.architecture}`);
}

/** Objects with their keys sorted, as HF writes config.json (json.dumps(sort_keys=True)). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
}

export async function readConfig(dir: string): Promise<BaseConfig> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await fileSystem().promises.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`fromPretrained: cannot read ${file}: ${(err as Error).message}`);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (err) {
    throw new Error(`fromPretrained: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`fromPretrained: ${file} must hold a JSON object`);
  return cfg as BaseConfig;
}

/** The weights of a pretrained directory (model.safetensors, or all its shards at once). */
export async function readWeights(dir: string): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  try {
    for (const file of await weightFiles(dir)) {
      const shard = await loadSafetensors(file.path);
      Object.assign(out, shard);
      checkShard(file, Object.keys(shard));
    }
  } catch (err) {
    for (const t of Object.values(out)) t.dispose();
    throw err;
  }
  return out;
}

export interface LoadOptions {
  /** Every checkpoint key must match a parameter and vice versa (default false: as HF, missing head weights are initialised and reported). */
  strict?: boolean;
  /** Where to report missing and unexpected keys (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * Loads dir's weights into model (HF key mapping), one tensor at a time: each parameter is filled
 * in place from its tensor as read from the file, so that the model is never held twice (the
 * parameters plus a decoded copy of the file) — only one tensor's bytes sit beside it. Shapes are
 * checked against the file headers before any weight is written. Then generation_config.json, and
 * eval mode.
 */
export async function loadWeightsInto(model: PreTrainedModel, dir: string, opts: LoadOptions = {}): Promise<void> {
  // A quantized directory (tlm quantize): its quantized layers are put in place first, so that their
  // qweight / scales load like any other tensor. Imported here, on use: it sits above the families.
  if (model.config.quantization_config !== undefined) (await import('./quantize/quantize.js')).prepareQuantizedModel(model);
  const files = await weightFiles(dir);
  const generationConfig = await readGenerationConfig(dir);
  const own = model.stateDict();
  const optional = model.optionalKeys();
  const plans: { file: WeightFile; names: Record<string, string> }[] = [];
  const unexpected: string[] = [], mismatched: string[] = [];
  let firstKeys: string[] = [];
  // First every header: names mapped, shapes checked, before a weight changes.
  for (const file of files) {
    const header = await readSafetensorsHeader(file.path);
    const entries = new Map(header.entries.map((e) => [e.name, e]));
    checkShard(file, [...entries.keys()]);
    if (firstKeys.length === 0) firstKeys = [...entries.keys()].slice(0, 3);
    const names = normalizeStateDict(Object.fromEntries([...entries.keys()].map((n) => [n, n])), model);
    for (const [key, name] of Object.entries(names)) {
      const t = own[key];
      if (t === undefined) { unexpected.push(key); continue; }
      const shape = entries.get(name)!.shape;
      if (!shapesEqual(shape, t.shape)) mismatched.push(`${key}: checkpoint ${fmtShape(shape)} vs model ${fmtShape(t.shape)}`);
    }
    plans.push({ file, names });
  }
  if (mismatched.length) throw new StateDictError([], [], mismatched, model.architecture);
  const found = new Set(plans.flatMap((p) => Object.keys(p.names).filter((k) => k in own)));
  if (found.size === 0) {
    throw new Error(`fromPretrained: no weight in ${files.length === 1 ? files[0]!.path : `the ${files.length} shards of ${dir}`} matches ${model.architecture} (first keys: ${firstKeys.join(', ')})`);
  }
  const missing = Object.keys(own).filter((k) => !found.has(k) && !optional.some((re) => re.test(k)));
  if (opts.strict && (missing.length || unexpected.length)) throw new StateDictError(missing, unexpected, [], model.architecture);
  for (const { file, names } of plans) {
    const reader = await openSafetensors(file.path);
    try {
      const written = new Set<Tensor>(); // a tied parameter appears under two keys
      for (const [key, name] of Object.entries(names)) {
        const t = own[key];
        if (t === undefined || written.has(t)) continue;
        const raw = await reader.read(name);
        noGrad(() => writeData_(t, raw.data));
        written.add(t);
      }
    } finally {
      await reader.close();
    }
  }
  if (missing.length) initMissing(model, missing);
  model.newlyInitialised = missing;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  if (missing.length) warn(`${model.architecture}: newly initialised (not in the checkpoint): ${missing.join(', ')}`);
  if (unexpected.length) warn(`${model.architecture}: checkpoint keys not used: ${unexpected.join(', ')}`);
  if (generationConfig) model.generationConfig = generationConfig;
  model.eval();
}

/** Fresh values for parameters a checkpoint lacked (a new head): N(0, initializer_range) matrices, LayerNorm 1, biases 0. */
function initMissing(model: PreTrainedModel, missing: string[]): void {
  const sd = model.stateDict();
  const std = typeof model.config.initializer_range === 'number' ? model.config.initializer_range : 0.02;
  for (const key of missing) {
    const t = sd[key]!;
    if (t.dtype !== 'float32') { zeros_(t); continue; }
    if (t.ndim >= 2) normal_(t, 0, std);
    else if (key.endsWith('.weight') && /(norm|ln_|LayerNorm)/i.test(key)) ones_(t);
    else zeros_(t);
  }
}
