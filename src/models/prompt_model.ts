// PromptLearningModel: a frozen model with a soft prompt or a prefix, as HF PEFT's PeftModel for
// PROMPT_TUNING / PREFIX_TUNING. It is a Module (children `base_model` and `prompt_encoder.<name>`,
// PEFT's names), so the Trainer and optimizers take it as they take any model; only the prompt
// encoder and the task head's copy (a classifier's, as PEFT's modules_to_save) require grad.
//
// forward() rewrites the inputs as PEFT does, then calls the model:
// - prompt tuning: inputsEmbeds = [prompt; word embeddings], attentionMask gets P leading ones,
//   tokenTypeIds P leading zeros, token-level labels (LMs) P leading -100s. Outputs are the
//   model's, over P + T positions (LM and QA logits include the prompt's; BERT's pooler reads the
//   first virtual token, as under PEFT). QA start/end positions move by P so that they still name
//   the same tokens (PEFT leaves them as given, which shifts the labelled span).
// - prefix tuning: pastKeyValues = the prefix (every layer's keys/values), attentionMask gets P
//   leading ones, positionIds (if given) move by P; the models start positions at P by themselves.
// Where PEFT drops an input with a warning (positionIds under prompt tuning, tokenTypeIds on a
// causal LM), this is an error instead. A GPT-2 classifier given no attentionMask gets one from
// pad_token_id, so that its last-token rule still finds each row's last real token.

import { noGrad } from '../tensor/engine.js';
import { cat } from '../tensor/ops/indexing.js';
import { full, ones, zeros } from '../tensor/ops/creation.js';
import { fmtShape, shapesEqual } from '../tensor/shape.js';
import { isTensor, type Tensor } from '../tensor/tensor.js';
import { Module, replaceModule } from '../nn/module.js';
import type { Embedding } from '../nn/embedding.js';
import type { KeyValue } from '../nn/attention.js';
import { ModuleDict, ModulesToSaveWrapper } from '../nn/lora.js';
import { PrefixEncoder, PromptEmbedding } from '../nn/prompt.js';
import { asIds, idsOrEmbeds, optionalIds, type Ids, type ModelInputs, type ModelOutput } from './modeling.js';
import { supportsTask } from './tasks.js';
import type { PromptLearningConfig } from './prompt_config.js';

/** Prefix of a prompt-learning checkpoint's head keys: PeftModel.base_model is the model itself. */
export const PROMPT_PEFT_PREFIX = 'base_model.';

/** What the handle needs to know of the model (found by applyPromptTuning / applyPrefixTuning). */
export interface PromptModelParts {
  /** The word embeddings, for prompt tuning's inputsEmbeds. */
  wordEmbeddings: Embedding;
  /** pad_token_id of a causal classifier (GPT-2): its last-token rule reads padding from the ids. */
  padTokenId: number | null;
}

type Inputs = ModelInputs & { startPositions?: Ids | null; endPositions?: Ids | null };
type ForwardOf<M> = M extends { forward(inputs: infer I): infer O } ? (inputs: I) => O : (inputs: ModelInputs) => ModelOutput;
interface Forwardable { forward(inputs: Inputs): ModelOutput }

export class PromptLearningModel<M extends Module = Module> extends Module {
  readonly base_model: M;
  readonly prompt_encoder: ModuleDict<PromptEmbedding | PrefixEncoder>;
  readonly peftConfig: PromptLearningConfig;
  readonly adapterName: string;
  private readonly parts: PromptModelParts;
  /** requiresGrad of every base parameter before freezing, restored by unload(). */
  private readonly baseRequiresGrad = new Map<Tensor, boolean>();
  private disabled = false;
  private unloaded = false;

  /** Use applyPromptTuning / applyPrefixTuning / loadPromptAdapter, which fill in the config from the model. */
  constructor(model: M, config: PromptLearningConfig, encoder: PromptEmbedding | PrefixEncoder, parts: PromptModelParts, adapterName = 'default') {
    super();
    for (const [key, m] of model.namedModules()) {
      if (m instanceof ModulesToSaveWrapper) throw new Error(`PromptLearningModel: the model already has adapter-trained modules (at '${key}'); unload the other adapter first`);
    }
    // Every head is found before anything changes, so that a bad config leaves the model as it was.
    const heads = (config.modulesToSave ?? []).map((head) => {
      const found = [...model.namedModules()].find(([k]) => k === head || k.endsWith(`.${head}`));
      if (!found) throw new Error(`PromptLearningModel: modulesToSave '${head}' matches no module of ${model.constructor.name}`);
      return found;
    });
    this.base_model = this.registerModule('base_model', model);
    this.prompt_encoder = this.registerModule('prompt_encoder', new ModuleDict<PromptEmbedding | PrefixEncoder>());
    this.prompt_encoder.set(adapterName, encoder);
    this.peftConfig = config;
    this.adapterName = adapterName;
    this.parts = parts;
    this.training = model.training;
    encoder.train(model.training);
    for (const p of model.parameters()) { this.baseRequiresGrad.set(p, p.requiresGrad); p.requiresGrad = false; }
    for (const [key, m] of heads) {
      const w = new ModulesToSaveWrapper(m);
      w.updateLayer(adapterName);
      replaceModule(model, key, m, w);
    }
    this.applyTrainable();
  }

  get encoder(): PromptEmbedding | PrefixEncoder { return this.prompt_encoder.get(this.adapterName)!; }
  /** The base model's config and architecture, so the handle stands where the model does (labels, padding). */
  get config(): Record<string, unknown> { return (this.base_model as unknown as { config?: Record<string, unknown> }).config ?? {}; }
  get architecture(): string { return (this.base_model as unknown as { architecture?: string }).architecture ?? this.base_model.constructor.name; }
  get numVirtualTokens(): number { return this.peftConfig.numVirtualTokens; }

  private applyTrainable(): void {
    const on = !this.peftConfig.inferenceMode;
    this.encoder.requiresGrad_(on);
    for (const [, w] of this.modulesToSaveWrappers()) w.setAdapter(this.adapterName, on);
  }

  /** Lets the adapter train (true) or freezes it (inference mode). */
  setTrainable(trainable: boolean): void {
    this.check();
    if (trainable && this.peftConfig.peftType === 'PREFIX_TUNING' && this.peftConfig.prefixProjection && !(this.encoder as PrefixEncoder).prefixProjection) {
      throw new Error('PromptLearningModel: this prefix was loaded without its MLP (PEFT saves only the computed prefix); it cannot train with prefix_projection');
    }
    this.peftConfig.inferenceMode = !trainable;
    this.applyTrainable();
  }

  modulesToSaveWrappers(): [string, ModulesToSaveWrapper][] {
    return [...this.base_model.namedModules()].filter((e): e is [string, ModulesToSaveWrapper] => e[1] instanceof ModulesToSaveWrapper);
  }

  /** The soft prompt for a batch, [B, P, d] (prompt tuning), or the prefix, per layer [B, H, P, Dh] keys/values (PEFT's get_prompt). */
  getPrompt(batchSize: number): Tensor | KeyValue[] {
    const e = this.encoder;
    if (e instanceof PrefixEncoder) return e.keyValues(batchSize, this.peftConfig.numAttentionHeads);
    return e.forward().unsqueeze(0).expand(batchSize, e.numVirtualTokens, e.tokenDim);
  }

  /** The inputs the model sees: the prompt (or prefix) put in, masks, types, labels and positions moved (see the file header). */
  prepareInputs(inputs: Inputs): Inputs {
    this.check();
    const cfg = this.peftConfig, P = cfg.numVirtualTokens;
    const causal = supportsTask(this.base_model, 'causal-lm') || cfg.taskType === 'CAUSAL_LM';
    const where = `${cfg.peftType === 'PROMPT_TUNING' ? 'prompt' : 'prefix'} tuning`;
    if (inputs.pastKeyValues) throw new Error(`${where}: pastKeyValues cannot be given; the ${where === 'prefix tuning' ? 'prefix is' : 'prompt is not'} a KV cache (generation with prompts is not supported yet)`);
    if (inputs.tokenTypeIds != null && causal) throw new Error(`${where}: tokenTypeIds are not supported on a causal LM (PEFT drops them)`);
    const { ids, embeds, B, T } = idsOrEmbeds(inputs, this.parts.wordEmbeddings.embeddingDim);
    let mask = optionalIds(inputs.attentionMask, 'attentionMask');
    // A causal classifier finds each row's last token from pad ids; without ids, the mask must say it.
    if (mask === null && ids !== null && this.parts.padTokenId !== null && cfg.peftType === 'PROMPT_TUNING') mask = ids.ne(this.parts.padTokenId).to('int32');
    if (mask !== null && (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) throw new Error(`${where}: attentionMask must be [${B}, ${T}], got [${mask.shape.join(',')}]`);
    const out: Inputs = { ...inputs };
    if (mask !== null) out.attentionMask = cat([ones([B, P], { dtype: 'int32', device: mask.device }), mask], 1);
    if (cfg.peftType === 'PREFIX_TUNING') {
      out.pastKeyValues = this.getPrompt(B) as KeyValue[];
      const pos = optionalIds(inputs.positionIds, 'positionIds');
      if (pos !== null) out.positionIds = pos.add(P);
      return out;
    }
    if (inputs.positionIds != null) throw new Error('prompt tuning: positionIds cannot be given; positions run over the virtual tokens first (PEFT ignores them)');
    const x = embeds ?? this.parts.wordEmbeddings.forward(ids!);
    out.inputIds = undefined;
    out.inputsEmbeds = cat([this.getPrompt(B) as Tensor, x], 1);
    const types = optionalIds(inputs.tokenTypeIds, 'tokenTypeIds');
    if (types !== null) out.tokenTypeIds = cat([zeros([B, P], { dtype: 'int32', device: types.device }), types], 1);
    const tokenLevel = causal || supportsTask(this.base_model, 'masked-lm');
    if (inputs.labels != null && tokenLevel) {
      const labels = asIds(inputs.labels, 'labels');
      out.labels = cat([full([labels.shape[0]!, P], -100, { dtype: 'int32', device: labels.device }), labels], 1);
    }
    // QA spans index tokens; the prompt's P positions come first now.
    if (inputs.startPositions != null) out.startPositions = asIds(inputs.startPositions, 'startPositions').add(P);
    if (inputs.endPositions != null) out.endPositions = asIds(inputs.endPositions, 'endPositions').add(P);
    return out;
  }

  /** The model's forward with the prompt (PEFT's PeftModel.forward); with adapters disabled, the model alone. */
  get forward(): ForwardOf<M> {
    const model = this.base_model as unknown as Forwardable;
    return ((inputs: Inputs) => (this.disabled ? model.forward(inputs) : model.forward(this.prepareInputs(inputs)))) as ForwardOf<M>;
  }

  /** Runs fn on the model without the prompt and with its original heads (PEFT's disable_adapter). */
  disableAdapters<T>(fn: () => T): T {
    this.check();
    const before = this.disabled;
    const set = (d: boolean) => { this.disabled = d; for (const [, w] of this.modulesToSaveWrappers()) w.disableAdapters = d; };
    set(true);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      set(before);
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => set(before)) as T;
    set(before);
    return result;
  }

  /** Parameters that train: the prompt encoder's and the head copy's (none in inference mode). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  namedTrainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, p]) => p.requiresGrad);
  }

  /** Trainable and all parameter counts (PEFT's get_nb_trainable_parameters; all includes the prompt encoder). */
  getNbTrainableParameters(): { trainable: number; all: number; percent: number } {
    const trainable = this.numParameters(true), all = this.numParameters();
    return { trainable, all, percent: all === 0 ? 0 : (100 * trainable) / all };
  }

  /** "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7330", as PEFT prints it; returns the line. */
  printTrainableParameters(log: (line: string) => void = console.log): string {
    const { trainable, all, percent } = this.getNbTrainableParameters();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${percent.toFixed(4)}`;
    log(line);
    return line;
  }

  /**
   * The adapter's weights under PEFT's checkpoint keys (get_peft_model_state_dict): `prompt_embeddings`
   * (prompt tuning: the [P, d] table; prefix tuning: the prefix [P, numLayers·2·d], computed through
   * the MLP when there is one, as PEFT saves it) and base_model.<head>.<param> for trained heads.
   * A computed prefix is a new tensor (listed in `computed`: the caller frees it); the rest are the live parameters.
   */
  adapterStateDict(): { weights: Record<string, Tensor>; computed: Tensor[] } {
    this.check();
    const e = this.encoder;
    const projected = e instanceof PrefixEncoder && e.prefixProjection;
    const prompt = projected ? noGrad(() => e.forward().contiguous()) : e.embedding.weight;
    const weights: Record<string, Tensor> = { prompt_embeddings: prompt };
    for (const [key, w] of this.modulesToSaveWrappers()) {
      const copy = w.modules_to_save.get(this.adapterName);
      if (copy) for (const [k, t] of Object.entries(copy.stateDict())) weights[`${PROMPT_PEFT_PREFIX}${key}.${k}`] = t;
    }
    return { weights, computed: projected ? [prompt] : [] };
  }

  /** Copies PEFT-keyed weights into the adapter (set_peft_model_state_dict); errors name the key and `source`. */
  loadAdapterStateDict(dict: Record<string, Tensor>, source = 'adapter state dict'): void {
    const e = this.encoder;
    if (e instanceof PrefixEncoder && e.prefixProjection) {
      throw new Error(`${source}: a prefix with its MLP cannot be loaded from prompt_embeddings (PEFT saves only the computed prefix); load it for inference`);
    }
    const { weights: own } = this.adapterStateDict();
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    if (unexpected.length) throw new Error(`${source}: key '${unexpected[0]}' is not part of this ${this.peftConfig.peftType} adapter${unexpected.length > 1 ? ` (${unexpected.length} such keys)` : ''}`);
    const missing = Object.keys(own).filter((k) => !(k in dict));
    if (missing.length) throw new Error(`${source}: no weight for '${missing[0]}'${missing.length > 1 ? ` (${missing.length} missing)` : ''}`);
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k]!;
      if (!isTensor(src) || !shapesEqual(src.shape, t.shape)) throw new Error(`${source}: '${k}' is ${isTensor(src) ? fmtShape(src.shape) : typeof src}, the adapter's is ${fmtShape(t.shape)} (check num_virtual_tokens and the base model)`);
      if (src.dtype !== 'float32') throw new Error(`${source}: '${k}' is ${src.dtype}, expected float32`);
    }
    noGrad(() => { for (const [k, t] of Object.entries(own)) if (dict[k] !== t) t.copy_(dict[k]!); });
  }

  /** The model as it was: heads back, requiresGrad restored; the prompt encoder and head copies are freed. */
  unload(): M {
    this.check();
    for (const [key, w] of this.modulesToSaveWrappers()) {
      for (const n of w.modules_to_save.keys()) w.modules_to_save.get(n)!.dispose();
      replaceModule(this.base_model, key, w, w.original_module);
    }
    this.encoder.dispose();
    for (const [p, flag] of this.baseRequiresGrad) if (!p.isDisposed) p.requiresGrad = flag;
    this.unloaded = true;
    return this.base_model;
  }

  private check(): void {
    if (this.unloaded) throw new Error('PromptLearningModel: the prompt was unloaded from the model; apply prompt learning again to use it');
  }
}
