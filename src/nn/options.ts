// Constructor arguments of layers: torch's positional form (MultiheadAttention(embed_dim, num_heads))
// or tlm's options object, checked so that a wrong call names the argument and what was expected
// instead of failing later on "embedDim undefined".

/** opts as given, or built from torch's positional arguments (names in order). */
export function layerOptions<T extends object>(layer: string, first: T | number | undefined, rest: unknown[], positional: readonly (keyof T)[]): T {
  if (typeof first === 'number') {
    const o: Record<string, unknown> = {};
    [first, ...rest].forEach((v, i) => {
      if (i >= positional.length) throw new Error(`${layer}: takes at most ${positional.length} positional arguments (${positional.join(', ')}), got ${rest.length + 1}; pass the rest in an options object`);
      if (v !== undefined) o[positional[i] as string] = v;
    });
    return o as T;
  }
  if (first === null || typeof first !== 'object') {
    throw new Error(`${layer}: expects an options object { ${positional.join(', ')}, ... } or ${positional.join(', ')} as numbers, got ${first === null ? 'null' : typeof first}`);
  }
  return first;
}

/** Throws unless every named value is a positive integer. */
export function requirePositiveInts(layer: string, values: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`${layer}: ${name} must be a positive integer, got ${v === undefined ? 'nothing (missing)' : JSON.stringify(v)}`);
    }
  }
}
