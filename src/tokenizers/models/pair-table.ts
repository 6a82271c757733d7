// The BPE merge table: (left id, right id) → (rank, merged id), as an open-addressing hash table
// over typed arrays. It is read once per adjacent pair in every word the encoder has not seen
// before, so it avoids Map's boxing of large composite keys.

export class PairTable {
  private left: Int32Array;
  private right: Int32Array;
  private ranks: Int32Array;
  private merged: Int32Array;
  private mask: number;
  private used = 0;

  constructor(expected = 16) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, expected * 2)));
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number { return this.used; }

  private slotOf(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca6b);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** Slot of the pair, or -1 when (a, b) is not a merge. */
  find(a: number, b: number): number {
    for (let s = this.slotOf(a, b); ; s = (s + 1) & this.mask) {
      const l = this.left[s]!;
      if (l === -1) return -1;
      if (l === a && this.right[s] === b) return s;
    }
  }

  rankAt(slot: number): number { return this.ranks[slot]!; }
  mergedAt(slot: number): number { return this.merged[slot]!; }

  /** Adds or replaces the merge of (a, b). */
  set(a: number, b: number, rank: number, merged: number): void {
    if ((this.used + 1) * 2 > this.left.length) this.grow();
    let s = this.slotOf(a, b);
    while (this.left[s] !== -1 && !(this.left[s] === a && this.right[s] === b)) s = (s + 1) & this.mask;
    if (this.left[s] === -1) this.used++;
    this.left[s] = a; this.right[s] = b; this.ranks[s] = rank; this.merged[s] = merged;
  }

  private grow(): void {
    const { left, right, ranks, merged } = this;
    const cap = left.length * 2;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.mask = cap - 1;
    this.used = 0;
    for (let s = 0; s < left.length; s++) if (left[s] !== -1) this.set(left[s]!, right[s]!, ranks[s]!, merged[s]!);
  }
}
