// Text that remembers where each of its UTF-16 units came from in the original input.
//
// Normalizers change text (lowercase, strip accents, insert spaces around CJK characters) and
// pre-tokenizers cut it up and rewrite it (byte-level characters); token offsets must still point
// into the string the user passed. Each unit of an AlignedText carries the original [start, end)
// it stands for. Untouched text skips the arrays: unit i is original unit base + i.
//
// Offsets are UTF-16 code-unit indices into the original string, so `input.slice(start, end)`
// gives a token's source text. (HF's Python binding reports code-point indices; the two agree
// outside the astral planes.)

export class AlignedText {
  constructor(
    readonly text: string,
    /** Original start of each unit, from index `base`; null: identity (base + i). */
    readonly starts: Int32Array | null = null,
    /** Original end of each unit, from index `base`; null: identity (base + i + 1). */
    readonly ends: Int32Array | null = null,
    /** Identity text: its original position. Aligned text: where its units start in the arrays. */
    readonly base = 0,
  ) {}

  get length(): number { return this.text.length; }

  startOf(i: number): number { return this.starts === null ? this.base + i : this.starts[this.base + i]!; }
  endOf(i: number): number { return this.ends === null ? this.base + i + 1 : this.ends[this.base + i]!; }

  /** Original span of units [a, b); an empty span sits where unit a starts. */
  span(a: number, b: number): [number, number] {
    if (a >= b) {
      const at = a < this.text.length ? this.startOf(a) : this.text.length > 0 ? this.endOf(this.text.length - 1) : this.base;
      return [at, at];
    }
    return [this.startOf(a), this.endOf(b - 1)];
  }

  /** Units [a, b), sharing the alignment arrays (a slice costs one substring and one object). */
  slice(a: number, b: number): AlignedText {
    if (a === 0 && b === this.text.length) return this;
    return new AlignedText(this.text.slice(a, b), this.starts, this.ends, this.base + a);
  }

  /**
   * Rewrites the text one code point at a time: `map` returns the replacement (a string, '' to
   * delete) or undefined to keep the character. Each output unit inherits the span of the code
   * point it came from.
   */
  mapChars(map: (cp: number) => string | undefined): AlignedText {
    let b: AlignedBuilder | null = null; // created at the first change
    const text = this.text;
    let kept = 0; // start of the run of unchanged units not yet copied
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      const rep = map(cp);
      if (rep !== undefined) {
        b ??= new AlignedBuilder(text.length);
        if (kept < i) b.pushUnits(text, kept, i, this);
        b.push(rep, this.startOf(i), this.endOf(i + w - 1));
        kept = i + w;
      }
      i += w;
    }
    if (b === null) return this;
    if (kept < text.length) b.pushUnits(text, kept, text.length, this);
    return b.build();
  }
}

/** Collects output text with the original span of every unit. */
export class AlignedBuilder {
  private parts: string[] = [];
  private starts: Int32Array;
  private ends: Int32Array;
  private n = 0;

  constructor(capacity = 16) {
    this.starts = new Int32Array(Math.max(16, capacity));
    this.ends = new Int32Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    if (this.n + extra <= this.starts.length) return;
    const cap = Math.max(this.starts.length * 2, this.n + extra);
    const s = new Int32Array(cap); s.set(this.starts.subarray(0, this.n)); this.starts = s;
    const e = new Int32Array(cap); e.set(this.ends.subarray(0, this.n)); this.ends = e;
  }

  /** Appends `str`, every unit of which stands for the original span [start, end). */
  push(str: string, start: number, end: number): void {
    this.reserve(str.length);
    for (let k = 0; k < str.length; k++) { this.starts[this.n] = start; this.ends[this.n] = end; this.n++; }
    this.parts.push(str);
  }

  /** Appends units [a, b) of `src` unchanged, keeping their spans. */
  pushUnits(srcText: string, a: number, b: number, src: AlignedText): void {
    this.reserve(b - a);
    if (src.starts === null) {
      for (let i = a; i < b; i++) { this.starts[this.n] = src.base + i; this.ends[this.n] = src.base + i + 1; this.n++; }
    } else {
      this.starts.set(src.starts.subarray(src.base + a, src.base + b), this.n);
      this.ends.set(src.ends!.subarray(src.base + a, src.base + b), this.n);
      this.n += b - a;
    }
    this.parts.push(a === 0 && b === srcText.length ? srcText : srcText.slice(a, b));
  }

  build(): AlignedText {
    return new AlignedText(this.parts.join(''), this.starts.slice(0, this.n), this.ends.slice(0, this.n), 0);
  }
}
