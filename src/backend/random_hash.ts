// A counter-based random generator for kernels: the i-th number of a stream keyed by (key0, key1)
// is a hash of (i, keys), so any thread can draw any element, in any order, on any backend, and get
// the same bits (the property Philox gives torch's CUDA dropout). The hash is Chris Wellons'
// lowbias32 (a 32-bit integer finalizer with good avalanche), applied twice: written with 32-bit
// integer arithmetic only, so that WGSL (dropout.ts there) and JavaScript (Math.imul) agree exactly.

/** lowbias32: a well-mixing bijection of u32. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The i-th u32 of the stream keyed by (key0, key1). */
export function counterHash(i: number, key0: number, key1: number): number {
  return mix32((mix32((i + key0) >>> 0) ^ key1) >>> 0);
}

/** The i-th uniform in [0, 1), 24 bits (exact in float32). */
export function counterUniform(i: number, key0: number, key1: number): number {
  return (counterHash(i, key0, key1) >>> 8) / 16777216;
}

/** The same hash in WGSL, for kernels to include. */
export const COUNTER_HASH_WGSL = `fn mix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
fn counter_hash(i: u32, k0: u32, k1: u32) -> u32 { return mix32(mix32(i + k0) ^ k1); }
`;
