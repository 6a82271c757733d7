// Scaled-dot-product attention, as torch.nn.functional.scaled_dot_product_attention, and the causal
// mask. Where the backend has a fused 'attention' kernel (cpu, webgpu) the [L, S] score matrix is never
// built: one kernel for the forward, one for the backward (which recomputes the probabilities from
// the saved row logsumexp). Dropout, or a float mask that itself needs a gradient, takes the
// composite path: matmul, softmax, matmul.

import type { Backend } from '../../backend/backend.js';
import { hasKernel, type AttentionParams } from '../../backend/registry.js';
import { record } from '../autograd.js';
import { isGradEnabled, noGrad } from '../engine.js';
import { broadcastShapes, fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { deviceOf, empty, kernel, viewOf } from './core.js';
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
  const needsGrad = isGradEnabled() && [q, k, v].some((t) => t.requiresGrad);
  const fusable = !drop && hasKernel('attention', b.name) && (!needsGrad || hasKernel('attentionBackward', b.name)) && L > 0 && S > 0 && E > 0 && v.shape[v.ndim - 1]! > 0
    && [q, k, v].every((t) => t.dtype === 'float32')
    && (mask === null || mask.dtype === 'bool' || (mask.dtype === 'float32' && !mask.requiresGrad));
  if (fusable) return fused(b, q, k, v, mask, { causal: !!opts.isCausal, scale });

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
  const H = batch.length > 0 ? batch[batch.length - 1]! : 1, B1 = BH / H;
  // The kernel reads 4-D [B1, H, rows, cols] views: q, k and v as the heads of one packed projection
  // are read in place. What it writes (out, and gq, gk, gv) is laid out [B1, rows, H, cols]: the
  // usual next step, transpose(1, 2).reshape(B, T, C), is then a view rather than a copy.
  const [q4, k4, v4, m4, out4, lse, out] = noGrad(() => {
    const q4 = headsView(q, batch, L, E), k4 = headsView(k, batch, S, E), v4 = headsView(v, batch, S, Ev);
    const m4 = mask === null || BH === 0 ? null : maskView(mask, batch, L, S);
    const out4 = headsMajor(b, B1, H, L, Ev), lse = empty([BH, L], 'float32', b);
    if (BH > 0) kernel('attention', b)(b, q4, k4, v4, m4, p, out4, lse);
    return [q4, k4, v4, m4, out4, lse, reshape(out4, [...batch, L, Ev])] as const;
  });
  record(out, 'ScaledDotProductAttention', [q, k, v], (g) => {
    const g4 = headsView(g, batch, L, Ev);
    const gq = headsMajor(b, B1, H, L, E), gk = headsMajor(b, B1, H, S, E), gv = headsMajor(b, B1, H, S, Ev);
    if (BH > 0) kernel('attentionBackward', b)(b, q4, k4, v4, m4, p, out4, lse, g4, gq, gk, gv);
    if (g4 !== g) g4.dispose();
    const back = (gx: Tensor, x: Tensor, R: number, C: number) => {
      if (!x.requiresGrad) { gx.dispose(); return null; }
      const r = reshape(gx, [...batch, R, C]);
      if (r !== gx) gx.dispose();
      const summed = sumTo(r, x.shape);
      if (summed !== r) r.dispose();
      return summed;
    };
    return [back(gq, q, L, E), back(gk, k, S, E), back(gv, v, S, Ev)];
  }, [q4, k4, v4, m4, out4, lse]);
  // What only a backward pass needs: freed now without a graph, with one when backward has run
  // through it (views just release a reference).
  for (const t of [q4, k4, v4, out4, lse]) if (t !== out) t.dispose();
  if (m4 !== null && m4 !== mask) m4.dispose();
  return out;
}

/**
 * x broadcast to [...batch, R, C] as a 4-D [B1, H, R, C] view (H the last batch dim) with unit
 * stride along C: no copy unless the leading batch dims cannot merge into one or C is strided.
 */
function headsView(x: Tensor, batch: readonly number[], R: number, C: number): Tensor {
  const e = expand(x, [...batch, R, C]);
  const n = e.ndim, H = batch.length > 0 ? batch[batch.length - 1]! : 1;
  const B1 = batch.slice(0, -1).reduce((a, d) => a * d, 1);
  // The leading batch dims as one: the stride of the innermost one of size > 1, if each outer one
  // steps over it exactly (0 when none is larger than 1, or all are broadcast).
  let lead: number | null = 0, span = 1;
  for (let d = n - 4; d >= 0; d--) {
    const size = e.shape[d]!, st = e.strides[d]!;
    if (size === 1) continue;
    if (span === 1) { lead = st; span = size; continue; }
    if (st !== lead! * span) { lead = null; break; }
    span *= size;
  }
  const headStride = batch.length > 0 && H > 1 ? e.strides[n - 3]! : 0;
  if (lead !== null && (C <= 1 || e.strides[n - 1] === 1)) {
    const v = viewOf(e, [B1, H, R, C], [lead, headStride, R > 1 ? e.strides[n - 2]! : 0, C > 1 ? 1 : 0], e.offset);
    if (e !== x) e.dispose();
    return v;
  }
  const c = contiguous(e);
  const v = viewOf(c, [B1, H, R, C], [H * R * C, R * C, C, 1], c.offset);
  if (e !== x) e.dispose();
  if (c !== x && c !== e) c.dispose();
  return v;
}

/** A new [B1, H, R, C] tensor laid out [B1, R, H, C]. */
function headsMajor(b: Backend, B1: number, H: number, R: number, C: number): Tensor {
  const t = empty([B1, R, H, C], 'float32', b);
  const v = viewOf(t, [B1, H, R, C], [R * H * C, C, H * C, 1], t.offset);
  t.dispose();
  return v;
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
