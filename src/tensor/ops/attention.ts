// Scaled-dot-product attention, as torch.nn.functional.scaled_dot_product_attention, and the causal
// mask. Where the backend has a fused 'attention' kernel (cpu) the [L, S] score matrix is never
// built: one kernel for the forward, one for the backward (which recomputes the probabilities from
// the saved row logsumexp). Dropout, or a float mask that itself needs a gradient, takes the
// composite path: matmul, softmax, matmul.

import type { Backend } from '../../backend/backend.js';
import { hasKernel, type AttentionParams } from '../../backend/registry.js';
import { record } from '../autograd.js';
import { isGradEnabled, noGrad } from '../engine.js';
import { broadcastShapes, fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { deviceOf, empty, kernel } from './core.js';
import { tensor } from './creation.js';
import { where } from './elementwise.js';
import { matmul } from './linalg.js';
import { dropout } from './nn.js';
import { softmax } from './reduce.js';
import { contiguous, expand, reshape, sumTo } from './view.js';

export interface AttentionOptions {
  /** bool: true = may attend (torch SDPA); float: added to the scores. Broadcasts to [..., L, S]. */
  attnMask?: Tensor | null;
  isCausal?: boolean;
  dropoutP?: number;
  scale?: number;
  training?: boolean;
}

/** softmax(q kᵀ · scale + mask) v over q [..., L, E], k [..., S, E], v [..., S, Ev] (batch dims broadcast). */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const L = q.shape[q.ndim - 2]!, S = k.shape[k.ndim - 2]!, E = q.shape[q.ndim - 1]!;
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
    throw new Error(`scaledDotProductAttention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} need at least 2 dims`);
  }
  if (k.shape[k.ndim - 1] !== E) throw new Error(`scaledDotProductAttention: q ${fmtShape(q.shape)} and k ${fmtShape(k.shape)} differ in the last dim`);
  if (v.shape[v.ndim - 2] !== S) throw new Error(`scaledDotProductAttention: k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} differ in length`);
  if (opts.isCausal && opts.attnMask) throw new Error('scaledDotProductAttention: pass either attnMask or isCausal, not both');
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const drop = !!opts.dropoutP && (opts.training ?? true);
  const mask = opts.attnMask ?? null;
  const b = deviceOf('scaledDotProductAttention', q, k, v);
  const fusable = !drop && hasKernel('attention', b.name) && L > 0 && S > 0 && E > 0 && v.shape[v.ndim - 1]! > 0
    && [q, k, v].every((t) => t.dtype === 'float32')
    && (mask === null || mask.dtype === 'bool' || (mask.dtype === 'float32' && !mask.requiresGrad));
  if (fusable) return fused(b, q, k, v, mask, { heads: 1, causal: !!opts.isCausal, scale });

  let scores = matmul(q, k.mT).mul(scale);
  if (opts.isCausal) scores = scores.maskedFill(causalMask(L, S, q.device), -Infinity);
  if (mask) scores = mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
  let attn = softmax(scores, -1);
  if (drop) attn = dropout(attn, opts.dropoutP!, true);
  return matmul(attn, v);
}

/** [L, S] bool, true above the diagonal: the positions a causal query may not see. */
export function causalMask(L: number, S: number, device?: string): Tensor {
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = 1;
  return tensor(m, { shape: [L, S], dtype: 'bool', device });
}

function fused(b: Backend, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, p: AttentionParams): Tensor {
  const L = q.shape[q.ndim - 2]!, S = k.shape[k.ndim - 2]!, E = q.shape[q.ndim - 1]!, Ev = v.shape[v.ndim - 1]!;
  const op = 'scaledDotProductAttention';
  const batch = broadcastShapes(op, broadcastShapes(op, q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
  const BH = batch.reduce((a, d) => a * d, 1);
  p.heads = batch.length > 0 ? batch[batch.length - 1]! : 1;
  // The kernel's layout: [BH, rows, cols] contiguous (copies only where an input is strided or broadcast).
  const as3 = (x: Tensor, R: number, C: number) => reshape(contiguous(expand(x, [...batch, R, C])), [BH, R, C]);
  const [q3, k3, v3, m4, out3, lse, out] = noGrad(() => {
    const q3 = as3(q, L, E), k3 = as3(k, S, E), v3 = as3(v, S, Ev);
    const m4 = mask === null || BH === 0 ? null : maskView(mask, batch, L, S);
    const out3 = empty([BH, L, Ev], 'float32', b), lse = empty([BH, L], 'float32', b);
    if (BH > 0) kernel('attention', b)(b, q3, k3, v3, m4, p, out3, lse);
    return [q3, k3, v3, m4, out3, lse, reshape(out3, [...batch, L, Ev])] as const;
  });
  if (!isGradEnabled() || ![q, k, v].some((t) => t.requiresGrad)) {
    // Drop what only a backward pass would need (views just release a reference).
    for (const [t, keepIf] of [[q3, q], [k3, k], [v3, v], [out3, out]] as const) if (t !== keepIf) t.dispose();
    lse.dispose();
    if (m4 !== null && m4 !== mask) m4.dispose();
    return out;
  }
  return record(out, 'ScaledDotProductAttention', [q, k, v], (g) => {
    const g3 = reshape(contiguous(g), [BH, L, Ev]);
    const gq = empty([BH, L, E], 'float32', b), gk = empty([BH, S, E], 'float32', b), gv = empty([BH, S, Ev], 'float32', b);
    if (BH > 0) kernel('attentionBackward', b)(b, q3, k3, v3, m4, p, out3, lse, g3, gq, gk, gv);
    const back = (gx: Tensor, x: Tensor, R: number, C: number) => (x.requiresGrad ? sumTo(reshape(gx, [...batch, R, C]), x.shape) : null);
    return [back(gq, q, L, E), back(gk, k, S, E), back(gv, v, S, Ev)];
  });
}

/**
 * The mask as the kernel reads it: additive float32 (bool true → 0, false → -inf), viewed as
 * [B1, heads, L, S] with broadcast dims at stride 0 and unit stride along S (copied only if needed).
 */
function maskView(mask: Tensor, batch: readonly number[], L: number, S: number): Tensor {
  const full = [...batch, L, S];
  if (!shapesEqual(broadcastShapes('scaledDotProductAttention', mask.shape, full), full)) {
    throw new Error(`scaledDotProductAttention: attnMask ${fmtShape(mask.shape)} does not broadcast to ${fmtShape(full)}`);
  }
  let m = mask.dtype === 'bool' ? where(mask, 0, -Infinity) : mask;
  if (m.ndim === 0) m = reshape(m, [1]);
  if (m.shape[m.ndim - 1] !== S || m.strides[m.ndim - 1] !== 1) m = contiguous(expand(m, [...m.shape.slice(0, -1), S]));
  const heads = batch.length > 0 ? batch[batch.length - 1]! : 1;
  const B1 = batch.reduce((a, d) => a * d, 1) / heads;
  return reshape(expand(m, full), [B1, heads, L, S]);
}
