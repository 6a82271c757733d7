// The Unigram trainer, following HF's UnigramTrainer (itself SentencePiece's):
//   1. seed pieces: all characters and the frequent repeated substrings (unigram-seeds.ts);
//   2. EM: the E step sums each piece's expected count over all segmentations of every word
//      (forward-backward on the lattice), the M step turns counts into scores with the
//      Bayesian (digamma) update, dropping pieces expected fewer than 0.5 times;
//   3. after `nSubIterations` EM steps, prune: drop the pieces whose removal costs the least
//      likelihood (each re-spelled by its second-best segmentation), keeping
//      max(shrinkingFactor × size, 1.1 × vocabSize); repeat until the size is within 1.1 × vocabSize;
//   4. finalize: every character, then the best pieces up to vocabSize, by score; special tokens
//      (and the unknown token) first with score 0.
// Deterministic where HF is not: required characters go in first-seen order (HF: hash order).

import { Unigram } from '../models/unigram.js';
import type { TokenModel } from '../models/model.js';
import { Lattice, LatticeModel } from './unigram-lattice.js';
import { seedPieces } from './unigram-seeds.js';
import type { Trainer, TrainProgress } from './trainer.js';

export interface UnigramTrainerOptions {
  /** Final vocabulary size, special tokens included. Default 8000. */
  vocabSize?: number;
  /** EM steps between prunings. Default 2. */
  nSubIterations?: number;
  /** Share of pieces kept by each pruning. Default 0.75. */
  shrinkingFactor?: number;
  specialTokens?: string[];
  /** Characters always in the vocabulary. */
  initialAlphabet?: string[];
  /** The unknown token: put first unless it is one of the special tokens. Default none. */
  unkToken?: string | null;
  /** Longest piece, in characters. Default 16. */
  maxPieceLength?: number;
  /** Most seed pieces. Default 1,000,000. */
  seedSize?: number;
  onProgress?: (p: TrainProgress) => void;
}

/** ψ(x), as HF computes it (recurrence up to 7, then the asymptotic series). */
export function digamma(x: number): number {
  let result = 0;
  while (x < 7) { result -= 1 / x; x += 1; }
  x -= 0.5;
  const xx = 1 / x;
  const xx2 = xx * xx;
  const xx4 = xx2 * xx2;
  return result + Math.log(x) + xx2 / 24 - (7 / 960) * xx4 + (31 / 8064) * xx4 * xx2 - (127 / 30720) * xx4 * xx4;
}

type Piece = [string, number];

export class UnigramTrainer implements Trainer {
  readonly opts: Required<Omit<UnigramTrainerOptions, 'onProgress'>> & Pick<UnigramTrainerOptions, 'onProgress'>;

  constructor(opts: UnigramTrainerOptions = {}) {
    this.opts = {
      vocabSize: opts.vocabSize ?? 8000, nSubIterations: opts.nSubIterations ?? 2, shrinkingFactor: opts.shrinkingFactor ?? 0.75,
      specialTokens: opts.specialTokens ?? [], initialAlphabet: opts.initialAlphabet ?? [], unkToken: opts.unkToken ?? null,
      maxPieceLength: opts.maxPieceLength ?? 16, seedSize: opts.seedSize ?? 1_000_000, onProgress: opts.onProgress,
    };
    const { vocabSize, shrinkingFactor, nSubIterations, maxPieceLength } = this.opts;
    if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new RangeError(`UnigramTrainer: vocabSize must be a positive integer, got ${vocabSize}`);
    if (!(shrinkingFactor > 0 && shrinkingFactor < 1)) throw new RangeError(`UnigramTrainer: shrinkingFactor must be in (0, 1), got ${shrinkingFactor}`);
    if (!Number.isInteger(nSubIterations) || nSubIterations < 1) throw new RangeError(`UnigramTrainer: nSubIterations must be a positive integer, got ${nSubIterations}`);
    if (!Number.isInteger(maxPieceLength) || maxPieceLength < 1) throw new RangeError(`UnigramTrainer: maxPieceLength must be a positive integer, got ${maxPieceLength}`);
  }

  train(wordCounts: Map<string, number>): { model: TokenModel; specialTokens: string[] } {
    return { model: this.trainModel(wordCounts), specialTokens: this.opts.specialTokens };
  }

  trainModel(wordCounts: Map<string, number>): Unigram {
    const { vocabSize, nSubIterations, onProgress } = this.opts;
    const words = [...wordCounts];
    const required = new Set<string>();
    for (const [w] of words) for (const ch of w) required.add(ch);
    for (const ch of this.opts.initialAlphabet) required.add(ch);
    if (required.size > vocabSize) throw new RangeError(`UnigramTrainer: vocabSize ${vocabSize} cannot hold the ${required.size} characters of the corpus`);

    // The training unknown piece is always id 0, whatever the final unk token.
    let pieces: Piece[] = [['<UNK>', NaN], ...seedPieces(words, this.opts.maxPieceLength, this.opts.seedSize)];
    const desired = Math.floor((vocabSize * 11) / 10);
    let model = new LatticeModel(pieces);
    for (let round = 1; ; round++) {
      for (let it = 0; it < nSubIterations; it++) {
        pieces = mStep(pieces, eStep(model, words));
        model = new LatticeModel(pieces);
      }
      onProgress?.({ stage: 'em', done: round, total: round + 1 });
      if (pieces.length <= desired) break;
      pieces = this.prune(model, pieces, words);
      model = new LatticeModel(pieces);
    }
    onProgress?.({ stage: 'done', done: pieces.length, total: pieces.length });
    return this.finalize(pieces, model, required);
  }

  /** Drops the pieces whose loss (approximate likelihood drop when re-spelled) is smallest. */
  private prune(model: LatticeModel, pieces: Piece[], words: [string, number][]): Piece[] {
    const alwaysKeep = new Array<boolean>(pieces.length).fill(true);
    const alternatives: number[][] = pieces.map(() => []);
    for (let id = 1; id < pieces.length; id++) {
      const lattice = new Lattice(pieces[id]![0], model);
      const nbest = lattice.twoBest();
      if (nbest.length === 1) alwaysKeep[id] = true;
      else if (nbest[0]!.length >= 2) alwaysKeep[id] = false;
      else if (nbest[0]!.length === 1) { alwaysKeep[id] = true; alternatives[id] = nbest[1]!.map((n) => lattice.ids[n]!); }
    }
    alwaysKeep[0] = false;
    // Viterbi counts over the corpus, and the words each piece appears in (once per use).
    const freq = new Float64Array(pieces.length);
    const inverted: number[][] = pieces.map(() => []);
    let vsum = 0;
    words.forEach(([word, count], i) => {
      const lattice = new Lattice(word, model);
      vsum += count;
      for (const node of lattice.viterbi()) { const id = lattice.ids[node]!; freq[id] += count; inverted[id]!.push(i); }
    });
    let sum = 0;
    for (const f of freq) sum += f;
    const logSum = Math.log(sum);
    const kept: Piece[] = [pieces[0]!];
    const candidates: [number, number][] = [];
    for (let id = 1; id < pieces.length; id++) {
      if (freq[id] === 0 && !alwaysKeep[id]) continue; // never on a best path
      if (alternatives[id]!.length === 0) { kept.push(pieces[id]!); continue; }
      let f = 0;
      for (const w of inverted[id]!) f += words[w]![1];
      if (f === 0 || Number.isNaN(f)) continue;
      f /= vsum;
      const logProbPiece = Math.log(freq[id]!) - logSum;
      // HF multiplies by (number of pieces - 1) here, not (number of alternatives - 1); kept as is.
      const logSumAlt = Math.log(sum + freq[id]! * (pieces.length - 1));
      let logProbAlt = 0;
      for (const alt of alternatives[id]!) logProbAlt += Math.log(freq[alt]! + freq[id]!) - logSumAlt;
      candidates.push([id, f * (logProbPiece - logProbAlt)]);
    }
    const prunedSize = Math.max(Math.floor((this.opts.vocabSize * 11) / 10), Math.floor(pieces.length * this.opts.shrinkingFactor));
    candidates.sort((a, b) => b[1] - a[1]);
    for (const [id] of candidates) {
      if (kept.length === prunedSize) break;
      kept.push(pieces[id]!);
    }
    return kept;
  }

  private finalize(pieces: Piece[], model: LatticeModel, required: Set<string>): Unigram {
    const { specialTokens, unkToken, vocabSize } = this.opts;
    const minScore = model.unkScore + 10;
    const existing = new Map(pieces);
    const inserted = new Set<string>(['<UNK>']);
    const out: Piece[] = [];
    let penalty = 0;
    for (const ch of required) {
      inserted.add(ch);
      const score = existing.get(ch);
      if (score !== undefined) out.push([ch, score]);
      else { out.push([ch, minScore + penalty]); penalty += 0.0001; }
    }
    const unkIndex = unkToken === null ? -1 : specialTokens.indexOf(unkToken);
    const addUnk = unkToken !== null && unkIndex < 0;
    const room = vocabSize - specialTokens.length - (addUnk ? 1 : 0);
    for (const [piece, score] of pieces) {
      if (inserted.has(piece)) continue;
      inserted.add(piece);
      out.push([piece, Number.isNaN(score) ? 0 : score]);
      if (out.length === room) break;
    }
    out.sort((a, b) => b[1] - a[1]); // stable, as Rust's sort_by
    const head: Piece[] = specialTokens.map((t) => [t, 0]);
    if (addUnk) head.unshift([unkToken, 0]);
    return new Unigram([...head, ...out], unkToken === null ? null : addUnk ? 0 : unkIndex);
  }
}

/** Expected count of every piece over all segmentations of all words. */
function eStep(model: LatticeModel, words: [string, number][]): Float64Array {
  const expected = new Float64Array(model.pieces.length);
  for (const [word, count] of words) {
    const z = new Lattice(word, model).populateMarginal(count, expected);
    if (Number.isNaN(z)) throw new Error(`UnigramTrainer: the likelihood of ${JSON.stringify(word.slice(0, 40))} is NaN (word too long?)`);
  }
  return expected;
}

/** New scores from expected counts: digamma(count) - digamma(total); rare pieces dropped. */
function mStep(pieces: Piece[], expected: Float64Array): Piece[] {
  const kept: Piece[] = [[pieces[0]![0], NaN]];
  let sum = 0;
  for (let i = 1; i < pieces.length; i++) {
    if (expected[i]! < 0.5) continue;
    kept.push([pieces[i]![0], expected[i]!]);
    sum += expected[i]!;
  }
  const logSum = digamma(sum);
  return kept.map(([p, c]) => [p, digamma(c) - logSum]);
}
