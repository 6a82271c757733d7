// The one-pass kernels on every backend: rmsNorm and rotary embedding against the composite ops
// they stand in for (which run when a gradient is needed, or where a backend lacks the kernel),
// and the fused AdamW / Adam update against a float64 reference of torch's formulas.

import { noGrad, tensor, optim, type Tensor } from '../../../src/index.js';
import { rmsNorm, rotaryEmbedding } from '../../../src/tensor/ops/fused.js';
import type { Case } from '../suite.js';
import { assertClose } from '../assert.js';
import { det } from './util.js';

/** The op with a gradient wanted (the composite path) and without (the kernel), compared. */
async function kernelEqualsComposite(what: string, f: (x: Tensor) => Tensor, x: Tensor): Promise<void> {
  const fast = noGrad(() => f(x));
  const composite = f(x.detach().requiresGrad_());
  assertClose(await fast.data(), await composite.detach().data(), 2e-6, what, 1);
}

/** torch's Adam(W) in float64: `decoupled` decays the weight directly (AdamW), else adds decay·p to the gradient (Adam). */
function refAdam(p0: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): number[] {
  const p = p0.slice(), m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g0, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      const g = decoupled ? g0[i]! : g0[i]! + wd * p[i]!;
      if (decoupled) p[i]! *= 1 - lr * wd;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      p[i]! -= (lr / (1 - b1 ** t)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps);
    }
  });
  return p;
}

export const fusedCases: Case[] = [
  { name: 'rmsNorm: the kernel equals the composite (weight or none, strided input, rows longer than a workgroup)', run: async () => {
    const x = tensor(det(3 * 5 * 24, 1), { shape: [3, 5, 24] }), w = tensor(det(24, 2));
    await kernelEqualsComposite('weighted', (v) => rmsNorm(v, w, 1e-5), x);
    await kernelEqualsComposite('no weight', (v) => rmsNorm(v, null, 1e-6), x);
    const strided = tensor(det(24 * 15, 3), { shape: [24, 15] }).transpose(0, 1);
    await kernelEqualsComposite('strided', (v) => rmsNorm(v, w, 1e-5), strided);
    const long = tensor(det(2 * 1000, 4), { shape: [2, 1000] }), wl = tensor(det(1000, 5));
    await kernelEqualsComposite('rows of 1000', (v) => rmsNorm(v, wl, 1e-5), long);
  } },
  { name: 'rotaryEmbedding: the kernel equals the composite (head views, per-row and broadcast angles)', run: async () => {
    const [B, H, T, D] = [2, 3, 4, 8];
    const q = tensor(det(B * T * H * D, 6), { shape: [B, T, H * D] }).reshape(B, T, H, D).transpose(1, 2);
    for (const rows of [1, B]) {
      const cos = tensor(det(rows * T * D, 7), { shape: [rows, 1, T, D] }), sin = tensor(det(rows * T * D, 8), { shape: [rows, 1, T, D] });
      await kernelEqualsComposite(`angles for ${rows} row(s)`, (v) => rotaryEmbedding(v, cos, sin), q);
      const cosT = cos.transpose(2, 3).contiguous().transpose(2, 3); // strided angles
      await kernelEqualsComposite(`strided angles, ${rows} row(s)`, (v) => rotaryEmbedding(v, cosT, sin), q);
    }
  } },
  { name: 'AdamW and Adam steps equal torch\'s update (float64 reference), a parameter larger than a workgroup', run: async () => {
    const n = 1000, steps = 3;
    const p0 = det(n, 11), grads = Array.from({ length: steps }, (_, s) => det(n, 20 + s, 0.5));
    for (const [name, decoupled] of [['AdamW', true], ['Adam', false]] as const) {
      const p = tensor(p0, { requiresGrad: true });
      const opts = { lr: 0.01, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.1 };
      const opt = decoupled ? new optim.AdamW([p], opts) : new optim.Adam([p], opts);
      for (const g of grads) {
        p.grad = tensor(g);
        opt.step();
      }
      const ref = refAdam(p0, grads, 0.01, 0.8, 0.95, 1e-6, 0.1, decoupled);
      assertClose(await p.data(), ref, 1e-5, `${name} after ${steps} steps`, 1);
      opt.dispose();
    }
  } },
];
