// RoPE's rotation frequencies and the ways long-context models rescale them, as HF's
// modeling_rope_utils computes inv_freq from config.json's rope_theta and rope_scaling:
//   default  θ_i = base^(-2i/d)
//   linear   θ_i / factor (position interpolation: positions squeezed by factor)
//   llama3   low frequencies (wavelength > original context / low_freq_factor) divided by factor,
//            high ones (wavelength < original context / high_freq_factor) kept, a smooth blend between.
// The attention scaling of these types is 1, so only the frequencies change.

/** config.json's rope_scaling (HF's key for the type is rope_type; older files say type). */
export interface RopeScaling {
  rope_type?: string;
  type?: string;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
  [key: string]: unknown;
}

export const ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

/** The type named by a rope_scaling object ('default' when there is none). */
export function ropeType(scaling: RopeScaling | null | undefined): string {
  return scaling ? String(scaling.rope_type ?? scaling.type ?? 'default') : 'default';
}

function field(s: RopeScaling, key: 'factor' | 'low_freq_factor' | 'high_freq_factor' | 'original_max_position_embeddings'): number {
  const v = s[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`rope_scaling (${ropeType(s)}): ${key} must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a rope_scaling object: a known type with the fields it needs. */
export function checkRopeScaling(s: RopeScaling | null | undefined): void {
  const t = ropeType(s);
  if (!(ROPE_TYPES as readonly string[]).includes(t)) throw new Error(`rope_scaling type '${t}' is not supported (supported: ${ROPE_TYPES.join(', ')})`);
  if (!s || t === 'default') return;
  field(s, 'factor');
  if (t === 'llama3') {
    const lo = field(s, 'low_freq_factor'), hi = field(s, 'high_freq_factor');
    field(s, 'original_max_position_embeddings');
    if (!(hi > lo)) throw new Error(`rope_scaling (llama3): high_freq_factor ${hi} must exceed low_freq_factor ${lo}`);
  }
}

/** The dim/2 rotation frequencies θ_i of RoPE over `dim` features. */
export function ropeInverseFrequencies(dim: number, base: number, scaling?: RopeScaling | null): Float64Array {
  checkRopeScaling(scaling);
  const half = dim / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => Math.pow(base, -(2 * i) / dim));
  const t = ropeType(scaling);
  if (t === 'default') return inv;
  const s = scaling!, factor = field(s, 'factor');
  if (t === 'linear') return inv.map((f) => f / factor);
  // llama3 (Llama 3.1): judged by wavelength against the context the model was trained on.
  const lo = field(s, 'low_freq_factor'), hi = field(s, 'high_freq_factor'), old = field(s, 'original_max_position_embeddings');
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < old / hi) return f;
    if (wavelen > old / lo) return f / factor;
    const smooth = (old / wavelen - lo) / (hi - lo);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}
