// The lattice of every segmentation of one word under a Unigram model, as HF's unigram/lattice.rs
// builds it for training: Viterbi (best path), forward-backward marginals (the E step) and the
// second-best path (pruning asks how a piece would be spelled without itself).
//
// Node 0 is BOS (ends at 0), node 1 is EOS (starts at the end); the others are pieces, inserted
// position by position, shortest first, so the order of `ends[pos]` — which breaks ties — is HF's.

import type { Unigram } from '../models/unigram.js';
import { UNK_PENALTY } from '../models/unigram.js';
import { PieceTrie } from '../models/piece-trie.js';

/** log(exp(x) + exp(y)), with HF's shortcut when they are far apart; `init` returns y. */
function logSumExp(x: number, y: number, init: boolean): number {
  if (init) return y;
  const hi = Math.max(x, y);
  const lo = Math.min(x, y);
  return hi > lo + 50 ? hi : hi + Math.log(Math.exp(lo - hi) + 1);
}

/** A Unigram vocabulary prepared for training lattices (the trainer rebuilds it every step). */
export class LatticeModel {
  readonly trie = new PieceTrie();
  readonly unkScore: number;
  constructor(readonly pieces: [string, number][], readonly unkId = 0) {
    let min = Infinity;
    pieces.forEach(([p, s], id) => { this.trie.add(p, id); if (s < min) min = s; });
    this.unkScore = min - UNK_PENALTY;
  }
  static of(model: Unigram): LatticeModel { return new LatticeModel(model.pieces, model.unkId ?? 0); }
}

export class Lattice {
  readonly ids: number[] = [];
  readonly pos: number[] = [];
  readonly len: number[] = [];
  readonly score: number[] = [];
  readonly begins: number[][];
  readonly ends: number[][];
  /** Positions where a character starts, then the end (Viterbi and the marginals walk these). */
  readonly positions: number[] = [];

  constructor(readonly text: string, model: LatticeModel) {
    const n = text.length;
    this.begins = Array.from({ length: n + 1 }, () => []);
    this.ends = Array.from({ length: n + 1 }, () => []);
    this.add(-1, 0, 0, 0); // BOS
    this.add(-2, n, 0, 0); // EOS
    this.ends[0]!.push(0);
    this.begins[n]!.push(1);
    for (let start = 0; start < n;) {
      this.positions.push(start);
      const charLen = text.codePointAt(start)! > 0xffff ? 2 : 1;
      let single = false;
      model.trie.prefixes(text, start, (length, id) => {
        this.insert(start, length, model.pieces[id]![1], id);
        if (length === charLen) single = true;
      });
      if (!single) this.insert(start, charLen, model.unkScore, model.unkId);
      start += charLen;
    }
    this.positions.push(n);
  }

  private add(id: number, pos: number, len: number, score: number): number {
    this.ids.push(id); this.pos.push(pos); this.len.push(len); this.score.push(score);
    return this.ids.length - 1;
  }

  insert(pos: number, len: number, score: number, id: number): void {
    const node = this.add(id, pos, len, score);
    this.begins[pos]!.push(node);
    this.ends[pos + len]!.push(node);
  }

  /**
   * The best path's nodes (BOS and EOS left out), ties to the first left node as in HF; `skip`
   * is a node to leave out (for the second-best path). [] when no path exists.
   */
  viterbi(skip = -1): number[] {
    const back = new Float64Array(this.ids.length);
    const prev = new Int32Array(this.ids.length).fill(-1);
    const reach = new Uint8Array(this.ids.length);
    reach[0] = 1;
    for (const p of this.positions) {
      const begins = this.begins[p]!;
      if (begins.length === 0) return [];
      for (const r of begins) {
        if (r === skip) continue;
        let best = -1;
        let bestScore = 0;
        for (const l of this.ends[p]!) {
          if (l === skip || reach[l] === 0) continue;
          const s = back[l]! + this.score[r]!;
          if (best < 0 || s > bestScore) { best = l; bestScore = s; }
        }
        if (best < 0) continue;
        prev[r] = best; back[r] = bestScore; reach[r] = 1;
      }
    }
    if (reach[1] === 0) return [];
    const path: number[] = [];
    for (let node = prev[1]!; node > 0; node = prev[node]!) path.push(node);
    return path.reverse();
  }

  /** How many segmentations there are, counted up to `cap`. */
  countPaths(cap = 2): number {
    const paths = new Float64Array(this.ids.length);
    paths[0] = 1;
    for (const p of this.positions) {
      let into = 0;
      for (const l of this.ends[p]!) into += paths[l]!;
      for (const r of this.begins[p]!) paths[r] = Math.min(cap, into);
    }
    return paths[1]!;
  }

  /**
   * HF's nbest(2) as pruning uses it: [] when no path, [best] when it is the only one, else
   * [best, second]; the second is only spelled out when the best is a single piece (the only
   * case where pruning reads it), as the best path that avoids that piece.
   */
  twoBest(): number[][] {
    const best = this.viterbi();
    if (best.length === 0) return [];
    if (this.countPaths() < 2) return [best];
    return [best, best.length === 1 ? this.viterbi(best[0]!) : []];
  }

  /** Adds freq × marginal probability of each piece to `expected`; returns freq × log Z. */
  populateMarginal(freq: number, expected: Float64Array): number {
    const count = this.ids.length;
    const alpha = new Float64Array(count);
    const beta = new Float64Array(count);
    // HF seeds each sum when the left (right) node has the same vocabulary id as the first one
    // of its list — in practice the first node.
    for (const p of this.positions) {
      const ends = this.ends[p]!;
      for (const r of this.begins[p]!) {
        for (const l of ends) alpha[r] = logSumExp(alpha[r]!, this.score[l]! + alpha[l]!, this.ids[l] === this.ids[ends[0]!]);
      }
    }
    for (let k = this.positions.length - 1; k >= 0; k--) {
      const p = this.positions[k]!;
      const begins = this.begins[p]!;
      for (const l of this.ends[p]!) {
        for (const r of begins) beta[l] = logSumExp(beta[l]!, this.score[r]! + beta[r]!, this.ids[r] === this.ids[begins[0]!]);
      }
    }
    const z = alpha[1]!;
    for (const p of this.positions) {
      if (p === this.text.length) break;
      for (const node of this.begins[p]!) expected[this.ids[node]!] += freq * Math.exp(alpha[node]! + this.score[node]! + beta[node]! - z);
    }
    return freq * z;
  }
}
