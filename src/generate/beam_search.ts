// Beam search with HF transformers' semantics (generation/utils.py _beam_search, 4.5x / 5.x):
//
//  - each input keeps numBeams running hypotheses; a step scores every continuation of every beam
//    by the running sum of log-probabilities (log_softmax, then the logits processors) and keeps the
//    best 2·numBeams (more with several EOS ids);
//  - a continuation that ends a hypothesis (EOS, or another stopping criterion, max length included)
//    is finished only if it ranks among the best numBeams; its score is
//    sum_logprobs / generated_length ** lengthPenalty (generated tokens, EOS included);
//  - the best numBeams unfinished continuations run on;
//  - an input is done when it has numBeams finished hypotheses and (earlyStopping true) at once, or
//    (false) when the best running beam, scored at the current length, cannot beat the worst
//    finished one, or ('never') the same with the longest possible length when lengthPenalty > 0.
//
// Beams live as rows b·numBeams + j of the runner; after each step the runner's cache is reordered
// so that row j holds the hypothesis that continues. Every input runs in the same batch and gets the
// tokens it would get alone: its beams only ever compete with each other, and a step's candidates
// are ranked with a fixed tie order. A seq2seq runner encodes each source once and its beams share
// that memory (EncoderDecoderRunner's rowsPerSource).

import type { LogitsProcessor } from './logits_process.js';
import type { StepRunner } from './runner.js';
import type { StoppingCriteria } from './stopping.js';

export interface BeamSearchOptions {
  numBeams: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
  numReturnSequences?: number;
  /** Upper bound on generated tokens: one for all inputs, or one per input (seq2seq: from each source's length). */
  maxNewTokens: number | readonly number[];
  eosTokenId: readonly number[];
}

export interface BeamSearchResult {
  /** Per input, numReturnSequences generated continuations (without the prompt), best first. */
  generated: number[][][];
  /** Their length-normalised scores. */
  scores: number[][];
}

interface Finished { tokens: number[]; score: number }

/** log_softmax of one row, in place (float64 accumulation). */
export function logSoftmaxInPlace(row: Float32Array): void {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity) return;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) row[i] = row[i]! - lse;
}

interface Candidate { score: number; beam: number; token: number }

/** The best k (score, beam, token) over the rows' scores plus each beam's running score. */
function topCandidates(rows: Float32Array[], beamScores: readonly number[], k: number): Candidate[] {
  const all: Candidate[] = [];
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j]!, base = beamScores[j]!;
    // Per row, the k best are enough; a bounded insertion list keeps this O(V) for small k.
    const best: Candidate[] = [];
    for (let t = 0; t < row.length; t++) {
      const s = row[t]! + base;
      if (!(s > -Infinity)) continue;
      if (best.length === k && s <= best[k - 1]!.score) continue;
      let i = best.length < k ? best.length : k - 1;
      while (i > 0 && best[i - 1]!.score < s) { best[i] = best[i - 1]!; i--; }
      best[i] = { score: s, beam: j, token: t };
    }
    all.push(...best);
  }
  // Ties: lower beam, then lower token first (a fixed order; torch.topk leaves it unspecified).
  all.sort((a, b) => b.score - a.score || a.beam - b.beam || a.token - b.token);
  return all.slice(0, k);
}

export async function beamSearch(runner: StepRunner, prompts: readonly (readonly number[])[], processor: LogitsProcessor,
  stopping: StoppingCriteria, opts: BeamSearchOptions): Promise<BeamSearchResult> {
  const nb = opts.numBeams;
  const lp = opts.lengthPenalty ?? 1;
  const early = opts.earlyStopping ?? false;
  const nRet = opts.numReturnSequences ?? 1;
  if (!Number.isInteger(nb) || nb < 1) throw new Error(`numBeams must be a positive integer, got ${nb}`);
  if (!Number.isInteger(nRet) || nRet < 1 || nRet > nb) throw new Error(`numReturnSequences must be an integer in 1..numBeams (${nb}), got ${nRet}`);
  const B = prompts.length;
  if (runner.batchSize !== B * nb) throw new Error(`beamSearch: the runner holds ${runner.batchSize} rows, expected ${B}·${nb}`);
  const keep = Math.max(2, 1 + opts.eosTokenId.length) * nb;
  const maxNew = typeof opts.maxNewTokens === 'number' ? new Array<number>(B).fill(opts.maxNewTokens) : [...opts.maxNewTokens];
  if (maxNew.length !== B || maxNew.some((m) => !Number.isInteger(m) || m < 0)) {
    throw new Error(`beamSearch: maxNewTokens must be an integer ≥ 0 or one per input (${B}), got ${JSON.stringify(opts.maxNewTokens)}`);
  }

  // Running hypotheses: generated tokens and summed log-probs. All beams start equal, so only the
  // first may expand at the first step (HF's -1e9 on the others).
  const gen: number[][] = Array.from({ length: B * nb }, () => []);
  const score: number[] = Array.from({ length: B * nb }, (_, r) => (r % nb === 0 ? 0 : -1e9));
  const finished: Finished[][] = Array.from({ length: B }, () => []);
  const improvable: boolean[] = new Array<boolean>(B).fill(true);
  const fullRow = (r: number) => [...prompts[Math.floor(r / nb)]!, ...gen[r]!];

  let logits = await runner.step(null);
  for (let len = 1; ; len++) {
    // len = generated length after this step's token.
    const inputIds = gen.map((_, r) => fullRow(r));
    if (!runner.logProbs) for (const row of logits) logSoftmaxInPlace(row); // (a runner may hand back log-probabilities already)
    processor.process(inputIds, logits);

    const nextRows: number[] = [], nextTokens: number[] = [], nextScores: number[] = [];
    let allStopped = true;
    for (let b = 0; b < B; b++) {
      const rows = logits.slice(b * nb, (b + 1) * nb);
      const cands = topCandidates(rows, score.slice(b * nb, (b + 1) * nb), keep);
      const candRows = cands.map((c) => [...inputIds[b * nb + c.beam]!, c.token]);
      const stopped = stopping.check(candRows, candRows.map(() => prompts[b]!.length)).map((s, i) => s || len >= maxNew[b]! || opts.eosTokenId.includes(cands[i]!.token));
      if (!stopped.every(Boolean)) allStopped = false;
      // Finished: only among the best numBeams, and only while they can still matter.
      const full = finished[b]!.length >= nb;
      const accepting = improvable[b]! && !(full && early === true);
      cands.forEach((c, i) => {
        if (!stopped[i] || i >= nb || !accepting) return;
        finished[b]!.push({ tokens: [...gen[b * nb + c.beam]!, c.token], score: c.score / len ** lp });
      });
      finished[b]!.sort((x, y) => y.score - x.score);
      finished[b]!.length = Math.min(finished[b]!.length, nb);
      // Running: the best numBeams that did not stop; stopped ones fill in (at -1e9) if too few.
      const order = [...cands.keys()].filter((i) => !stopped[i]).concat([...cands.keys()].filter((i) => stopped[i]));
      for (let j = 0; j < nb; j++) {
        const i = order[j];
        const c = i === undefined ? cands[0]! : cands[i]!;
        nextRows.push(b * nb + c.beam);
        nextTokens.push(c.token);
        nextScores.push(i !== undefined && !stopped[i] ? c.score : c.score - 1e9);
      }
      // Can a running beam still beat the worst finished hypothesis?
      const bestLen = early === 'never' && lp > 0 ? maxNew[b]! : len;
      const bestPossible = nextScores[b * nb]! / bestLen ** lp;
      const worst = finished[b]!.length >= nb ? finished[b]![nb - 1]!.score : -1e9;
      improvable[b] = improvable[b]! && bestPossible > worst;
    }
    const allFull = finished.every((f) => f.length >= nb);
    if (allStopped || !improvable.some(Boolean) || (allFull && early === true)) break;
    // Continue: reorder hypotheses and the cache, then feed the chosen tokens.
    const newGen = nextRows.map((r, i) => [...gen[r]!, nextTokens[i]!]);
    gen.splice(0, gen.length, ...newGen);
    score.splice(0, score.length, ...nextScores);
    runner.reorder(nextRows);
    logits = await runner.step(nextTokens);
  }

  return {
    generated: finished.map((f) => f.slice(0, nRet).map((h) => h.tokens)),
    scores: finished.map((f) => f.slice(0, nRet).map((h) => h.score)),
  };
}
