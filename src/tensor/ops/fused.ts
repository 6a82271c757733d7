// Llama-family ops with a one-pass inference kernel: RMSNorm and rotary embedding. When a gradient
// is needed (or the backend has no such kernel) they are the composite of elementwise ops, whose
// gradient autograd derives; otherwise one kernel call replaces the chain (at batch-1 decoding
// the chain's per-op dispatch costs more than its arithmetic).

import { hasKernel } from '../../backend/registry.js';
import { isGradEnabled, noGrad, tidy } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { cat } from './indexing.js';
import { deviceOf, empty, kernel, requireFloat } from './core.js';
import { contiguous, expand } from './view.js';

const needsGrad = (...ts: (Tensor | null | undefined)[]) => isGradEnabled() && ts.some((t) => t?.requiresGrad);

/** RMSNorm (Zhang & Sennrich 2019) over the last dim: x / √(mean(x²) + eps) · weight. */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor {
  requireFloat('rmsNorm', x);
  const n = x.shape[x.ndim - 1]!;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== n)) throw new Error(`rmsNorm: weight [${weight.shape.join(',')}] must be [${n}]`);
  const b = deviceOf('rmsNorm', x, ...(weight ? [weight] : []));
  if (needsGrad(x, weight) || !hasKernel('rmsNorm', b.name)) {
    const y = x.mul(x.square().mean(-1, true).add(eps).rsqrt());
    return weight ? y.mul(weight) : y;
  }
  return noGrad(() => tidy(() => {
    const xc = contiguous(x), wc = weight ? contiguous(weight) : null;
    const out = empty(x.shape, 'float32', b);
    kernel('rmsNorm', b)(b, xc, wc, x.numel / Math.max(n, 1), n, eps, out);
    return out;
  }));
}

/** x [B, H, T, D] rotated (rotate-half layout, as GPT-NeoX / Llama) by cos and sin [B|1, 1, T, D]. */
export function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  requireFloat('rotaryEmbedding', x);
  if (x.ndim !== 4 || x.shape[3]! % 2 !== 0) throw new Error(`rotaryEmbedding: x must be [B, H, T, D] with D even, got [${x.shape.join(',')}]`);
  const b = deviceOf('rotaryEmbedding', x, cos, sin);
  if (needsGrad(x, cos, sin) || !hasKernel('rotary', b.name)) {
    const half = x.shape[3]! / 2;
    const [x1, x2] = x.split(half, -1) as [Tensor, Tensor];
    return x.mul(cos).add(cat([x2.neg(), x1], -1).mul(sin));
  }
  return noGrad(() => tidy(() => {
    const [B, H, T, D] = x.shape as [number, number, number, number];
    const out = empty([B, H, T, D], 'float32', b);
    kernel('rotary', b)(b, x, expand(cos, [B, 1, T, D]), expand(sin, [B, 1, T, D]), out);
    return out;
  }));
}
