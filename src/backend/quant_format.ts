// Weight-only quantization: the layout every quantized kernel reads, and the round-to-nearest
// quantizer that writes it. Pure arithmetic on typed arrays, so that the kernels (below tensors)
// and the model code (above them) share one definition.
//
// A weight W [N, K] (N outputs, K inputs; y = x·Wᵀ) is stored as two arrays:
//
//  - bits 8 (one scale per output channel): qweight int32 [N, ceil(K/4)], the words of each row
//    holding its K int8 values q[n, k] ∈ [-127, 127] in byte order (little-endian words: byte k of
//    the row is q[n, k]; the pad bytes of the last word are 0); scales float32 [N],
//    scale[n] = max_k |W[n, k]| / 127.  W[n, k] ≈ q[n, k] · scale[n].
//  - bits 4 (groups of 32 along K; K must be a multiple of 32): qweight int32 [N, K/8], byte k/2 of
//    row n holding q[n, k] + 8 in its low nibble for even k and in its high nibble for odd k,
//    q ∈ [-8, 7]; scales float32 [N, K/32], one per group of 32 consecutive inputs. The scale is
//    m / -8 where m is the group's weight of largest magnitude (so m lands exactly on -8 and the
//    whole signed range is used, as llama.cpp's Q4_0; a scale may be negative).
//    W[n, k] ≈ q[n, k] · scale[n, k/32].
//
// Rounding is to nearest, halves away from zero; an all-zero row or group has scale 0 and q = 0.
// The words are int32 so that the arrays are ordinary int32 tensors (every backend holds them,
// safetensors stores them as I32, as GPTQ and AWQ pack theirs): in PyTorch,
// `qweight.view(torch.int8)[:, :K]` gives the int8 values back, `qweight.view(torch.uint8)` the nibbles.

export type QuantBits = 8 | 4;

/** What a kernel needs to read a quantized weight. */
export interface QuantLayout {
  bits: QuantBits;
  /** Outputs (rows of W) and inputs (columns). */
  N: number;
  K: number;
  /** Inputs per scale: K for 8 bits (one per row), 32 for 4 bits. */
  groupSize: number;
}

/** The 4-bit format's group size (the kernels are written for it). */
export const GROUP_SIZE_4BIT = 32;

/** The layout of a weight [N, K] at `bits`, or an Error naming why that weight cannot have it. */
export function quantLayout(bits: number, N: number, K: number): QuantLayout {
  if (bits !== 8 && bits !== 4) throw new Error(`quantization: bits must be 8 or 4, got ${bits}`);
  if (!Number.isInteger(N) || !Number.isInteger(K) || N < 1 || K < 1) throw new Error(`quantization: weight shape [${N}, ${K}] must be positive integers`);
  if (bits === 4 && K % GROUP_SIZE_4BIT !== 0) {
    throw new Error(`quantization: 4-bit weights need in_features divisible by ${GROUP_SIZE_4BIT}, got ${K}`);
  }
  return { bits, N, K, groupSize: bits === 8 ? K : GROUP_SIZE_4BIT };
}

/** int32 words per row of qweight. */
export function rowWords(l: QuantLayout): number {
  return l.bits === 8 ? Math.ceil(l.K / 4) : l.K / 8;
}

/** The shapes of qweight and scales. */
export function quantShapes(l: QuantLayout): { qweight: [number, number]; scales: number[] } {
  return { qweight: [l.N, rowWords(l)], scales: l.bits === 8 ? [l.N] : [l.N, l.K / GROUP_SIZE_4BIT] };
}

/** Round to nearest, halves away from zero (the same on every platform, unlike Math.round's halves up). */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/**
 * Quantizes W [N, K] (row-major, or [K, N] with `transposed`: a GPT-2 Conv1D weight) into the
 * layout's qweight words and scales.
 */
export function quantizeWeight(w: Float32Array, l: QuantLayout, transposed = false): { qweight: Int32Array; scales: Float32Array } {
  const { N, K } = l;
  if (w.length !== N * K) throw new Error(`quantizeWeight: expected ${N * K} values for [${N}, ${K}], got ${w.length}`);
  const words = rowWords(l), qweight = new Int32Array(N * words);
  const bytes = new Uint8Array(qweight.buffer);
  const g = l.groupSize, groups = K / g;
  const scales = new Float32Array(N * (l.bits === 8 ? 1 : groups));
  const row = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    if (transposed) for (let k = 0; k < K; k++) row[k] = w[k * N + n]!;
    else row.set(w.subarray(n * K, n * K + K));
    for (let k = 0; k < K; k++) if (!Number.isFinite(row[k]!)) throw new Error(`quantizeWeight: row ${n} holds a non-finite weight (${row[k]} at input ${k})`);
    const base = n * words * 4;
    for (let gi = 0; gi < (l.bits === 8 ? 1 : groups); gi++) {
      const k0 = gi * g, k1 = l.bits === 8 ? K : k0 + g;
      let m = 0;
      for (let k = k0; k < k1; k++) if (Math.abs(row[k]!) > Math.abs(m)) m = row[k]!;
      const scale = m === 0 ? 0 : Math.fround(l.bits === 8 ? Math.abs(m) / 127 : m / -8);
      scales[l.bits === 8 ? n : n * groups + gi] = scale;
      for (let k = k0; k < k1; k++) {
        const lo = l.bits === 8 ? -127 : -8, hi = l.bits === 8 ? 127 : 7;
        const q = scale === 0 ? 0 : Math.min(hi, Math.max(lo, roundHalfAway(row[k]! / scale)));
        if (l.bits === 8) bytes[base + k] = q & 0xff;
        else bytes[base + (k >> 1)] |= (q + 8) << ((k & 1) * 4);
      }
    }
  }
  return { qweight, scales };
}

const bytesOf = (qweight: Int32Array) => new Uint8Array(qweight.buffer, qweight.byteOffset, qweight.byteLength);

/** q[n, k] from the bytes of qweight. */
function valueAt(bytes: Uint8Array, l: QuantLayout, words: number, n: number, k: number): number {
  const b = bytes[n * words * 4 + (l.bits === 8 ? k : k >> 1)]!;
  return l.bits === 8 ? (b << 24) >> 24 : ((b >> ((k & 1) * 4)) & 15) - 8;
}

/** The quantized value q[n, k] (tests and references; kernels read the words directly). */
export function quantValue(qweight: Int32Array, l: QuantLayout, n: number, k: number): number {
  return valueAt(bytesOf(qweight), l, rowWords(l), n, k);
}

/** W's approximation q · scale as float32 [N, K] (what the kernels compute with, never made by them). */
export function dequantizeWeight(qweight: Int32Array, scales: Float32Array, l: QuantLayout): Float32Array {
  const { N, K } = l, out = new Float32Array(N * K), groups = K / l.groupSize;
  const bytes = bytesOf(qweight), words = rowWords(l);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const s = l.bits === 8 ? scales[n]! : scales[n * groups + Math.floor(k / l.groupSize)]!;
      out[n * K + k] = valueAt(bytes, l, words, n, k) * s;
    }
  }
  return out;
}
