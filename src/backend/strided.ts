// Iteration over strided views: dims that are laid out back to back in every operand are merged,
// so that the common cases (contiguous tensors, a bias broadcast over rows) become one or two long
// inner loops instead of per-element index arithmetic.

export interface StridedPlan {
  /** Sizes of the merged dims, outermost first; the last is the inner loop. */
  dims: number[];
  /** strides[k][i]: stride of operand k along merged dim i. */
  strides: number[][];
}

export function planStrided(shape: readonly number[], strides: readonly (readonly number[])[]): StridedPlan {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    // Merge with the previous kept dim if every operand steps over this dim exactly as the previous.
    if (last >= 0 && strides.every((s, k) => out[k]![last] === s[i]! * d)) {
      dims[last]! *= d;
      strides.forEach((s, k) => { out[k]![last] = s[i]!; });
    } else {
      dims.push(d);
      strides.forEach((s, k) => out[k]!.push(s[i]!));
    }
  }
  if (dims.length === 0) { dims.push(1); out.forEach((s) => s.push(1)); }
  return { dims, strides: out };
}

/**
 * Calls inner(offsets, n, innerStrides) once per inner row. offsets[k] is where operand k's row
 * starts (base offsets included).
 */
export function forEachRow(plan: StridedPlan, bases: readonly number[],
                           inner: (offsets: number[], n: number, strides: number[]) => void): void {
  const { dims, strides } = plan;
  const nd = dims.length;
  const n = dims[nd - 1]!;
  const innerStrides = strides.map((s) => s[nd - 1]!);
  const offsets = bases.slice();
  if (nd === 1) { inner(offsets, n, innerStrides); return; }
  const counter = new Array<number>(nd - 1).fill(0);
  const k = offsets.length;
  for (;;) {
    inner(offsets, n, innerStrides); // inner must not mutate offsets
    // Advance the odometer over the outer dims.
    let d = nd - 2;
    for (; d >= 0; d--) {
      counter[d]!++;
      for (let j = 0; j < k; j++) offsets[j]! += strides[j]![d]!;
      if (counter[d]! < dims[d]!) break;
      for (let j = 0; j < k; j++) offsets[j]! -= strides[j]![d]! * dims[d]!;
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}
