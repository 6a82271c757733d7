// The result of encoding: ids plus everything a model or a task needs to line tokens up with text.

export type Offsets = [number, number];

export interface PaddingOptions {
  /** 'longest': pad a batch to its longest encoding; 'max_length': pad to `length`. */
  strategy?: 'longest' | 'max_length';
  length?: number;
  direction?: 'right' | 'left';
  padToMultipleOf?: number | null;
  padId?: number;
  padTypeId?: number;
  padToken?: string;
}

export interface TruncationOptions {
  maxLength: number;
  /** Which sequence of a pair loses tokens: the longer one token by token, or only one of them. */
  strategy?: 'longest_first' | 'only_first' | 'only_second';
  /** 'right' drops tokens at the end, 'left' at the start. */
  direction?: 'right' | 'left';
  /**
   * Tokens shared by consecutive windows of a truncated sequence (HF `stride`): the tokens cut
   * off come back in `Encoding.overflowing`, each window repeating the last `stride` tokens of
   * the one before. Must be smaller than the window. Default 0.
   */
  stride?: number;
}

export class Encoding {
  ids: number[] = [];
  tokens: string[] = [];
  /** Segment ids: 0 for the first sequence, 1 for the pair (as the post-processor assigns). */
  typeIds: number[] = [];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[] = [];
  /** [start, end) of each token in its input string, in UTF-16 units; [0, 0] for added specials. */
  offsets: Offsets[] = [];
  /** 1 for tokens inserted by the post-processor or padding. */
  specialTokensMask: number[] = [];
  /** Index of the pre-tokenized word each token comes from; null for specials and padding. */
  wordIds: (number | null)[] = [];
  /** 0 or 1: which input a token comes from; null for specials and padding. */
  sequenceIds: (number | null)[] = [];
  /**
   * The other windows of a truncated input (HF `overflowing`), in HF's order, each a complete
   * encoding with its own special tokens; their own `overflowing` is empty.
   */
  overflowing: Encoding[] = [];

  get length(): number { return this.ids.length; }

  /** All tokens of `parts`, in order. */
  static concat(parts: Encoding[]): Encoding {
    if (parts.length === 1) return parts[0]!;
    const out = new Encoding();
    for (const key of KEYS) {
      const dst = out[key] as unknown[];
      for (const p of parts) for (const v of p[key] as unknown[]) dst.push(v); // no spread: inputs can be huge
    }
    return out;
  }

  /** Tokens [start, stop) as a new encoding (offsets copied: post-processors edit them in place). */
  slice(start: number, stop: number): Encoding {
    const out = new Encoding();
    for (const key of KEYS) {
      const a = this[key] as unknown[];
      if (a.length === 0) continue; // ids-only encodings leave the other fields empty
      (out[key] as unknown[]) = key === 'offsets' ? this.offsets.slice(start, stop).map(([s, e]) => [s, e]) : a.slice(start, stop);
    }
    return out;
  }

  clone(): Encoding { return this.slice(0, this.length); }

  /**
   * Keeps `maxLength` tokens, dropping from the end ('right') or the start ('left'), as HF's
   * Encoding::truncate: what is dropped becomes `overflowing` windows of up to `maxLength` tokens,
   * each starting `maxLength - stride` tokens after the one before (before, for 'left'), so that
   * consecutive windows share `stride` tokens and together cover every token.
   */
  truncate(maxLength: number, direction: 'right' | 'left' = 'right', stride = 0): void {
    const n = this.ids.length;
    if (n <= maxLength) return;
    if (maxLength === 0) {
      this.overflowing = [this.slice(0, n)];
      for (const key of KEYS) (this[key] as unknown[]).length = 0;
      return;
    }
    if (!Number.isInteger(stride) || stride < 0 || stride >= maxLength) {
      throw new RangeError(`truncate: stride must be an integer in [0, ${maxLength}) (smaller than the window), got ${stride}`);
    }
    const step = maxLength - stride;
    const ranges: [number, number][] = [];
    if (direction === 'right') {
      for (let start = 0; ; start += step) {
        const stop = Math.min(start + maxLength, n);
        ranges.push([start, stop]);
        if (stop === n) break;
      }
    } else {
      for (let stop = n; ; stop -= step) {
        const start = Math.max(0, stop - maxLength);
        ranges.push([start, stop]);
        if (start === 0) break;
      }
    }
    const windows = ranges.map(([start, stop]) => this.slice(start, stop));
    const head = windows[0]!;
    for (const key of KEYS) (this[key] as unknown[]) = head[key] as unknown[];
    this.overflowing = windows.slice(1);
  }

  /** Pads to `length` tokens with the pad token (attention 0, special 1), the overflowing windows too. */
  pad(length: number, opts: Required<Pick<PaddingOptions, 'padId' | 'padTypeId' | 'padToken' | 'direction'>>): void {
    for (const o of this.overflowing) o.pad(length, opts);
    const n = length - this.ids.length;
    if (n <= 0) return;
    const padded = <T>(a: T[], make: () => T): T[] => {
      const pad = Array.from({ length: n }, make);
      return opts.direction === 'right' ? a.concat(pad) : pad.concat(a);
    };
    const full = this.tokens.length === this.ids.length; // ids-only encodings carry nothing else
    this.ids = padded(this.ids, () => opts.padId);
    if (!full) return;
    this.attentionMask = padded(this.attentionMask, () => 0);
    this.typeIds = padded(this.typeIds, () => opts.padTypeId);
    this.tokens = padded(this.tokens, () => opts.padToken);
    this.offsets = padded<Offsets>(this.offsets, () => [0, 0]);
    this.specialTokensMask = padded(this.specialTokensMask, () => 1);
    this.wordIds = padded<number | null>(this.wordIds, () => null);
    this.sequenceIds = padded<number | null>(this.sequenceIds, () => null);
  }

  /** Sets every type id to `typeId` and every sequence id to `sequenceId` (non-special tokens). */
  setSequence(typeId: number, sequenceId: number): void {
    this.typeIds.fill(typeId);
    for (let i = 0; i < this.sequenceIds.length; i++) this.sequenceIds[i] = sequenceId;
  }
}

const KEYS = ['ids', 'tokens', 'typeIds', 'attentionMask', 'offsets', 'specialTokensMask', 'wordIds', 'sequenceIds'] as const;
