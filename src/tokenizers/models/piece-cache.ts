// A word → token cache keyed by a slice of a string, without creating the substring.
//
// Text is mostly the same few thousand words again and again, so caching each word's tokens
// turns BPE into a hash lookup. A Map<string, …> would need `text.slice(s, e)` for every word
// (an allocation, then a hash of it), and V8's sliced strings would keep the whole input alive
// from inside the cache. Here the hash is computed from the characters in place, keys are copied
// into a private pool, and values are small runs of int32 in another pool. It starts small, grows
// by doubling, and empties itself when full, so memory stays bounded on endless text.

export class PieceCache {
  private slots = new Int32Array(0); // entry index + 1 per slot; 0 = empty
  private mask = -1;
  private hashes = new Int32Array(0);
  private keyStart = new Int32Array(0);
  private keyLen = new Int32Array(0);
  private valStart = new Int32Array(0);
  private valLen = new Int32Array(0);
  private keys = new Uint16Array(0);
  private keysUsed = 0;
  private vals = new Int32Array(0);
  private valsUsed = 0;
  private count = 0;

  constructor(readonly maxEntries = 1 << 17) {}

  get size(): number { return this.count; }

  clear(): void {
    this.slots.fill(0);
    this.count = 0;
    this.keysUsed = 0;
    this.valsUsed = 0;
  }

  static hash(text: string, s: number, e: number): number {
    let h = 0x811c9dc5 ^ (e - s);
    for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 15);
  }

  /** The entry for text[s, e) (hash `h` from PieceCache.hash), or -1. */
  find(text: string, s: number, e: number, h: number): number {
    if (this.count === 0) return -1;
    const len = e - s;
    const keys = this.keys;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const k = this.slots[slot]! - 1;
      if (k < 0) return -1;
      if (this.hashes[k] !== h || this.keyLen[k] !== len) continue;
      const ks = this.keyStart[k]!;
      let i = 0;
      while (i < len && keys[ks + i] === text.charCodeAt(s + i)) i++;
      if (i === len) return k;
    }
  }

  /** Values of entry k live in values()[valueStart(k) .. + valueLength(k)). */
  values(): Int32Array { return this.vals; }
  valueStart(k: number): number { return this.valStart[k]!; }
  valueLength(k: number): number { return this.valLen[k]!; }

  /** Stores values[0, n) for text[s, e) (which must not be cached already). */
  add(text: string, s: number, e: number, h: number, values: ArrayLike<number>, n: number): void {
    const len = e - s;
    const maxKeys = this.maxEntries * 8;
    const maxVals = this.maxEntries * 4;
    if (this.maxEntries === 0 || len > maxKeys >> 4 || n > maxVals >> 4) return; // absurdly long words are not worth caching
    if (this.count >= this.hashes.length) {
      if (this.hashes.length >= this.maxEntries) this.clear();
      else this.growEntries();
    }
    if (this.keysUsed + len > this.keys.length) {
      if (this.keys.length >= maxKeys) this.clear();
      this.keys = grown(this.keys, this.keysUsed + len, maxKeys);
    }
    if (this.valsUsed + n > this.vals.length) {
      if (this.vals.length >= maxVals) this.clear();
      this.vals = grown(this.vals, this.valsUsed + n, maxVals);
    }
    const k = this.count++;
    this.hashes[k] = h;
    this.keyStart[k] = this.keysUsed;
    this.keyLen[k] = len;
    for (let i = 0; i < len; i++) this.keys[this.keysUsed + i] = text.charCodeAt(s + i);
    this.keysUsed += len;
    this.valStart[k] = this.valsUsed;
    this.valLen[k] = n;
    for (let i = 0; i < n; i++) this.vals[this.valsUsed + i] = values[i]!;
    this.valsUsed += n;
    this.insertSlot(k);
  }

  private insertSlot(k: number): void {
    let slot = this.hashes[k]! & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = k + 1;
  }

  private growEntries(): void {
    const cap = Math.min(this.maxEntries, Math.max(1024, this.hashes.length * 2));
    this.hashes = grown(this.hashes, cap, cap);
    this.keyStart = grown(this.keyStart, cap, cap);
    this.keyLen = grown(this.keyLen, cap, cap);
    this.valStart = grown(this.valStart, cap, cap);
    this.valLen = grown(this.valLen, cap, cap);
    this.slots = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
    for (let k = 0; k < this.count; k++) this.insertSlot(k);
  }
}

/** A copy of `a` with room for at least `need` elements (doubling, capped at `max`). */
function grown<T extends Int32Array | Uint16Array>(a: T, need: number, max: number): T {
  if (need <= a.length) return a;
  let cap = Math.max(1024, a.length);
  while (cap < need) cap *= 2;
  const out = new (a.constructor as new (n: number) => T)(Math.max(need, Math.min(cap, max)));
  out.set(a);
  return out;
}
