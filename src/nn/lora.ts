// LoRA (Hu et al. 2021) layers, as HF PEFT's lora.Linear: a frozen linear layer plus a trainable
// low-rank update, y = base(x) + dropout(x) Aᵀ Bᵀ · scaling, with A [r, in] and B [out, r]. Several
// named adapters can live on one layer; the active ones are summed. merge() folds B A · scaling
// into the base weight (no extra cost at inference), unmerge() takes it out again.
// Module and state-dict names follow PEFT (base_layer, lora_A.<adapter>.weight, lora_B.<adapter>.weight),
// so a wrapped model's stateDict() reads like PEFT's.

import { noGrad, tidy } from '../tensor/engine.js';
import { linear } from '../tensor/ops/linalg.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from './dropout.js';
import { kaimingUniform_, noInit, normal_, zeros_ } from './init.js';
import { Identity, Linear } from './linear.js';
import { Module } from './module.js';

/**
 * A layer LoRA can wrap: y = x Wᵀ + b with W [out, in] (torch's Linear), or, with fanInFanOut,
 * y = x W + b with W [in, out] (HF's Conv1D in GPT-2; PEFT's fan_in_fan_out=True).
 */
export interface LinearLike extends Module {
  weight: Tensor;
  bias: Tensor | null;
  forward(x: Tensor): Tensor;
}

/** One adapter's hyper-parameters (PEFT's LoraConfig fields that act per layer). */
export interface LoraAdapterOptions {
  /** Rank of the update (PEFT's r). */
  r: number;
  /** Scale numerator: scaling = loraAlpha / r (default 8, as PEFT). */
  loraAlpha?: number;
  /** Dropout on the adapter's input only (default 0). */
  loraDropout?: number;
  /** rsLoRA (Kalajdzievski 2023): scaling = loraAlpha / √r, which keeps updates stable at high rank. */
  useRslora?: boolean;
  /**
   * true (default): A kaiming-uniform(a=√5) as torch's Linear, B zeros, so the adapter starts as a
   * no-op; 'gaussian': A ~ N(0, 1/r), B zeros; false: both random (the adapter changes outputs at once).
   */
  initLoraWeights?: boolean | 'gaussian';
  /** Random numbers for the init (default: the global generator that manualSeed seeds). */
  generator?: Generator;
}

/** A name → module map registered as children, as torch.nn.ModuleDict (PEFT keys adapters by name). */
export class ModuleDict<M extends Module = Module> extends Module {
  get(name: string): M | undefined {
    return (this._modules.get(name) ?? undefined) as M | undefined;
  }
  set(name: string, m: M): void {
    this.registerModule(name, m);
  }
  has(name: string): boolean {
    return this._modules.has(name);
  }
  delete(name: string): void {
    this._modules.delete(name);
  }
  keys(): string[] {
    return [...this._modules.keys()];
  }
}

/** scaling = alpha / r, or alpha / √r with rsLoRA. */
export function loraScaling(r: number, alpha: number, useRslora = false): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

export function checkAdapterOptions(where: string, o: LoraAdapterOptions): void {
  if (!Number.isInteger(o.r) || o.r <= 0) throw new Error(`${where}: r must be a positive integer, got ${o.r}`);
  const alpha = o.loraAlpha ?? 8;
  if (!Number.isFinite(alpha)) throw new Error(`${where}: loraAlpha must be a finite number, got ${alpha}`);
  const p = o.loraDropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`${where}: loraDropout must be in [0, 1), got ${p}`);
  const init = o.initLoraWeights ?? true;
  if (init !== true && init !== false && init !== 'gaussian') throw new Error(`${where}: initLoraWeights must be true, false or 'gaussian', got ${JSON.stringify(init)}`);
}

/**
 * What every LoRA layer shares (LoraLinear, LoraEmbedding): the adapters' ranks and scales, which are
 * active, and folding them into the base weight and out again. A subclass supplies the base weight
 * and each adapter's delta in that weight's layout.
 */
export abstract class LoraLayerBase extends Module {
  readonly r: Record<string, number> = {};
  readonly loraAlpha: Record<string, number> = {};
  readonly scaling: Record<string, number> = {};
  /** Adapters whose updates forward() adds (PEFT's active_adapters). */
  activeAdapters: string[] = [];
  /** Adapters folded into the base weight, in merge order. */
  mergedAdapters: string[] = [];
  /** When true, forward() is the base layer alone (PEFT's disable_adapters). */
  disableAdapters = false;

  protected abstract get baseWeight(): Tensor;
  abstract get adapterNames(): string[];
  abstract hasAdapter(name: string): boolean;
  /** Adapter `name`'s trainable tensors under the names PEFT's checkpoints give them after the layer's own. */
  abstract adapterWeights(name: string): [string, Tensor][];
  /** B A · scaling in the base weight's layout. */
  abstract deltaWeight(name: string): Tensor;
  /** Drops adapter `name`'s own weights (the bookkeeping is deleteAdapter's). */
  protected abstract dropWeights(name: string): void;

  get merged(): boolean { return this.mergedAdapters.length > 0; }

  protected noAdapter(name: string): Error {
    return new Error(`${this.constructor.name}: no adapter '${name}' (adapters: ${this.adapterNames.join(', ') || 'none'})`);
  }

  /** Records adapter `name`'s rank and scale (after its weights are made). */
  protected setScale(name: string, opts: LoraAdapterOptions): void {
    const alpha = opts.loraAlpha ?? 8;
    this.r[name] = opts.r;
    this.loraAlpha[name] = alpha;
    this.scaling[name] = loraScaling(opts.r, alpha, opts.useRslora ?? false);
  }

  /**
   * Makes `names` the active adapters; those listed in `trainable` (all of them when true) train, the
   * rest are frozen. A merged weight belongs to the old selection, so it is unmerged first.
   */
  setAdapter(names: string | string[], trainable: boolean | string[] = true): void {
    const list = typeof names === 'string' ? [names] : names;
    if (this.merged) this.unmerge();
    for (const n of this.adapterNames) {
      const on = list.includes(n) && (trainable === true || (Array.isArray(trainable) && trainable.includes(n)));
      for (const [, t] of this.adapterWeights(n)) t.requiresGrad = on;
    }
    this.activeAdapters = list.filter((n) => this.hasAdapter(n)); // a model-wide adapter may skip this layer
  }

  /** Removes adapter `name` (unmerging it first if it was merged). */
  deleteAdapter(name: string): void {
    if (!this.hasAdapter(name)) throw this.noAdapter(name);
    if (this.mergedAdapters.includes(name)) this.unmerge();
    this.dropWeights(name);
    delete this.r[name]; delete this.loraAlpha[name]; delete this.scaling[name];
    this.activeAdapters = this.activeAdapters.filter((a) => a !== name);
  }

  /** Folds the adapters (default: the active ones) into the base weight: W += delta. */
  merge(names: string[] = this.activeAdapters): void {
    for (const name of names) {
      if (this.mergedAdapters.includes(name)) continue;
      if (!this.hasAdapter(name)) throw this.noAdapter(name);
      this.addToWeight(name, 1);
      this.mergedAdapters.push(name);
    }
  }

  /** Takes every merged adapter out of the base weight again (in reverse order, as PEFT). */
  unmerge(): void {
    while (this.mergedAdapters.length > 0) this.addToWeight(this.mergedAdapters.pop()!, -1);
  }

  private addToWeight(name: string, sign: 1 | -1): void {
    const w = this.baseWeight;
    const delta = this.deltaWeight(name);
    noGrad(() => tidy(() => { w.copy_(w.add(delta, sign)); }));
    delta.dispose();
  }

  /** Whether forward() is the base layer's output alone: adapters disabled (then unmerged) or merged. */
  protected baseOnly(): boolean {
    if (this.disableAdapters && this.merged) this.unmerge();
    return this.disableAdapters || this.merged;
  }
}

/**
 * A Linear (or Conv1D) layer with LoRA adapters. The base layer's parameters are untouched by
 * training (freeze them with requiresGrad_(false), as applyLora does); only lora_A and lora_B learn.
 */
export class LoraLinear extends LoraLayerBase {
  readonly base_layer: LinearLike;
  /** The base weight is [in, out] (Conv1D) rather than [out, in] (Linear). */
  readonly fanInFanOut: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly lora_A: ModuleDict<Linear>;
  readonly lora_B: ModuleDict<Linear>;
  readonly lora_dropout: ModuleDict<Dropout | Identity>;

  /**
   * base: the layer to adapt. For nn.Linear the layout is known; any other layer must say it with
   * fanInFanOut: true for a weight laid out [in, out] (GPT-2's Conv1D), false for [out, in].
   */
  constructor(base: LinearLike, opts: { fanInFanOut?: boolean } = {}) {
    super();
    const w = base.weight;
    if (w === undefined || w.ndim !== 2) throw new Error(`LoraLinear: the base layer (${base.constructor.name}) needs a 2-D weight, got ${w === undefined ? 'none' : `[${w.shape.join(',')}]`}`);
    if (base instanceof Linear && opts.fanInFanOut) throw new Error('LoraLinear: fanInFanOut is for layers whose weight is [in, out] (Conv1D); nn.Linear keeps [out, in]');
    if (!(base instanceof Linear) && opts.fanInFanOut === undefined) {
      throw new Error(`LoraLinear: ${base.constructor.name} is not nn.Linear; say how its weight is laid out with fanInFanOut (true: [in, out] as GPT-2's Conv1D, false: [out, in])`);
    }
    this.fanInFanOut = opts.fanInFanOut ?? false;
    [this.inFeatures, this.outFeatures] = this.fanInFanOut ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
    this.base_layer = this.registerModule('base_layer', base);
    this.lora_A = this.registerModule('lora_A', new ModuleDict<Linear>());
    this.lora_B = this.registerModule('lora_B', new ModuleDict<Linear>());
    this.lora_dropout = this.registerModule('lora_dropout', new ModuleDict<Dropout | Identity>());
    this.training = base.training;
  }

  /** The base layer's weight and bias, so that code reading layer.weight keeps working. */
  get weight(): Tensor { return this.base_layer.weight; }
  get bias(): Tensor | null { return this.base_layer.bias; }
  protected get baseWeight(): Tensor { return this.base_layer.weight; }
  get adapterNames(): string[] { return this.lora_A.keys(); }
  hasAdapter(name: string): boolean { return this.lora_A.has(name); }
  /** Adapter `name`'s A and B under the names PEFT's checkpoints give them after the layer's own. */
  adapterWeights(name: string): [string, Tensor][] {
    return [['lora_A.weight', this.lora_A.get(name)!.weight], ['lora_B.weight', this.lora_B.get(name)!.weight]];
  }

  /** Adds (or replaces) adapter `name`: A [r, in], B [out, r]. It is not made active. */
  updateLayer(name: string, opts: LoraAdapterOptions): void {
    checkAdapterOptions(`LoraLinear adapter '${name}'`, opts);
    if (this.mergedAdapters.includes(name)) throw new Error(`LoraLinear: adapter '${name}' is merged; unmerge() before replacing it`);
    const { r } = opts, p = opts.loraDropout ?? 0;
    // Built without Linear's own init (noInit), then initialised as PEFT's reset_lora_parameters.
    const A = noInit(() => new Linear(this.inFeatures, r, { bias: false }));
    const B = noInit(() => new Linear(r, this.outFeatures, { bias: false }));
    const init = opts.initLoraWeights ?? true, generator = opts.generator;
    if (init === 'gaussian') normal_(A.weight, 0, 1 / r, generator);
    else kaimingUniform_(A.weight, { a: Math.sqrt(5), generator });
    if (init === false) kaimingUniform_(B.weight, { a: Math.sqrt(5), generator });
    else zeros_(B.weight);
    this.lora_A.set(name, A);
    this.lora_B.set(name, B);
    const drop = p > 0 ? new Dropout(p) : new Identity();
    drop.training = this.training;
    this.lora_dropout.set(name, drop);
    this.setScale(name, opts);
  }

  protected dropWeights(name: string): void {
    for (const d of [this.lora_A, this.lora_B, this.lora_dropout]) d.delete(name);
  }

  /** B A · scaling in the base weight's layout ([out, in], or [in, out] with fanInFanOut). */
  deltaWeight(name: string): Tensor {
    const A = this.lora_A.get(name), B = this.lora_B.get(name);
    if (!A || !B) throw this.noAdapter(name);
    return noGrad(() => tidy(() => {
      const d = B.weight.matmul(A.weight).mul(this.scaling[name]!);
      return this.fanInFanOut ? d.mT.contiguous() : d;
    }));
  }

  forward(x: Tensor): Tensor {
    if (this.baseOnly()) return this.base_layer.forward(x);
    let y = this.base_layer.forward(x);
    for (const name of this.activeAdapters) {
      const A = this.lora_A.get(name)!, B = this.lora_B.get(name)!;
      const h = this.lora_dropout.get(name)!.forward(x);
      // The scale goes on the rank-r activations, the smallest tensor on the path.
      y = y.add(linear(linear(h, A.weight).mul(this.scaling[name]!), B.weight));
    }
    return y;
  }
}

/**
 * PEFT's ModulesToSaveWrapper: a layer trained in full (a classification head) next to the adapters.
 * Each adapter gets its own copy (modules_to_save.<adapter>); the original stays frozen and is what
 * runs when adapters are disabled or the active adapter has no copy here.
 */
export class ModulesToSaveWrapper extends Module {
  readonly original_module: Module;
  readonly modules_to_save: ModuleDict;
  activeAdapter: string | null = null;
  disableAdapters = false;

  constructor(module: Module) {
    super();
    this.original_module = this.registerModule('original_module', module);
    this.modules_to_save = this.registerModule('modules_to_save', new ModuleDict());
    this.training = module.training;
    // Models read some children as fields, not only through forward() (a head as
    // model.classifier.weight, BertModel's encoder.layer), so a name the wrapper lacks is read from
    // the running module, as PEFT's wrapper's __getattr__ does.
    return new Proxy(this, {
      get(target, key, receiver) {
        if (key in target) return Reflect.get(target, key, receiver);
        const running = target.current();
        const value = Reflect.get(running, key);
        return typeof value === 'function' ? value.bind(running) : value;
      },
    });
  }

  /** Adds a trainable copy of the original module for adapter `name` (not made active). */
  updateLayer(name: string): void {
    const copy = this.original_module.deepCopy();
    copy.requiresGrad_(true);
    this.modules_to_save.set(name, copy);
  }

  deleteAdapter(name: string): void {
    this.modules_to_save.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  setAdapter(name: string | null, trainable = true): void {
    for (const n of this.modules_to_save.keys()) this.modules_to_save.get(n)!.requiresGrad_(trainable && n === name);
    this.activeAdapter = name !== null && this.modules_to_save.has(name) ? name : null;
  }

  /** The module that runs now. */
  current(): Module {
    if (this.disableAdapters || this.activeAdapter === null) return this.original_module;
    return this.modules_to_save.get(this.activeAdapter) ?? this.original_module;
  }

  forward(...args: unknown[]): unknown {
    const m = this.current() as Module & { forward?: (...a: unknown[]) => unknown };
    if (typeof m.forward !== 'function') throw new Error(`ModulesToSaveWrapper: ${m.constructor.name} has no forward()`);
    return m.forward(...args);
  }
}
