// Edge cases of the fused row kernels (softmax, logSoftmax, layerNorm) against float64 references
// written here: row lengths that are odd, shorter than a GPU workgroup and several times longer
// than one, rows of -inf, many rows; forward and backward. And the composite forms that ops fall
// back to on a backend without these kernels, against the kernels.

import assert from 'node:assert/strict';
import { tensor, functional as F, type Tensor } from '../../../src/index.js';
import { softmaxComposite } from '../../../src/tensor/ops/reduce.js';
import { layerNormComposite } from '../../../src/tensor/ops/nn.js';
import type { Case } from '../suite.js';
import { assertClose } from '../assert.js';
import { det, expectTensor } from './util.js';

/** Row lengths: 1, odd, one below and above a 256-thread workgroup, several workgroups long. */
const LENGTHS = [1, 7, 255, 257, 1000];

function refSoftmaxRows(x: readonly number[], n: number, log: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, (r + 1) * n);
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (const v of row) out.push(log ? v - m - Math.log(s) : Math.exp(v - m) / s);
  }
  return out;
}

/** Gradient of sum(g · softmax(x)) (or logSoftmax) by rows, from the reference output y. */
function refSoftmaxGrad(y: readonly number[], g: readonly number[], n: number, log: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < y.length / n; r++) {
    let d = 0;
    for (let k = r * n; k < (r + 1) * n; k++) d += log ? g[k]! : g[k]! * y[k]!;
    for (let k = r * n; k < (r + 1) * n; k++) out.push(log ? g[k]! - Math.exp(y[k]!) * d : y[k]! * (g[k]! - d));
  }
  return out;
}

/** layerNorm of rows of length n in float64: the output and the gradients of sum(g · out). */
function refLayerNorm(x: readonly number[], g: readonly number[], w: readonly number[] | null, bias: readonly number[] | null, n: number, eps: number) {
  const rows = x.length / n;
  const out: number[] = [], gx: number[] = [], gw = new Array<number>(n).fill(0), gb = new Array<number>(n).fill(0);
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * n, (r + 1) * n), gr = g.slice(r * n, (r + 1) * n);
    const mu = row.reduce((a, v) => a + v, 0) / n;
    const rs = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / n + eps);
    const xhat = row.map((v) => (v - mu) * rs);
    const gh = gr.map((v, k) => v * (w ? w[k]! : 1));
    const mG = gh.reduce((a, v) => a + v, 0) / n, mGX = gh.reduce((a, v, k) => a + v * xhat[k]!, 0) / n;
    for (let k = 0; k < n; k++) {
      out.push(xhat[k]! * (w ? w[k]! : 1) + (bias ? bias[k]! : 0));
      gx.push(rs * (gh[k]! - mG - xhat[k]! * mGX));
      gw[k]! += gr[k]! * xhat[k]!;
      gb[k]! += gr[k]!;
    }
  }
  return { out, gx, gw, gb };
}

export const rowCases: Case[] = [
  { name: 'softmax and logSoftmax: forward and backward over short, odd and multi-workgroup rows', run: async () => {
    for (const n of LENGTHS) {
      const rows = 3;
      const data = det(rows * n, n, 6), gData = det(rows * n, n + 1, 1);
      for (const log of [false, true]) {
        const x = tensor(data, { shape: [rows, n], requiresGrad: true });
        const y = log ? F.logSoftmax(x, -1) : F.softmax(x, -1);
        const ref = refSoftmaxRows(data, n, log);
        const what = `${log ? 'logSoftmax' : 'softmax'} n=${n}`;
        await expectTensor(y, [rows, n], ref, { tol: 2e-5, what });
        y.backward(tensor(gData, { shape: [rows, n] }));
        // Gradients cancel (g - p·Σg): measured against the scale of g, 1, below it.
        assertClose(await x.grad!.data(), refSoftmaxGrad(ref, gData, n, log), 1e-5, `${what} gradient`, 1);
      }
    }
  } },
  { name: 'softmax: a row of -inf gives NaN (as torch), other rows are untouched; many rows', run: async () => {
    const x = tensor([-Infinity, -Infinity, -Infinity, 0, -Infinity, 1], { shape: [2, 3] });
    const e = Math.exp(1) + 1;
    await expectTensor(F.softmax(x, -1), [2, 3], [NaN, NaN, NaN, 1 / e, 0, Math.exp(1) / e]);
    await expectTensor(F.logSoftmax(x, -1), [2, 3], [NaN, NaN, NaN, -Math.log(e), -Infinity, 1 - Math.log(e)]);
    // More rows than one grid dimension holds (65535 workgroups): the second grid dimension is used.
    const rows = 70000;
    const data = det(rows * 2, 3, 3);
    const got = await F.softmax(tensor(data, { shape: [rows, 2] }), -1).data();
    const ref = refSoftmaxRows(data, 2, false);
    for (let i = 0; i < ref.length; i++) {
      if (Math.abs(got[i]! - ref[i]!) > 1e-6) assert.fail(`softmax of ${rows} rows at ${i}: ${got[i]} vs ${ref[i]}`);
    }
  } },
  { name: 'layerNorm: forward and every gradient over odd and multi-workgroup rows, many rows, with and without affine', run: async () => {
    // (rows, n): 100 rows cross several blocks of the weight-gradient sum over rows.
    for (const [rows, n] of [[3, 1], [5, 7], [100, 33], [2, 257], [3, 1000]] as const) {
      for (const affine of [true, false]) {
        const data = det(rows * n, n + rows, 3).map((v, i) => v + (i % 3)), gData = det(rows * n, n + 7, 1);
        const wData = affine ? det(n, 2, 1.5) : null, bData = affine ? det(n, 3, 1) : null;
        const x = tensor(data, { shape: [rows, n], requiresGrad: true });
        const w = wData && tensor(wData, { requiresGrad: true }), bias = bData && tensor(bData, { requiresGrad: true });
        const y = F.layerNorm(x, [n], w, bias, 1e-5);
        const ref = refLayerNorm(data, gData, wData, bData, n, 1e-5);
        const what = `layerNorm [${rows}, ${n}]${affine ? ' affine' : ''}`;
        // n = 1 normalizes every value to 0 (then the bias): measured against 1 there.
        assertClose(await y.data(), ref.out, 1e-5, what, 1);
        y.backward(tensor(gData, { shape: [rows, n] }));
        assertClose(await x.grad!.data(), ref.gx, 1e-5, `${what}: input gradient`, 1);
        if (w && bias) {
          assertClose(await w.grad!.data(), ref.gw, 1e-5, `${what}: weight gradient`, 1);
          assertClose(await bias.grad!.data(), ref.gb, 1e-5, `${what}: bias gradient`, 1);
        }
      }
    }
  } },
  { name: 'composite softmax and layerNorm (what a backend without the kernels runs) equal the ops, gradients included', run: async () => {
    const data = det(4 * 9, 11, 3), gData = det(4 * 9, 12, 1);
    const check = async (what: string, f: (x: Tensor) => Tensor, composite: (x: Tensor) => Tensor) => {
      const x1 = tensor(data, { shape: [4, 9], requiresGrad: true }), x2 = tensor(data, { shape: [4, 9], requiresGrad: true });
      const y1 = f(x1), y2 = composite(x2);
      assertClose(await y2.data(), await y1.data(), 1e-5, what, 1e-3);
      y1.backward(tensor(gData, { shape: [4, 9] }));
      y2.backward(tensor(gData, { shape: [4, 9] }));
      assertClose(await x2.grad!.data(), await x1.grad!.data(), 1e-5, `${what} gradient`, 1);
    };
    for (const dim of [0, 1]) {
      await check(`softmax dim ${dim}`, (x) => F.softmax(x, dim), (x) => softmaxComposite(x, dim, false));
      await check(`logSoftmax dim ${dim}`, (x) => F.logSoftmax(x, dim), (x) => softmaxComposite(x, dim, true));
    }
    const w = tensor(det(9, 5)), bias = tensor(det(9, 6));
    await check('layerNorm', (x) => F.layerNorm(x, [9], w, bias), (x) => layerNormComposite(x, 1, w, bias));
    await check('layerNorm over two dims', (x) => F.layerNorm(x, [4, 9]), (x) => layerNormComposite(x, 2));
    await expectTensor(softmaxComposite(tensor([[-Infinity, -Infinity], [0, 0]]), 1, false), [2, 2], [NaN, NaN, 0.5, 0.5]);
  } },
];
