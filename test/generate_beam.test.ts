// Beam search on a Markov "model" whose next-token distribution depends on the last token only:
// a case worked out by hand (HF semantics), and exhaustive search for comparison.

import test from 'node:test';
import assert from 'node:assert/strict';
import { tensor, Generator, type Tensor } from '../src/index.js';
import { generate, type CausalLM } from '../src/generate/index.js';

/** logits[b, t] = log P(· | token at t): a first-order Markov chain as a causal LM (no cache needed). */
class MarkovLM implements CausalLM {
  calls = 0;
  readonly config = { eos_token_id: 0, n_positions: 64 };
  constructor(readonly probs: number[][]) {}
  forward({ inputIds }: { inputIds: Tensor }): { logits: Tensor; presentKeyValues: [] } {
    this.calls++;
    const [B, T] = inputIds.shape as [number, number];
    const ids = inputIds.dataSync();
    const V = this.probs.length;
    const out = new Float32Array(B * T * V);
    for (let i = 0; i < B * T; i++) for (let v = 0; v < V; v++) out[i * V + v] = Math.log(this.probs[ids[i]!]![v]!);
    return { logits: tensor(out, { shape: [B, T, V] }), presentKeyValues: [] };
  }
}

// Tokens: 0 = EOS, 1 = A, 2 = B.
const chain = new MarkovLM([
  [1 / 3, 1 / 3, 1 / 3],
  [0.5, 0.1, 0.4], // after A
  [0.1, 0.6, 0.3], // after B
]);
const L = Math.log;

test('beam search, worked by hand: 2 beams, EOS only from the best numBeams, length penalty', async () => {
  // Step 1 from A: EOS (0.5) finishes at once; B (0.4) and A (0.1) run on.
  // Step 2: B→A, B→B run on (EOS after A ranks 3rd: not among the best 2, not finished).
  // Step 3 (max length): A-B-A-EOS and A-B-A-B are the best two; every candidate ends here.
  const eos1 = L(0.5);
  const baEos = L(0.4) + L(0.6) + L(0.5);
  const baB = L(0.4) + L(0.6) + L(0.4);
  const r1 = await generate(chain, [[1]], { numBeams: 2, numReturnSequences: 2, maxNewTokens: 3, lengthPenalty: 1, returnDictInGenerate: true });
  assert.deepEqual(r1.sequences, [[1, 0], [1, 2, 1, 0]]);
  assert.ok(Math.abs(r1.sequencesScores![0]! - eos1) < 1e-6 && Math.abs(r1.sequencesScores![1]! - baEos / 3) < 1e-6);
  // lengthPenalty 2 favours the long hypotheses: sum / len².
  const r2 = await generate(chain, [[1]], { numBeams: 2, numReturnSequences: 2, maxNewTokens: 3, lengthPenalty: 2, returnDictInGenerate: true });
  assert.deepEqual(r2.sequences, [[1, 2, 1, 0], [1, 2, 1, 2]]);
  assert.ok(Math.abs(r2.sequencesScores![0]! - baEos / 9) < 1e-6 && Math.abs(r2.sequencesScores![1]! - baB / 9) < 1e-6);
  // earlyStopping true: stop as soon as numBeams hypotheses are finished (here at step 3 as well).
  const r3 = await generate(chain, [[1]], { numBeams: 2, numReturnSequences: 2, maxNewTokens: 3, earlyStopping: true });
  assert.deepEqual(r3, r1.sequences);
});

test('beam search stops early once no running beam can beat the finished ones (earlyStopping false)', async () => {
  // A chain where EOS is almost certain: both beams finish at step 1-2 and the search ends long before maxNewTokens.
  const sure = new MarkovLM([[0.98, 0.01, 0.01], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05]]);
  const out = await generate(sure, [[1]], { numBeams: 2, numReturnSequences: 2, maxNewTokens: 30 });
  assert.deepEqual(out[0], [1, 0]);
  assert.ok(sure.calls <= 3, `ran ${sure.calls} steps`);
});

/** Every hypothesis of up to maxNew tokens (ending at EOS or at maxNew), with its summed log-prob. */
function exhaustive(lm: MarkovLM, prompt: number[], maxNew: number, eos: number): { seq: number[]; score: number }[] {
  const out: { seq: number[]; score: number }[] = [];
  const V = lm.probs.length;
  const walk = (seq: number[], score: number) => {
    const n = seq.length - prompt.length;
    if (n > 0 && (seq[seq.length - 1] === eos || n === maxNew)) { out.push({ seq, score }); return; }
    for (let v = 0; v < V; v++) walk([...seq, v], score + Math.log(lm.probs[seq[seq.length - 1]!]![v]!));
  };
  walk(prompt, 0);
  return out.sort((a, b) => b.score - a.score);
}

test('with enough beams, lengthPenalty 0 and earlyStopping "never", beam search is exhaustive search', async () => {
  const g = new Generator(11);
  for (let trial = 0; trial < 5; trial++) {
    const probs = Array.from({ length: 4 }, () => {
      const w = Array.from({ length: 4 }, () => 0.05 + g.uniform());
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / s);
    });
    const lm = new MarkovLM(probs);
    const best = exhaustive(lm, [2], 3, 0).slice(0, 5);
    const out = await generate(lm, [[2]], { numBeams: 40, numReturnSequences: 5, maxNewTokens: 3, lengthPenalty: 0, earlyStopping: 'never', returnDictInGenerate: true });
    assert.deepEqual(out.sequences, best.map((b) => b.seq), `trial ${trial}`);
    out.sequencesScores!.forEach((s, i) => assert.ok(Math.abs(s - best[i]!.score) < 1e-5));
  }
});

test('greedy and sampling on the chain: greedy follows the argmax; samples follow the probabilities', async () => {
  assert.deepEqual(await generate(chain, [[2]], { maxNewTokens: 5 }), [[2, 1, 0]]); // B→A (0.6), A→EOS (0.5)
  const counts = [0, 0, 0];
  const out = await generate(chain, Array.from({ length: 3000 }, () => [1]), { maxNewTokens: 1, doSample: true, seed: 3 });
  for (const r of out) counts[r[1]!]!++;
  [0.5, 0.1, 0.4].forEach((p, i) => assert.ok(Math.abs(counts[i]! / 3000 - p) < 0.03, `token ${i}: ${counts[i]! / 3000}`));
  // numReturnSequences when sampling: that many samples per input, consecutive, reproducible with a seed.
  const opts = { maxNewTokens: 6, doSample: true, numReturnSequences: 4, seed: 8 };
  const many = await generate(chain, [[1], [2]], opts);
  assert.equal(many.length, 8);
  many.forEach((r, i) => assert.equal(r[0], i < 4 ? 1 : 2));
  assert.deepEqual(await generate(chain, [[1], [2]], opts), many);
  assert.ok(new Set(many.slice(0, 4).map((r) => r.join())).size > 1, 'the samples differ');
  await assert.rejects(generate(chain, [[1]], { numReturnSequences: 2 }), /needs sampling/);
});
