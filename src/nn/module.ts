// Module: the base of every layer and model, as torch.nn.Module — parameters, buffers and
// submodules registered by name; train()/eval(); state dicts with torch's key names.

import { keep, noGrad } from '../tensor/engine.js';
import { fmtShape, shapesEqual } from '../tensor/shape.js';
import { isTensor, type Tensor } from '../tensor/tensor.js';

/** Marks t as a trainable parameter: requires grad and outlives every tidy scope. */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  keep(t);
  if (requiresGrad) t.requiresGrad_(true);
  return t;
}

export class StateDictError extends Error {
  constructor(readonly missing: string[], readonly unexpected: string[], readonly mismatched: string[], where: string) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatched.length) parts.push(`wrong shapes: ${mismatched.join('; ')}`);
    super(`loadStateDict(${where}): ${parts.join('. ')}`);
  }
}

export type ModuleRole = 'norm' | 'embedding' | null;

export abstract class Module {
  training = true;
  /** What kind of layer this is, for rules that treat its parameters differently (no weight decay on norms). */
  readonly role: ModuleRole = null;
  protected readonly _parameters = new Map<string, Tensor | null>();
  protected readonly _buffers = new Map<string, Tensor | null>();
  protected readonly _modules = new Map<string, Module | null>();
  /** Buffers that stateDict() leaves out (torch's persistent=False). */
  protected readonly _nonPersistent = new Set<string>();

  registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t !== null) parameter(t, t.requiresGrad || t.isLeaf);
    if (t !== null) t.name ||= name;
    this._parameters.set(name, t);
    return t;
  }

  registerBuffer(name: string, t: Tensor | null, persistent = true): Tensor | null {
    if (t !== null) keep(t);
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    return t;
  }

  registerModule<M extends Module | null>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  /** Replaces a parameter's tensor (used by loaders and weight tying). */
  setParameter(name: string, t: Tensor): void {
    if (!this._parameters.has(name)) throw new Error(`setParameter: ${this.constructor.name} has no parameter '${name}'`);
    this._parameters.set(name, parameter(t, true));
  }

  getParameter(name: string): Tensor {
    const t = this._parameters.get(name);
    if (t === undefined || t === null) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return t;
  }

  getBuffer(name: string): Tensor {
    const t = this._buffers.get(name);
    if (t === undefined || t === null) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    return t;
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [name, m] of this._modules) if (m !== null) yield [name, m];
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** Parameters with dotted names; a tensor shared by two modules (tied weights) is listed once. */
  namedParameters(prefix = '', seen = new Set<Tensor>()): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, p] of this._parameters) {
      if (p === null || seen.has(p)) continue;
      seen.add(p);
      out.push([prefix ? `${prefix}.${name}` : name, p]);
    }
    for (const [name, m] of this.namedChildren()) out.push(...m.namedParameters(prefix ? `${prefix}.${name}` : name, seen));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, b] of this._buffers) if (b !== null) out.push([prefix ? `${prefix}.${name}` : name, b]);
    for (const [name, m] of this.namedChildren()) out.push(...m.namedBuffers(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Number of parameters (tied ones once); trainableOnly counts those that require grad. */
  numParameters(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((n, p) => n + p.numel, 0);
  }

  /** Every parameter and persistent buffer by dotted name (tied parameters under each name, as torch). */
  stateDict(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this._parameters) if (p !== null) out[prefix + name] = p;
    for (const [name, b] of this._buffers) if (b !== null && !this._nonPersistent.has(name)) out[prefix + name] = b;
    for (const [name, m] of this.namedChildren()) Object.assign(out, m.stateDict(`${prefix}${name}.`));
    return out;
  }

  /**
   * Copies values from dict into this module's parameters and buffers (in place, so optimizers and
   * tied weights keep their tensors). strict: every key must match, else a StateDictError lists
   * the missing, unexpected and wrongly-shaped keys; non-strict loads what matches and reports the rest.
   */
  loadStateDict(dict: Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing: string[] = [], mismatched: string[] = [];
    for (const [key, t] of Object.entries(own)) {
      const src = dict[key];
      if (src === undefined) { missing.push(key); continue; }
      if (!shapesEqual(src.shape, t.shape)) mismatched.push(`${key}: checkpoint ${fmtShape(src.shape)} vs model ${fmtShape(t.shape)}`);
    }
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    if (mismatched.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(missing, unexpected, mismatched, this.constructor.name);
    }
    noGrad(() => {
      for (const [key, t] of Object.entries(own)) {
        const src = dict[key];
        if (src !== undefined && src !== t) t.copy_(src);
      }
    });
    return { missing, unexpected };
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turns gradients on or off for every parameter (freezing). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  apply(fn: (m: Module) => void): this {
    for (const [, m] of this.namedModules()) fn(m);
    return this;
  }

  /**
   * A deep copy with its own parameters and buffers (Python's copy.deepcopy, which torch's
   * TransformerEncoder uses to stack copies of one layer). Tied tensors stay tied in the copy.
   */
  deepCopy(): this {
    return deepCopyValue(this, new Map()) as this;
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}

function deepCopyValue(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (memo.has(v)) return memo.get(v);
  if (isTensor(v)) {
    const c = keep(noGrad(() => v.clone()));
    if (v.requiresGrad) c.requiresGrad_(true);
    c.name = v.name;
    memo.set(v, c);
    return c;
  }
  if (v instanceof Map) {
    const m = new Map();
    memo.set(v, m);
    for (const [k, x] of v) m.set(k, deepCopyValue(x, memo));
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    memo.set(v, s);
    for (const x of v) s.add(deepCopyValue(x, memo));
    return s;
  }
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    memo.set(v, a);
    for (const x of v) a.push(deepCopyValue(x, memo));
    return a;
  }
  const proto = Object.getPrototypeOf(v);
  if (v instanceof Module || proto === Object.prototype || proto === null) {
    const o = Object.create(proto) as Record<string, unknown>;
    memo.set(v, o);
    for (const key of Object.keys(v)) o[key] = deepCopyValue((v as Record<string, unknown>)[key], memo);
    return o;
  }
  return v; // generators and other helpers are shared, not copied
}

/** The module at a dotted path, walking registered children. */
export function moduleAt(root: Module, path: string): Module {
  let m = root;
  if (path === '') return m;
  for (const part of path.split('.')) {
    const child = [...m.namedChildren()].find(([n]) => n === part)?.[1];
    if (child === undefined) throw new Error(`no module '${path}' (stopped at '${part}')`);
    m = child;
  }
  return m;
}

/**
 * Puts `replacement` where `old` is: the registered child, and every own property (or array slot,
 * as ModuleList's list) of the parent that holds `old`, so forward() code reaches the new module.
 */
export function replaceModule(root: Module, path: string, old: Module, replacement: Module): void {
  const dot = path.lastIndexOf('.');
  const parent = moduleAt(root, dot < 0 ? '' : path.slice(0, dot));
  parent.registerModule(path.slice(dot + 1), replacement);
  const fields = parent as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (v === old) fields[key] = replacement;
    else if (Array.isArray(v)) v.forEach((x, i) => { if (x === old) v[i] = replacement; });
  }
}
