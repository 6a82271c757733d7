// Generation with an encoder-decoder model (tlm's Seq2SeqTransformer, random weights): the decoder's
// self-attention cache and the cached cross-attention memory against recomputation, against a
// teacher-forced forward pass, beam search, and batches of sources of different lengths.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, tidy } from '../src/index.js';
import { Seq2SeqTransformer } from '../src/models/index.js';
import {
  beamSearch, EncoderDecoderRunner, LogitsProcessorList, MaxNewTokensCriteria, StoppingCriteriaList, type Seq2SeqLM,
} from '../src/generate/index.js';
import { liveTensors } from './helpers/live.js';

manualSeed(0);
const model = new Seq2SeqTransformer({ vocab_size: 40, d_model: 32, nhead: 4, num_encoder_layers: 2, num_decoder_layers: 2,
  dim_feedforward: 64, dropout: 0, max_position_embeddings: 64 });
model.eval();
const START = model.config.decoder_start_token_id;
const sources = [[5, 9, 11, 3, 7, 21], [8, 4], [30, 12, 12, 6]];

/** Teacher-forced log-probs of `dec` (decoder tokens, start first) given src: [T, V] rows. */
function teacherForced(src: number[], dec: number[]): Float32Array[] {
  return noGrad(() => tidy(() => {
    const lp = model.forward({ inputIds: [src], decoderInputIds: [dec] }).logits!.logSoftmax(-1).dataSync() as Float32Array;
    const V = lp.length / dec.length;
    return Array.from({ length: dec.length }, (_, t) => lp.slice(t * V, (t + 1) * V));
  }));
}

test('seq2seq greedy: cache (self + cross memory) and recomputation agree; logits match teacher forcing', async () => {
  const a = await model.generate([sources[0]!], { maxNewTokens: 10, eosTokenId: null, returnDictInGenerate: true, outputLogits: true });
  const b = await model.generate([sources[0]!], { maxNewTokens: 10, eosTokenId: null, useCache: false, returnDictInGenerate: true, outputLogits: true });
  assert.deepEqual(a.sequences, b.sequences);
  const seq = a.sequences[0]!;
  assert.equal(seq[0], START);
  assert.equal(seq.length, 11);
  const ref = teacherForced(sources[0]!, seq.slice(0, -1));
  a.logits!.forEach((step, s) => {
    const row = step[0]!, other = b.logits![s]![0]!;
    // log_softmax of the step's logits against the teacher-forced log-probs at the same position.
    let max = -Infinity; for (const v of row) max = Math.max(max, v);
    let sum = 0; for (const v of row) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    for (let i = 0; i < row.length; i++) {
      assert.ok(Math.abs(row[i]! - other[i]!) < 1e-4, `step ${s}: cache vs no cache, token ${i}`);
      assert.ok(Math.abs(row[i]! - lse - ref[s]![i]!) < 1e-4, `step ${s}: vs teacher forcing, token ${i}`);
    }
  });
});

test('seq2seq: beam search with one beam equals greedy', async () => {
  const greedy = (await model.generate([sources[1]!], { maxNewTokens: 8 }))[0]!;
  const runner = new EncoderDecoderRunner(model as unknown as Seq2SeqLM, [sources[1]!], [START], { useCache: true, padTokenId: 0 });
  const res = await beamSearch(runner, [[START]], new LogitsProcessorList(), new StoppingCriteriaList([new MaxNewTokensCriteria(8)]),
    { numBeams: 1, maxNewTokens: 8, eosTokenId: [model.config.eos_token_id] });
  runner.dispose();
  assert.deepEqual([START, ...res.generated[0]![0]!], greedy);
});

test('seq2seq beam search: scores are sum log-probs / length^lengthPenalty; a batch gives each source its own result', async () => {
  const opts = { maxNewTokens: 7, numBeams: 3, numReturnSequences: 2, lengthPenalty: 0.8, returnDictInGenerate: true as const };
  const out = await model.generate(sources, opts);
  assert.equal(out.sequences.length, 6);
  out.sequences.forEach((seq, i) => {
    const src = sources[Math.floor(i / 2)]!;
    const lp = teacherForced(src, seq.slice(0, -1));
    let s = 0;
    for (let t = 1; t < seq.length; t++) s += lp[t - 1]![seq[t]!]!;
    const expected = s / (seq.length - 1) ** 0.8;
    assert.ok(Math.abs(expected - out.sequencesScores![i]!) < 1e-3, `hyp ${i}: ${out.sequencesScores![i]} vs ${expected}`);
  });
  for (let b = 0; b < sources.length; b++) {
    const alone = await model.generate([sources[b]!], opts);
    assert.deepEqual(out.sequences.slice(2 * b, 2 * b + 2), alone.sequences, `source ${b}`);
  }
  const greedyBatch = await model.generate(sources, { maxNewTokens: 9 });
  for (let b = 0; b < sources.length; b++) assert.deepEqual(greedyBatch[b], (await model.generate([sources[b]!], { maxNewTokens: 9 }))[0]);
});

test('seq2seq generation frees the memory and its cache', async () => {
  await model.generate([sources[0]!], { maxNewTokens: 2 });
  const before = liveTensors();
  await model.generate(sources, { maxNewTokens: 6 });
  await model.generate(sources, { maxNewTokens: 6, numBeams: 2 });
  assert.equal(liveTensors(), before);
});
