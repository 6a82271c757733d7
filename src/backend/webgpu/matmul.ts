// Batched matmul out[b] = a[b] @ c[b] for strided a [B,M,K], c [B,K,N] (batch stride 0 broadcasts)
// into a contiguous out [B,M,N]; matmulBias adds a bias [N] to each row as the tile is stored.
//
// Each workgroup of 16×16 threads computes a BM×BN output tile. Per step of BK along K it stages a
// BM×BK tile of a (stored k-major) and a BK×BN tile of c in workgroup memory, then each thread
// accumulates a (BM/16)×(BN/16) register tile. A thread owns rows ty + 16·i and columns tx + 16·j,
// so neighbouring threads read neighbouring words of workgroup memory and write neighbouring
// columns. Two tilings: 64×64 tiles of 4×4 per thread (BK 16) for small products, and 128×128
// tiles of 8×8 per thread (BK 8) for large ones, where each value staged in workgroup memory feeds
// twice the arithmetic (the usual register blocking of SGEMM). Loads go through the strides, so
// transposed views (x.mT) are multiplied without a copy; tiles that overhang M, N or K are padded
// with zeros.

import type { Backend, TensorInfo } from '../backend.js';
import { metaWgsl, type GpuStorage, type WebGPUBackend } from './backend.js';

interface Tiling { name: string; BM: number; BN: number; BK: number }
const T = 16; // T×T threads
const THREADS = T * T;
const SMALL: Tiling = { name: '64', BM: 64, BN: 64, BK: 16 };
const LARGE: Tiling = { name: '128', BM: 128, BN: 128, BK: 8 };
/** The large tiling once both output sides span two of its tiles (enough workgroups to fill a GPU at 4096²). */
const tilingFor = (M: number, N: number): Tiling => (M >= 2 * LARGE.BM && N >= 2 * LARGE.BN ? LARGE : SMALL);

const META_WORDS = 14;

/** The shader; with `bias`, a bias [N] (binding 3) is added to each row as the tile is stored (matmulBias). */
const matmulWgsl = (bias: boolean, { BM, BN, BK }: Tiling) => {
  const TM = BM / T, TN = BN / T;
  return `@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<f32>;\n' : ''}${metaWgsl(bias ? 4 : 3, META_WORDS)}
// meta: M N K | a: offset, batch, row, col strides | c: offset, batch, row, col strides | out offset | first batch | bias offset
var<workgroup> As: array<f32, ${BK * BM}>; // [k][m]
var<workgroup> Bs: array<f32, ${BK * BN}>; // [k][n]

@compute @workgroup_size(${T}, ${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let M_ = M(0u); let N_ = M(1u); let K_ = M(2u);
  let batch = wid.z + M(12u);
  let aBase = M(3u) + batch * M(4u); let aSM = M(5u); let aSK = M(6u);
  let bBase = M(7u) + batch * M(8u); let bSK = M(9u); let bSN = M(10u);
  let m0 = wid.y * ${BM}u; let n0 = wid.x * ${BN}u;
  var acc: array<array<f32, ${TN}>, ${TM}>;
  for (var k0 = 0u; k0 < K_; k0 += ${BK}u) {
    for (var e = tid; e < ${BK * BM}u; e += ${THREADS}u) {
      // a tile: consecutive threads walk k, the fast dim of a row-major a.
      let r = e / ${BK}u; let kk = e % ${BK}u;
      let gm = m0 + r; let gk = k0 + kk;
      var v = 0.0;
      if (gm < M_ && gk < K_) { v = A[aBase + gm * aSM + gk * aSK]; }
      As[kk * ${BM}u + r] = v;
    }
    for (var e = tid; e < ${BK * BN}u; e += ${THREADS}u) {
      let kk = e / ${BN}u; let c = e % ${BN}u;
      let gk = k0 + kk; let gn = n0 + c;
      var v = 0.0;
      if (gk < K_ && gn < N_) { v = B[bBase + gk * bSK + gn * bSN]; }
      Bs[e] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      var av: array<f32, ${TM}>;
      var bv: array<f32, ${TN}>;
      for (var i = 0u; i < ${TM}u; i++) { av[i] = As[kk * ${BM}u + lid.y + i * ${T}u]; }
      for (var j = 0u; j < ${TN}u; j++) { bv[j] = Bs[kk * ${BN}u + lid.x + j * ${T}u]; }
      for (var i = 0u; i < ${TM}u; i++) {
        for (var j = 0u; j < ${TN}u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  let oBase = M(11u) + batch * M_ * N_;
  for (var i = 0u; i < ${TM}u; i++) {
    let gm = m0 + lid.y + i * ${T}u;
    if (gm >= M_) { break; }
    for (var j = 0u; j < ${TN}u; j++) {
      let gn = n0 + lid.x + j * ${T}u;
      if (gn < N_) { O[oBase + gm * N_ + gn] = acc[i][j]${bias ? ' + BIAS[M(13u) + gn]' : ''}; }
    }
  }
}
`;
};

export function matmul(b: Backend, a: TensorInfo, c: TensorInfo, out: TensorInfo): void {
  run(b, a, c, null, out);
}

/** matmul with bias [N] (contiguous) added to every row in the same pass. */
export function matmulBias(b: Backend, a: TensorInfo, c: TensorInfo, bias: TensorInfo, out: TensorInfo): void {
  run(b, a, c, bias, out);
}

function run(b: Backend, a: TensorInfo, c: TensorInfo, bias: TensorInfo | null, out: TensorInfo): void {
  const gb = b as WebGPUBackend;
  const [B, M, K] = a.shape as [number, number, number];
  const N = c.shape[2]!;
  const tiling = tilingFor(M, N);
  const [asb, asm, ask] = a.strides as [number, number, number];
  const [csb, csk, csn] = c.strides as [number, number, number];
  const buffers = [a, c, out, ...(bias ? [bias] : [])].map((t) => (t.storage as GpuStorage).buffer);
  // The batch rides on grid z, at most 65535 per dispatch: larger batches take several dispatches.
  const maxZ = gb.limits.maxComputeWorkgroupsPerDimension;
  for (let b0 = 0; b0 < B; b0 += maxZ) {
    const nb = Math.min(maxZ, B - b0);
    const meta = Uint32Array.of(M, N, K, a.offset, asb, asm, ask, c.offset, csb, csk, csn, out.offset, b0, bias?.offset ?? 0);
    gb.dispatch(`${bias ? 'matmulBias' : 'matmul'}${tiling.name}`, () => matmulWgsl(!!bias, tiling), buffers, meta,
      [Math.ceil(N / tiling.BN), Math.ceil(M / tiling.BM), nb]);
  }
}
