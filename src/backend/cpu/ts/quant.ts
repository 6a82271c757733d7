// Matmul on quantized weights in plain TypeScript: the reference the WASM and native kernels are
// tested against, and the fallback where neither loads. Reads the quantized bytes in place
// (quant_format.ts); no dequantized copy of the weight is made.
//
// Each output is float32 at every step, in this order: per group, the sum over its inputs of x·q
// (k ascending), then the groups' sums times their scales added in group order (8 bits: one group,
// the whole row), then the bias.

import type { Backend, TensorInfo } from '../../backend.js';
import type { CpuStorage } from '../backend.js';
import { rowWords, type QuantLayout } from '../../quant_format.js';
import { arr } from './elementwise.js';

const f = Math.fround;

export function quantMatmul(_b: Backend, x: TensorInfo, qweight: TensorInfo, scales: TensorInfo, bias: TensorInfo | null,
  l: QuantLayout, out: TensorInfo): void {
  const { N, K, bits } = l;
  const M = out.shape.reduce((p, d) => p * d, 1) / Math.max(N, 1);
  const X = arr(x) as Float32Array, S = arr(scales) as Float32Array, O = arr(out) as Float32Array;
  const Bv = bias ? arr(bias) as Float32Array : null;
  const s = qweight.storage as CpuStorage, words = rowWords(l);
  const bytes = new Uint8Array(s.array.buffer, s.array.byteOffset + qweight.offset * 4, l.N * words * 4);
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const groups = K / l.groupSize, g = l.groupSize;
  for (let m = 0; m < M; m++) {
    const xo = x.offset + m * K, oo = out.offset + m * N;
    for (let n = 0; n < N; n++) {
      const row = n * words * 4;
      let y = 0;
      if (bits === 8) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc = f(acc + f(X[xo + k]! * signed[row + k]!));
        y = f(acc * S[scales.offset + n]!);
      } else {
        for (let gi = 0; gi < groups; gi++) {
          let acc = 0;
          for (let k = gi * g; k < gi * g + g; k += 2) {
            const b = bytes[row + (k >> 1)]!;
            acc = f(acc + f(X[xo + k]! * ((b & 15) - 8)));
            acc = f(acc + f(X[xo + k + 1]! * ((b >> 4) - 8)));
          }
          y = f(y + f(acc * S[scales.offset + n * groups + gi]!));
        }
      }
      O[oo + n] = Bv ? f(y + Bv[bias!.offset + n]!) : y;
    }
  }
}
