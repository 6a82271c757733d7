// matmul with torch.matmul's rules (1-D promotion, broadcast batch dims) and linear.

import { record } from '../autograd.js';
import { noGrad, tidy } from '../engine.js';
import { broadcastShapes, fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { hasKernel } from '../../backend/registry.js';
import { deviceOf, empty, kernel, requireFloat } from './core.js';
import { contiguous, expand, reshape, sumTo, unsqueeze, squeeze } from './view.js';
import { add } from './elementwise.js';

/** Batched product of 3-D operands [B,M,K] @ [B,K,N] (batch stride 0 allowed). No autograd. */
function bmm(a: Tensor, c: Tensor): Tensor {
  const b = deviceOf('matmul', a, c);
  const out = empty([a.shape[0]!, a.shape[1]!, c.shape[2]!], 'float32', b);
  kernel('matmul', b)(b, a, c, out);
  return out;
}

/** Views x ([...batch, R, C], batch broadcast to `batch`) as [prod(batch), R, C], copying only if the batch dims cannot merge. */
function as3d(x: Tensor, batch: readonly number[]): Tensor {
  const e = expand(x, [...batch, x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!]);
  const B = batch.reduce((p, d) => p * d, 1);
  if (e.ndim === 3) return e;
  if (e.ndim === 2) return unsqueeze(e, 0);
  // All batch dims broadcast (a weight shared by every batch element): a stride-0 batch dim, no copy.
  if (x.ndim === 2) return expand(unsqueeze(x, 0), [B, x.shape[0]!, x.shape[1]!]);
  return reshape(e, [B, x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!]);
}

function matmulNd(a: Tensor, c: Tensor): Tensor {
  const M = a.shape[a.ndim - 2]!, K = a.shape[a.ndim - 1]!, N = c.shape[c.ndim - 1]!;
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), c.shape.slice(0, -2));
  // [..., M, K] @ [K, N]: fold the batch into M, one large product that reads B once (a strided a,
  // such as the last position of each row, is copied first: M·K floats against M·K·N products).
  if (c.ndim === 2 && a.ndim > 2 && K > 0) {
    const a2 = reshape(a.isContiguous() ? a : contiguous(a), [1, a.numel / K, K]);
    const out = bmm(a2, unsqueeze(c, 0));
    return reshape(out, [...a.shape.slice(0, -1), N]);
  }
  const out = bmm(as3d(a, batch), as3d(c, batch));
  return reshape(out, [...batch, M, N]);
}

export function matmul(a: Tensor, c: Tensor): Tensor {
  requireFloat('matmul', a);
  requireFloat('matmul', c);
  if (a.ndim === 0 || c.ndim === 0) throw new Error(`matmul: both arguments need at least 1 dim, got ${fmtShape(a.shape)} @ ${fmtShape(c.shape)}`);
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const c2 = c.ndim === 1 ? unsqueeze(c, -1) : c;
  const K = a2.shape[a2.ndim - 1]!, K2 = c2.shape[c2.ndim - 2]!;
  if (K !== K2) throw new Error(`matmul: ${fmtShape(a.shape)} @ ${fmtShape(c.shape)}: inner dimensions ${K} and ${K2} differ`);
  const ba = a2.shape.slice(0, -2), bc = c2.shape.slice(0, -2);
  try { broadcastShapes('matmul', ba, bc); } catch {
    throw new Error(`matmul: ${fmtShape(a.shape)} @ ${fmtShape(c.shape)}: batch dims ${fmtShape(ba)} and ${fmtShape(bc)} cannot be broadcast`);
  }
  // The views inside matmulNd need no graph of their own: the gradient is defined here, once.
  // tidy: the 3-D views and the kernel's output made inside are dropped; only the result view (which keeps the storage) leaves.
  let out = noGrad(() => tidy(() => matmulNd(a2, c2)));
  out = record(out, 'Matmul', [a2, c2], (g) => [
    a2.requiresGrad ? sumTo(matmul(g, c2.mT), a2.shape) : null,
    c2.requiresGrad ? weightGrad(a2, c2, g) : null,
  ]);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (c.ndim === 1) out = squeeze(out, -1);
  return out;
}

/**
 * d(a @ c)/dc. For a shared 2-D c under a batched a (every Linear layer), fold the batch into the
 * inner dim: one [K, B·M] @ [B·M, N] product instead of B products and a sum over them.
 */
function weightGrad(a: Tensor, c: Tensor, g: Tensor): Tensor {
  if (c.ndim === 2 && a.ndim > 2) {
    const K = a.shape[a.ndim - 1]!, N = g.shape[g.ndim - 1]!;
    return noGrad(() => matmul(reshape(a, [-1, K]).mT, reshape(g, [-1, N])));
  }
  return sumTo(matmul(a.mT, g), c.shape);
}

/**
 * x @ weight + bias for a 2-D weight [K, N] and bias [N] (torch.addmm over x's rows): one kernel
 * where the backend fuses the bias into the product, matmul then add elsewhere.
 */
export function matmulBias(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const b = deviceOf('matmul', x, weight, bias);
  const K = x.shape[x.ndim - 1]!, N = weight.shape[1]!;
  const fused = hasKernel('matmulBias', b.name) && weight.ndim === 2 && bias.ndim === 1 && bias.shape[0] === N && x.ndim >= 2 &&
    weight.shape[0] === K && K > 0 && x.dtype === 'float32' && weight.dtype === 'float32' && bias.dtype === 'float32';
  if (!fused) return add(matmul(x, weight), bias);
  let out = noGrad(() => tidy(() => {
    const x3 = reshape(x.isContiguous() ? x : contiguous(x), [1, x.numel / K, K]);
    const y = empty([1, x.numel / K, N], 'float32', b);
    kernel('matmulBias', b)(b, x3, unsqueeze(weight, 0), bias.isContiguous() ? bias : contiguous(bias), y);
    return reshape(y, [...x.shape.slice(0, -1), N]);
  }));
  out = record(out, 'MatmulBias', [x, weight, bias], (g) => [
    x.requiresGrad ? matmul(g, weight.mT) : null,
    weight.requiresGrad ? weightGrad(x, weight, g) : null,
    bias.requiresGrad ? sumTo(g, bias.shape) : null,
  ]);
  return out;
}

/** y = x @ weight^T + bias, weight [out, in] as in torch.nn.Linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${fmtShape(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${fmtShape(weight.shape)} expects ${weight.shape[1]}`);
  }
  return bias ? matmulBias(x, weight.mT, bias) : matmul(x, weight.mT);
}
