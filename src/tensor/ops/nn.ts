// Neural-network functions (torch.nn.functional): layerNorm, embedding, dropout, crossEntropy, klDiv,
// scaledDotProductAttention.

import { hasKernel } from '../../backend/registry.js';
import { record } from '../autograd.js';
import { defaultGenerator, type Generator } from '../random.js';
import { fmtShape, shapesEqual } from '../shape.js';
import { noGrad } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { deviceOf, empty, kernel, requireFloat } from './core.js';
import { full } from './creation.js';
import { where } from './elementwise.js';
import { gather, indexSelect } from './indexing.js';
import { logSoftmax } from './reduce.js';
import { contiguous, permute, reshape, unsqueeze } from './view.js';

/** Runs fn; an error from the ops inside (an index out of range) is re-thrown naming this op and its shapes. */
function named<T>(op: string, shapes: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new Error(`${op}: ${shapes}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  requireFloat('layerNorm', x);
  const k = normalizedShape.length;
  if (k === 0 || !shapesEqual(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new Error(`layerNorm: input ${fmtShape(x.shape)} does not end with normalized shape ${fmtShape(normalizedShape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && !shapesEqual(p.shape, normalizedShape)) throw new Error(`layerNorm: ${name} ${fmtShape(p.shape)} must have shape ${fmtShape(normalizedShape)}`);
  }
  const n = normalizedShape.reduce((a, d) => a * d, 1);
  const rows = x.numel / n;
  const b = deviceOf('layerNorm', x, ...[weight, bias].filter((t): t is Tensor => !!t));
  if (!hasKernel('layerNorm', b.name) || !hasKernel('layerNormBackward', b.name)) return layerNormComposite(x, k, weight, bias, eps);
  // The kernel's contiguous copies need no graph of their own: the gradient is defined here.
  const [xc, w, bb] = noGrad(() => [contiguous(x), weight ? contiguous(weight) : null, bias ? contiguous(bias) : null]);
  const out = empty(x.shape, 'float32', b);
  const mean = empty([rows], 'float32', b), rstd = empty([rows], 'float32', b);
  kernel('layerNorm', b)(b, xc, w, bb, rows, n, eps, out, mean, rstd);
  const inputs = [x, weight, bias].filter((t): t is Tensor => !!t);
  record(out, 'LayerNorm', inputs, (g) => {
    const gc = contiguous(g);
    const gx = empty(x.shape, 'float32', b);
    const gw = weight?.requiresGrad ? empty(weight.shape, 'float32', b) : null;
    const gb = bias?.requiresGrad ? empty(bias.shape, 'float32', b) : null;
    kernel('layerNormBackward', b)(b, xc, w, mean, rstd, gc, rows, n, gx, gw, gb);
    const grads: (Tensor | null)[] = [gx];
    if (weight) grads.push(gw);
    if (bias) grads.push(gb);
    return grads;
  }, [xc, w, mean, rstd]);
  // Freed now without a graph; with one, when backward has run through it.
  for (const [t, orig] of [[xc, x], [w, weight], [bb, bias], [mean, null], [rstd, null]] as const) if (t !== null && t !== orig) t.dispose();
  return out;
}

/**
 * layerNorm over the last k dims from elementwise ops and reductions, for a backend without the fused
 * kernels (autograd derives the gradient): (x - mean) / √(var + eps) · weight + bias, biased variance.
 */
export function layerNormComposite(x: Tensor, k: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const centered = x.sub(x.mean(dims, true));
  let y = centered.mul(centered.square().mean(dims, true).add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** Rows of weight picked by int32 ids: [...ids.shape, dim]. paddingIdx rows get no gradient. */
export function embedding(ids: Tensor, weight: Tensor, opts?: { paddingIdx?: number | null }): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be 2-D [num, dim], got ${fmtShape(weight.shape)}`);
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  const flat = reshape(ids, [ids.numel]);
  const rows = named('embedding', `ids ${fmtShape(ids.shape)}, weight ${fmtShape(weight.shape)}`, () => indexSelect(weight, 0, flat));
  const pad = opts?.paddingIdx;
  if (pad !== undefined && pad !== null && rows.gradFn !== null) {
    const inner = rows.gradFn;
    rows.gradFn = { name: 'Embedding', inputs: inner.inputs, saved: inner.saved, backward: (g) => {
      const [gw] = inner.backward(g);
      if (gw) gw.narrow(0, pad < 0 ? pad + weight.shape[0]! : pad, 1).fill_(0);
      return [gw ?? null];
    } };
  }
  return reshape(rows, [...ids.shape, weight.shape[1]!]);
}

/**
 * Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p). The mask is
 * drawn on the tensor's device by a counter-based generator keyed by two numbers from `generator`
 * (so a seed gives the same mask on every backend, and a GPU uploads nothing).
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const b = deviceOf('dropout', x);
  const mask = empty(x.shape, 'float32', b);
  kernel('dropoutMask', b)(b, mask, p, generator.nextUint32(), generator.nextUint32());
  try {
    return x.mul(mask);
  } finally {
    mask.dispose();
  }
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: 'mean' | 'sum' | 'none';
  /** Per-class weights [C]. */
  weight?: Tensor;
}

/**
 * torch.nn.functional.cross_entropy with class-index targets: logits [N, C] (or [C], or [N, C, d...]),
 * target int32 [N] (or [], or [N, d...]). Mean reduction divides by the number of non-ignored targets.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  requireFloat('crossEntropy', logits);
  const ignore = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  if (target.dtype !== 'int32') throw new Error(`crossEntropy: target must hold int32 class indices, got ${target.dtype}`);
  if (eps < 0 || eps > 1) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const expectedTarget = logits.ndim === 1 ? [] : [logits.shape[0]!, ...logits.shape.slice(2)];
  if (!shapesEqual(target.shape, expectedTarget)) {
    throw new Error(`crossEntropy: target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)} (expected ${fmtShape(expectedTarget)})`);
  }
  // Bring the class dim last, keeping [N, d1, d2, ...] in the target's order, and flatten to [N, C].
  let x = logits, t = target;
  if (x.ndim === 1) { x = unsqueeze(x, 0); t = reshape(t, [1]); }
  else if (x.ndim > 2) {
    x = permute(x, [0, ...x.shape.slice(2).map((_, i) => i + 2), 1]);
    x = reshape(x, [-1, x.shape[x.ndim - 1]!]); t = reshape(t, [-1]);
  }
  const C = x.shape[1]!;
  const N = x.shape[0]!;
  const valid = t.ne(ignore);
  const safeT = where(valid, t, 0);
  const logp = logSoftmax(x, 1);
  const picked = named('crossEntropy', `target ${fmtShape(target.shape)}, logits ${fmtShape(logits.shape)}`, () => gather(logp, 1, reshape(safeT, [N, 1])));
  let nll = picked.reshape([N]).neg();
  let w: Tensor | null = null;
  if (opts.weight) {
    if (!shapesEqual(opts.weight.shape, [C])) throw new Error(`crossEntropy: weight ${fmtShape(opts.weight.shape)} must have shape [${C}]`);
    w = where(valid, indexSelect(opts.weight, 0, safeT), 0);
    nll = nll.mul(w);
  }
  let loss = where(valid, nll, 0);
  if (eps > 0) {
    const smooth = opts.weight ? logp.mul(opts.weight).sum(1).neg().div(C) : logp.sum(1).neg().div(C);
    loss = loss.mul(1 - eps).add(where(valid, smooth, 0).mul(eps));
  }
  if (reduction === 'none') return logits.ndim > 2 ? reshape(loss, expectedTarget) : logits.ndim === 1 ? reshape(loss, []) : loss;
  const total = loss.sum();
  if (reduction === 'sum') return total;
  const denom = w ? w.sum() : valid.sum().float();
  return total.div(denom);
}

export function nllLoss(logp: Tensor, target: Tensor, opts: { ignoreIndex?: number; reduction?: 'mean' | 'sum' | 'none' } = {}): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const valid = target.ne(ignore);
  const safeT = where(valid, target, 0);
  const picked = gather(logp, 1, reshape(safeT, [-1, 1])).reshape([-1]).neg();
  const loss = where(valid, picked, 0);
  if (opts.reduction === 'none') return loss;
  if (opts.reduction === 'sum') return loss.sum();
  return loss.sum().div(valid.sum().float());
}

/**
 * torch.nn.functional.kl_div: the KL divergence of target from the model, input = log-probabilities
 * (target = probabilities, or log-probabilities with logTarget), pointwise target · (log target −
 * input) with 0 · log 0 = 0. 'batchmean' (the mathematically right mean) divides the sum by the
 * batch size input.shape[0]; 'mean' (torch's default) divides by the element count.
 */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: 'batchmean' | 'mean' | 'sum' | 'none'; logTarget?: boolean } = {}): Tensor {
  requireFloat('klDiv', input);
  requireFloat('klDiv', target);
  if (!shapesEqual(input.shape, target.shape)) throw new Error(`klDiv: target ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)}`);
  let pointwise: Tensor;
  if (opts.logTarget) pointwise = target.exp().mul(target.sub(input));
  else {
    // xlogy: where the target is 0 the term is 0 (log 0 would make it NaN).
    const some = target.gt(0);
    pointwise = where(some, target.mul(where(some, target, 1).log().sub(input)), 0);
  }
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return pointwise;
  const total = pointwise.sum();
  if (reduction === 'sum') return total;
  return total.div(reduction === 'batchmean' ? (input.ndim === 0 ? 1 : input.shape[0]!) : Math.max(1, input.numel));
}

// scaledDotProductAttention and causalMask live in attention.ts (fused kernel + composite path).
export { scaledDotProductAttention, causalMask, type AttentionOptions } from './attention.js';

export { full };
