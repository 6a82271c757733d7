// A seedable random generator (xoshiro128**, seeded through splitmix32). Numbers are drawn on the
// host and uploaded, so the same seed gives the same tensors on every backend and every run.

export class Generator {
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    let x = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    this.spare = null;
    return this;
  }

  /** The generator's full state, for checkpoints. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spare ?? NaN];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 5) throw new Error(`Generator.setState: expected 5 numbers, got ${state.length}`);
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
    this.spare = Number.isNaN(state[4]) ? null : state[4]!;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 bits, exactly representable in float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return s; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills out with uniform [a, b) draws: the same numbers as calling uniform() in a loop, faster. */
  fillUniform(out: Float32Array, a = 0, b = 1): Float32Array {
    const span = b - a;
    for (let i = 0; i < out.length; i++) out[i] = a + span * ((this.nextUint32() >>> 8) / 16777216);
    return out;
  }

  /** Fills out with normal(mean, std) draws: the same numbers as calling normal() in a loop, faster. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    let i = 0;
    if (this.spare !== null && out.length > 0) { out[i++] = mean + std * this.spare; this.spare = null; }
    const TWO_PI = 2 * Math.PI;
    for (; i < out.length; i += 2) {
      let u = 0;
      while (u === 0) u = (this.nextUint32() >>> 8) / 16777216;
      const v = (this.nextUint32() >>> 8) / 16777216;
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = mean + std * r * Math.cos(TWO_PI * v);
      const second = r * Math.sin(TWO_PI * v);
      if (i + 1 < out.length) out[i + 1] = mean + std * second;
      else this.spare = second;
    }
    return out;
  }

  /** Integer in [low, high). */
  int(low: number, high: number): number {
    const span = high - low;
    if (span <= 0) throw new Error(`randint: empty range [${low}, ${high})`);
    return low + Math.floor(this.uniform() * span) % span;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator, as torch.manual_seed seeds. */
export const defaultGenerator = new Generator(0);

export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
