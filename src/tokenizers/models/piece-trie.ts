// A trie over the UTF-16 units of a Unigram vocabulary: from a position in a word, every piece
// that starts there is found in one walk, shortest first (HF's Trie::common_prefix_search order).
// Children live in one Map keyed by node * 65536 + code unit, ids in a flat array.

export class PieceTrie {
  private readonly children = new Map<number, number>();
  /** Piece id ending at each node, -1 where none does. Node 0 is the root. */
  private ids: number[] = [-1];

  /** Adds `piece` with `id`; a later duplicate wins, as in HF's token → id map. */
  add(piece: string, id: number): void {
    let node = 0;
    for (let i = 0; i < piece.length; i++) {
      const key = node * 65536 + piece.charCodeAt(i);
      let next = this.children.get(key);
      if (next === undefined) { next = this.ids.length; this.ids.push(-1); this.children.set(key, next); }
      node = next;
    }
    if (node !== 0) this.ids[node] = id;
  }

  /** Calls `found(length, id)` for each piece that text[start…] begins with, shortest first. */
  prefixes(text: string, start: number, found: (length: number, id: number) => void): void {
    let node = 0;
    for (let i = start; i < text.length; i++) {
      const next = this.children.get(node * 65536 + text.charCodeAt(i));
      if (next === undefined) return;
      node = next;
      const id = this.ids[node]!;
      if (id >= 0) found(i + 1 - start, id);
    }
  }
}
