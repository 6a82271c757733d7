// LoraModel: LoRA adapters injected into any Module, as HF PEFT's get_peft_model / LoraModel.
// Target layers are found by name (suffix or whole-name pattern) and replaced in place by
// LoraLinear (or, for an embedding table, LoraEmbedding) wrappers; every base parameter is frozen; modules_to_save get a trainable copy per
// adapter. Adapters are named: add, switch, disable, merge, unload. adapterStateDict() and
// loadAdapterStateDict() use PEFT's checkpoint keys (models/peft.ts reads and writes the files).

import { noGrad } from '../tensor/engine.js';
import { fmtShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import { LoraLinear, ModulesToSaveWrapper, type LinearLike, type LoraAdapterOptions } from './lora.js';
import { LoraEmbedding } from './lora_embedding.js';
import { describeTargets, nameMatches, patternValue, resolveLoraConfig, type LoraConfig, type ResolvedLoraConfig } from './lora_config.js';
import { replaceModule, type Module } from './module.js';

export interface LoraModelOptions {
  /** Name of the first adapter (default 'default', as PEFT). */
  adapterName?: string;
  /** A layer's weight layout: false for [out, in] (Linear), true for [in, out] (Conv1D), undefined if LoRA cannot wrap it. */
  layout?: (m: Module) => boolean | undefined;
  /** Layers 'all-linear' leaves out (the output projection). */
  outputLayers?: string[];
  /** Fills in model-specific defaults (task type, task heads) of every adapter's config. */
  prepareConfig?: (cfg: LoraConfig) => LoraConfig;
}

/** Prefix of every key in PEFT checkpoints: PeftModel.base_model (LoraModel).model (the transformer). */
export const PEFT_PREFIX = 'base_model.model.';

const defaultLayout = (m: Module): boolean | undefined => (m instanceof Linear ? false : undefined);

/** A layer with LoRA adapters: a linear layer's or an embedding table's. */
export type LoraLayer = LoraLinear | LoraEmbedding;
const isLoraLayer = (m: Module): m is LoraLayer => m instanceof LoraLinear || m instanceof LoraEmbedding;

type ForwardOf<M> = M extends { forward: infer F } ? F : never;

/** A model with LoRA adapters (PEFT's PeftModel + LoraModel). The model is changed in place. */
export class LoraModel<M extends Module = Module> {
  readonly model: M;
  readonly peftConfig: Record<string, ResolvedLoraConfig> = {};
  private active: string[] = [];
  private unloaded = false;
  private disabled = false;
  private readonly layout: (m: Module) => boolean | undefined;
  private readonly outputLayers: string[];
  private readonly prepareConfig: (cfg: LoraConfig) => LoraConfig;
  /** requiresGrad of every base parameter before freezing, restored by unload(). */
  private readonly baseRequiresGrad = new Map<Tensor, boolean>();

  constructor(model: M, config: LoraConfig, opts: LoraModelOptions = {}) {
    for (const [key, m] of model.namedModules()) {
      if (isLoraLayer(m) || m instanceof ModulesToSaveWrapper) throw new Error(`LoraModel: the model already has LoRA adapters (at '${key}'); add more with addAdapter on the LoraModel that put them there`);
    }
    this.model = model;
    this.layout = opts.layout ?? defaultLayout;
    this.outputLayers = opts.outputLayers ?? [];
    this.prepareConfig = opts.prepareConfig ?? ((c) => c);
    for (const p of model.parameters()) { this.baseRequiresGrad.set(p, p.requiresGrad); p.requiresGrad = false; }
    const name = opts.adapterName ?? 'default';
    try {
      this.addAdapter(name, config);
    } catch (err) {
      for (const [p, flag] of this.baseRequiresGrad) p.requiresGrad = flag;
      throw err;
    }
    this.setAdapter(name);
  }

  get activeAdapter(): string { return this.active[0]!; }
  get activeAdapters(): string[] { return [...this.active]; }
  get adapterNames(): string[] { return Object.keys(this.peftConfig); }

  /** The model's forward, with the active adapters. */
  get forward(): ForwardOf<M> {
    this.check();
    const m = this.model as unknown as { forward: (...a: unknown[]) => unknown };
    return m.forward.bind(m) as ForwardOf<M>;
  }

  /** Every LoRA layer with its dotted name. */
  loraLayers(): [string, LoraLayer][] {
    return [...this.model.namedModules()].filter((e): e is [string, LoraLayer] => isLoraLayer(e[1]));
  }

  modulesToSaveWrappers(): [string, ModulesToSaveWrapper][] {
    return [...this.model.namedModules()].filter((e): e is [string, ModulesToSaveWrapper] => e[1] instanceof ModulesToSaveWrapper);
  }

  /**
   * Injects adapter `name` with its own config (rank, targets, ...). It starts inactive: call
   * setAdapter(name) to use and train it (PEFT's add_adapter).
   */
  addAdapter(name: string, config: LoraConfig): void {
    this.check();
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`LoraModel: adapter name must be letters, digits, '_' or '-', got ${JSON.stringify(name)}`);
    if (name in this.peftConfig) throw new Error(`LoraModel: adapter '${name}' already exists`);
    if (config === null || typeof config !== 'object') throw new Error(`LoraModel: adapter '${name}' needs a config object`);
    config = this.prepareConfig(config);
    const t = config.targetModules;
    const all = typeof t === 'string' && t.toLowerCase() === 'all-linear';
    const cfg = resolveLoraConfig(all ? { ...config, targetModules: this.allLinear(config.modulesToSave ?? []) } : config, `LoraModel adapter '${name}'`);
    this.inject(name, cfg);
    this.peftConfig[name] = cfg;
    this.applyActive();
  }

  /** Modules outside LoRA's own wrappers (whose insides are not the model's layers). */
  private *modelModules(): Generator<[string, Module]> {
    const wrapped: string[] = [];
    for (const [key, m] of this.model.namedModules()) {
      if (key === '' || wrapped.some((w) => key.startsWith(`${w}.`))) continue;
      if (isLoraLayer(m) || m instanceof ModulesToSaveWrapper) wrapped.push(key);
      yield [key, m];
    }
  }

  /** PEFT's 'all-linear': every Linear/Conv1D layer but the output layer and the modules to save, by full name. */
  private allLinear(toSave: string[]): string[] {
    const skip = [...this.outputLayers, ...toSave];
    return [...this.modelModules()]
      .filter(([k, m]) => (m instanceof LoraLinear || this.layout(m) !== undefined) && !skip.some((s) => k === s || k.endsWith(`.${s}`)))
      .map(([k]) => k);
  }

  private inject(name: string, cfg: ResolvedLoraConfig): void {
    const toSave = cfg.modulesToSave ?? [];
    const inToSave = (key: string) => toSave.some((m) => key === m || key.startsWith(`${m}.`) || key.endsWith(`.${m}`) || key.includes(`.${m}.`));
    // Tensors under more than one state-dict name are tied: merging into one would change the other.
    const uses = new Map<Tensor, string[]>();
    for (const [k, t] of Object.entries(this.model.stateDict())) uses.set(t, [...(uses.get(t) ?? []), k]);
    const targets: [string, Module][] = [], saves: [string, Module][] = [];
    for (const [key, m] of this.modelModules()) {
      if (toSave.some((s) => key === s || key.endsWith(`.${s}`))) {
        if (isLoraLayer(m)) throw new Error(`LoraModel: modulesToSave '${key}' already has LoRA adapters; a layer is either adapted or trained in full`);
        saves.push([key, m]);
        continue;
      }
      // Another adapter's modules to save are not targets (PEFT keeps the two apart too).
      if (m instanceof ModulesToSaveWrapper || inToSave(key) || (cfg.excludeModules && nameMatches(cfg.excludeModules, key))) continue;
      if (nameMatches(cfg.targetModules, key)) targets.push([key, m]);
    }
    if (targets.length === 0) {
      const linear = [...this.modelModules()].filter(([, m]) => m instanceof LoraLinear || this.layout(m) !== undefined).map(([k]) => k);
      throw new Error(`LoraModel: targetModules ${describeTargets(cfg.targetModules)} match no module of ${this.model.constructor.name} (its linear layers: ${linear.slice(0, 6).join(', ')}${linear.length > 6 ? ', ...' : ''})`);
    }
    for (const s of toSave) {
      if (!saves.some(([k]) => k === s || k.endsWith(`.${s}`))) throw new Error(`LoraModel: modulesToSave '${s}' matches no module of ${this.model.constructor.name}`);
    }
    // Check everything before changing the model, so that a bad config leaves it as it was.
    const plans = targets.map(([key, m]) => {
      if (isLoraLayer(m)) return { key, m, fanInFanOut: m.fanInFanOut };
      const fanInFanOut = m instanceof Embedding ? false : this.layout(m);
      if (fanInFanOut === undefined) throw new Error(`LoraModel: target '${key}' is a ${m.constructor.name}; LoRA wraps Linear, Conv1D and Embedding layers (name a more specific targetModules suffix)`);
      const w = (m as LinearLike | Embedding).weight;
      const names = uses.get(w) ?? [];
      if (names.length > 1) throw new Error(`LoraModel: target '${key}' shares its weight with ${names.filter((n) => n !== `${key}.weight`).join(', ')} (tied); leave it out of targetModules`);
      return { key, m, fanInFanOut };
    });
    for (const { key, m, fanInFanOut } of plans) {
      const r = patternValue(cfg.rankPattern, key, cfg.r);
      const opts: LoraAdapterOptions = {
        r, loraAlpha: patternValue(cfg.alphaPattern, key, cfg.loraAlpha), loraDropout: cfg.loraDropout,
        useRslora: cfg.useRslora, initLoraWeights: cfg.initLoraWeights, ...(cfg.generator ? { generator: cfg.generator } : {}),
      };
      const layer = isLoraLayer(m) ? m : m instanceof Embedding ? new LoraEmbedding(m) : new LoraLinear(m as LinearLike, { fanInFanOut });
      layer.updateLayer(name, opts);
      if (layer !== m) replaceModule(this.model, key, m, layer);
    }
    for (const [key, m] of saves) {
      const w = m instanceof ModulesToSaveWrapper ? m : new ModulesToSaveWrapper(m);
      w.updateLayer(name);
      if (w !== m) replaceModule(this.model, key, m, w);
    }
  }

  /** Makes `names` the active adapters (PEFT's set_adapter); only they train, unless in inference mode. */
  setAdapter(names: string | string[]): void {
    this.check();
    const list = typeof names === 'string' ? [names] : [...names];
    if (list.length === 0) throw new Error('LoraModel: setAdapter needs at least one adapter name');
    for (const n of list) if (!(n in this.peftConfig)) throw new Error(`LoraModel: no adapter '${n}' (adapters: ${this.adapterNames.join(', ')})`);
    this.active = list;
    this.applyActive();
  }

  private applyActive(): void {
    const trainable = this.active.filter((n) => !this.peftConfig[n]!.inferenceMode);
    for (const [, layer] of this.loraLayers()) layer.setAdapter(this.active, trainable);
    for (const [key, w] of this.modulesToSaveWrappers()) {
      const own = this.active.filter((n) => w.modules_to_save.has(n));
      if (own.length > 1) throw new Error(`LoraModel: adapters ${own.join(', ')} both have a copy of '${key}' (modulesToSave); only one can be active`);
      w.setAdapter(own[0] ?? null, own[0] !== undefined && trainable.includes(own[0]));
    }
  }

  /** Stops adapter `name` from training (inference mode) or lets it train again. */
  setTrainable(name: string, trainable: boolean): void {
    this.check();
    if (!(name in this.peftConfig)) throw new Error(`LoraModel: no adapter '${name}'`);
    this.peftConfig[name]!.inferenceMode = !trainable;
    this.applyActive();
  }

  /** Removes adapter `name` from every layer (PEFT's delete_adapter). The active adapter cannot go unless others remain. */
  deleteAdapter(name: string): void {
    this.check();
    if (!(name in this.peftConfig)) throw new Error(`LoraModel: no adapter '${name}'`);
    const rest = this.active.filter((n) => n !== name);
    if (rest.length === 0 && this.adapterNames.length === 1) throw new Error(`LoraModel: '${name}' is the only adapter; use unload() to remove LoRA from the model`);
    for (const [, layer] of this.loraLayers()) if (layer.hasAdapter(name)) layer.deleteAdapter(name);
    for (const [, w] of this.modulesToSaveWrappers()) w.deleteAdapter(name);
    delete this.peftConfig[name];
    this.active = rest.length > 0 ? rest : [this.adapterNames[0]!];
    this.applyActive();
  }

  /**
   * Runs fn with every adapter off: the base model's outputs (PEFT's `with model.disable_adapter():`).
   * Adapters come back when fn returns, or when its promise settles.
   */
  disableAdapters<T>(fn: () => T): T {
    this.check();
    const before = this.disabled;
    this.setDisabled(true);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.setDisabled(before);
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => this.setDisabled(before)) as T;
    this.setDisabled(before);
    return result;
  }

  /** Turns the adapters off (true) or back on (false) until told otherwise. */
  setDisabled(disabled: boolean): void {
    this.check();
    this.disabled = disabled;
    for (const [, layer] of this.loraLayers()) { layer.disableAdapters = disabled; if (disabled) layer.unmerge(); }
    for (const [, w] of this.modulesToSaveWrappers()) w.disableAdapters = disabled;
  }

  /** Folds the adapters (default: the active ones) into the base weights; forward() costs what the base model does. */
  merge(adapterNames: string[] = this.active): void {
    this.check();
    for (const n of adapterNames) if (!(n in this.peftConfig)) throw new Error(`LoraModel: no adapter '${n}'`);
    for (const [, layer] of this.loraLayers()) layer.merge(adapterNames.filter((n) => layer.hasAdapter(n)));
  }

  /** Takes merged adapters out of the base weights again. */
  unmerge(): void {
    this.check();
    for (const [, layer] of this.loraLayers()) layer.unmerge();
  }

  /**
   * The plain model with the adapters (default: the active ones) merged into its weights and the
   * active adapter's copies of modulesToSave in place: the original module classes and state-dict
   * keys, ready for savePretrained. This handle is finished afterwards.
   */
  mergeAndUnload(adapterNames: string[] = this.active): M {
    this.merge(adapterNames);
    return this.unloadAll(true);
  }

  /** The base model as it was: adapters removed without merging, the original modulesToSave back. */
  unload(): M {
    this.unmerge();
    return this.unloadAll(false);
  }

  private unloadAll(keepTrained: boolean): M {
    // What LoRA created (A, B, unused copies) is freed; the base model's own modules are left alone.
    for (const [key, layer] of this.loraLayers()) {
      replaceModule(this.model, key, layer, layer.base_layer);
      for (const n of layer.adapterNames) for (const [, t] of layer.adapterWeights(n)) t.dispose();
    }
    for (const [key, w] of this.modulesToSaveWrappers()) {
      const chosen = keepTrained ? w.current() : w.original_module;
      for (const n of w.modules_to_save.keys()) if (w.modules_to_save.get(n) !== chosen) w.modules_to_save.get(n)!.dispose();
      // The copy takes over the original's requiresGrad flags, so the model trains as before.
      const flags = w.original_module.parameters().map((p) => this.baseRequiresGrad.get(p) ?? true);
      chosen.parameters().forEach((p, i) => { p.requiresGrad = flags[i] ?? true; });
      replaceModule(this.model, key, w, chosen);
    }
    for (const [p, flag] of this.baseRequiresGrad) if (!p.isDisposed) p.requiresGrad = flag;
    this.unloaded = true;
    return this.model;
  }

  private check(): void {
    if (this.unloaded) throw new Error('LoraModel: the adapters were unloaded from the model; apply LoRA again to use them');
  }

  /** Parameters that train: the active adapters' A and B and their modulesToSave copies. */
  trainableParameters(): Tensor[] {
    return this.model.parameters().filter((p) => p.requiresGrad);
  }

  namedTrainableParameters(): [string, Tensor][] {
    return this.model.namedParameters().filter(([, p]) => p.requiresGrad);
  }

  /** Trainable and all parameter counts (PEFT's get_nb_trainable_parameters; all includes every adapter). */
  getNbTrainableParameters(): { trainable: number; all: number; percent: number } {
    let trainable = 0, all = 0;
    for (const p of this.model.parameters()) { all += p.numel; if (p.requiresGrad) trainable += p.numel; }
    return { trainable, all, percent: all > 0 ? (100 * trainable) / all : 0 };
  }

  /** "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7330", as PEFT prints it; returns the line. */
  printTrainableParameters(log: (line: string) => void = console.log): string {
    const { trainable, all, percent } = this.getNbTrainableParameters();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${percent.toFixed(4)}`;
    log(line);
    return line;
  }

  /**
   * Adapter `name`'s weights under PEFT's checkpoint keys (get_peft_model_state_dict):
   * base_model.model.<layer>.lora_A.weight / .lora_B.weight (an embedding's: .lora_embedding_A / .lora_embedding_B)
   * and base_model.model.<module to save>.<param>.
   */
  adapterStateDict(name: string = this.activeAdapter): Record<string, Tensor> {
    this.check();
    if (!(name in this.peftConfig)) throw new Error(`LoraModel: no adapter '${name}'`);
    const out: Record<string, Tensor> = {};
    for (const [key, layer] of this.loraLayers()) {
      if (!layer.hasAdapter(name)) continue;
      for (const [suffix, t] of layer.adapterWeights(name)) out[`${PEFT_PREFIX}${key}.${suffix}`] = t;
    }
    for (const [key, w] of this.modulesToSaveWrappers()) {
      const copy = w.modules_to_save.get(name);
      if (copy) for (const [k, t] of Object.entries(copy.stateDict())) out[`${PEFT_PREFIX}${key}.${k}`] = t;
    }
    return out;
  }

  /**
   * Copies PEFT-keyed weights into adapter `name` (set_peft_model_state_dict). Every key must
   * belong to the adapter and every adapter weight must be given, with the same shape; errors
   * name the first offending key. `source` names the file in messages.
   */
  loadAdapterStateDict(dict: Record<string, Tensor>, name: string = this.activeAdapter, source = 'adapter state dict'): void {
    const own = this.adapterStateDict(name);
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    if (unexpected.length) {
      throw new Error(`${source}: key '${unexpected[0]}' matches no LoRA layer or module to save of adapter '${name}'${unexpected.length > 1 ? ` (${unexpected.length} such keys)` : ''}`);
    }
    const missing = Object.keys(own).filter((k) => !(k in dict));
    if (missing.length) throw new Error(`${source}: no weight for '${missing[0]}'${missing.length > 1 ? ` (${missing.length} missing)` : ''}`);
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k]!;
      if (!shapesEqual(src.shape, t.shape)) throw new Error(`${source}: '${k}' is ${fmtShape(src.shape)}, the model's is ${fmtShape(t.shape)} (check r and the base model)`);
      if (src.dtype !== 'float32') throw new Error(`${source}: '${k}' is ${src.dtype}, expected float32`);
    }
    for (const [, layer] of this.loraLayers()) if (layer.mergedAdapters.includes(name)) layer.unmerge();
    noGrad(() => { for (const [k, t] of Object.entries(own)) if (dict[k] !== t) t.copy_(dict[k]!); });
  }
}
