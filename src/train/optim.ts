// Optimizers as in torch.optim: SGD (momentum, nesterov), Adam, AdamW (decoupled weight decay), with
// parameter groups. Updates run in place under noGrad, so parameters keep their identity (and their
// storage) across steps: a training loop allocates nothing here after the first step.

import { getKernel } from '../backend/registry.js';
import { keep, noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { zeros, zerosLike } from '../tensor/ops/creation.js';
import { div } from '../tensor/ops/elementwise.js';
import { stack } from '../tensor/ops/indexing.js';

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  weightDecay: number;
  [option: string]: unknown;
}

export type ParamsArg = Tensor[] | (Partial<ParamGroup> & { params: Tensor[] })[];

export interface OptimizerState {
  step: number;
  buffers: Record<string, Tensor>;
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[];
  readonly state = new Map<Tensor, OptimizerState>();

  constructor(params: ParamsArg, defaults: Omit<ParamGroup, 'params'>) {
    const groups = params.length > 0 && !('params' in (params[0] as object)) ? [{ params: params as Tensor[] }]
      : (params as (Partial<ParamGroup> & { params: Tensor[] })[]);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g, params: [...g.params] }) as ParamGroup);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group`);
        if (p.dtype !== 'float32') throw new Error(`${this.constructor.name}: parameter ${p.describe()} is not float32`);
        seen.add(p);
      }
    }
    if (seen.size === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    // tidy: temporaries of the update rules are freed at once; state buffers are kept.
    noGrad(() => tidy(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === null || !p.requiresGrad) continue;
          let st = this.state.get(p);
          if (st === undefined) this.state.set(p, (st = { step: 0, buffers: {} }));
          st.step++;
          this.update(p, p.grad, st, group);
        }
      }
    }));
  }

  protected abstract update(p: Tensor, grad: Tensor, state: OptimizerState, group: ParamGroup): void;

  /** A zero-filled state buffer like p, kept across tidy scopes. */
  protected buffer(state: OptimizerState, name: string, p: Tensor): Tensor {
    return (state.buffers[name] ??= keep(zerosLike(p)));
  }

  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.zeroGrad();
  }

  /** State for checkpoints: tensors by "index.buffer" name, plus steps and hyper-parameters. */
  stateDict(): { tensors: Record<string, Tensor>; meta: { steps: Record<string, number>; groups: Omit<ParamGroup, 'params'>[] } } {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    this.allParams().forEach((p, i) => {
      const st = this.state.get(p);
      if (st === undefined) return;
      steps[i] = st.step;
      for (const [name, t] of Object.entries(st.buffers)) tensors[`${i}.${name}`] = t;
    });
    const groups = this.paramGroups.map(({ params: _params, ...rest }) => rest);
    return { tensors, meta: { steps, groups } };
  }

  loadStateDict(dict: ReturnType<Optimizer['stateDict']>): void {
    const params = this.allParams();
    if (dict.meta.groups.length !== this.paramGroups.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: checkpoint has ${dict.meta.groups.length} parameter groups, optimizer has ${this.paramGroups.length}`);
    }
    dict.meta.groups.forEach((g, i) => Object.assign(this.paramGroups[i]!, g));
    for (const [key, t] of Object.entries(dict.tensors)) {
      const [idx, name] = key.split('.') as [string, string];
      const p = params[Number(idx)];
      if (p === undefined) throw new Error(`${this.constructor.name}.loadStateDict: state for parameter ${idx}, optimizer has ${params.length}`);
      if (t.numel !== p.numel) throw new Error(`${this.constructor.name}.loadStateDict: state '${key}' has ${t.numel} elements, parameter has ${p.numel}`);
      let st = this.state.get(p);
      if (st === undefined) this.state.set(p, (st = { step: dict.meta.steps[idx] ?? 0, buffers: {} }));
      st.buffers[name]?.dispose();
      st.buffers[name] = keep(t.reshape(p.shape).contiguous().clone());
    }
    for (const [idx, step] of Object.entries(dict.meta.steps)) {
      const st = this.state.get(params[Number(idx)]!);
      if (st) st.step = step;
    }
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  dispose(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.buffers)) t.dispose();
    this.state.clear();
  }
}

export interface SGDOptions { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }

export class SGD extends Optimizer {
  constructor(params: ParamsArg, opts: SGDOptions) {
    if (opts.nesterov && (!opts.momentum || opts.dampening)) throw new Error('SGD: nesterov momentum requires a momentum and zero dampening');
    super(params, { lr: opts.lr, weightDecay: opts.weightDecay ?? 0, momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0, nesterov: opts.nesterov ?? false });
  }

  protected update(p: Tensor, grad: Tensor, state: OptimizerState, g: ParamGroup): void {
    const momentum = g.momentum as number, dampening = g.dampening as number;
    let d = g.weightDecay ? grad.add(p.mul(g.weightDecay)) : grad;
    if (momentum) {
      const first = state.buffers.momentum_buffer === undefined;
      const buf = this.buffer(state, 'momentum_buffer', p);
      const next = first ? d : buf.mul(momentum).add(d, 1 - dampening);
      buf.copy_(next);
      if (next !== d) next.dispose();
      d = g.nesterov ? d.add(buf, momentum) : buf;
    }
    const updated = p.sub(d, g.lr);
    p.copy_(updated);
    updated.dispose();
    if (d !== grad && d !== state.buffers.momentum_buffer) d.dispose();
  }
}

export interface AdamOptions { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number }

/** Adam and AdamW share the fused `adamw` kernel; Adam folds its (coupled, L2) decay into the gradient. */
class AdamBase extends Optimizer {
  constructor(params: ParamsArg, opts: AdamOptions, defaultDecay: number, private readonly decoupled: boolean) {
    const [beta1, beta2] = opts.betas ?? [0.9, 0.999];
    super(params, { lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? defaultDecay, beta1, beta2, eps: opts.eps ?? 1e-8 });
  }

  protected update(p: Tensor, grad: Tensor, state: OptimizerState, g: ParamGroup): void {
    const m = this.buffer(state, 'exp_avg', p), v = this.buffer(state, 'exp_avg_sq', p);
    const beta1 = g.beta1 as number, beta2 = g.beta2 as number;
    let gr = grad.isContiguous() ? grad : grad.contiguous();
    if (!this.decoupled && g.weightDecay) gr = gr.add(p.mul(g.weightDecay));
    const b = p.storage.backend;
    if (!p.isContiguous()) throw new Error(`${this.constructor.name}: parameter ${p.describe()} must be contiguous`);
    getKernel('adamw', b.name)(b, p, gr, m, v, {
      lr: g.lr, beta1, beta2, eps: g.eps as number, weightDecay: this.decoupled ? g.weightDecay : 0,
      bc1: 1 - beta1 ** state.step, bc2: 1 - beta2 ** state.step,
    });
    if (gr !== grad) gr.dispose();
  }
}

export class Adam extends AdamBase {
  constructor(params: ParamsArg, opts: AdamOptions = {}) { super(params, opts, 0, false); }
}

export class AdamW extends AdamBase {
  constructor(params: ParamsArg, opts: AdamOptions = {}) { super(params, opts, 1e-2, true); }
}

/**
 * Scales gradients in place so their global L2 norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_:
 * the norm and the clip coefficient min(1, maxNorm / (norm + 1e-6)) stay tensors on the gradients'
 * device, so clipping reads nothing back (a GPU training step never waits on it). Returns the norm
 * before clipping as a scalar tensor, which the caller owns (read it with `await norm.data()`, then
 * dispose it, or call inside tidy).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  return noGrad(() => tidy(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return zeros([]);
    const norm = stack(grads.map((g) => g.square().sum())).sum().sqrt();
    if (norm.device === 'cpu') {
      // Reading is free here: a step that needs no clipping (most) skips the pass over every gradient.
      const c = maxNorm / (norm.item() + 1e-6);
      if (c < 1) for (const g of grads) g.copy_(g.mul(c));
      return norm;
    }
    // Elsewhere the coefficient stays on the device: exactly 1 leaves the gradients unchanged.
    const coef = div(maxNorm, norm.add(1e-6)).clamp(null, 1);
    for (const g of grads) g.copy_(g.mul(coef));
    return norm;
  }));
}
