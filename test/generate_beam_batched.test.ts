// Batched seq2seq beam search (issue #11): many sources at once, each with its beams, one encoder
// pass, the beams of a source sharing its memory and cross-attention cache. A batch of sources of
// different lengths (so with padding) must give exactly the tokens each source gets alone, under
// every option that acts per beam (length penalty, early stopping, min lengths, no-repeat n-grams,
// a per-source maximum length), with and without the cache; greedy with and without the cache agree.
import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, type Tensor } from '../src/index.js';
import { models } from '../src/index.js';
import { EncoderDecoderRunner, type GenerateOptions, type Seq2SeqLM } from '../src/generate/index.js';
import { liveTensors } from './helpers/live.js';

const EOS = 0, PAD = 29;
manualSeed(11);
const model = new models.MarianMTModel({
  vocab_size: 30, d_model: 16, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4,
  encoder_ffn_dim: 32, decoder_ffn_dim: 32, max_position_embeddings: 64, pad_token_id: PAD, decoder_start_token_id: PAD, eos_token_id: EOS,
  activation_function: 'swish', scale_embedding: true, init_std: 0.3, dropout: 0,
}).eval();
// EOS made likely, so that hypotheses end at different lengths and the length options matter.
noGrad(() => model.finalLogitsBias.narrow(1, EOS, 1).fill_(2.5));
const sources = [[5, 9, 11, 3, 7, 21, 4, 8, 2], [8, 4], [17, 12, 12, 6, 2, 1], [3], [25, 14, 9, 9]];

type Out = { sequences: number[][]; sequencesScores?: number[] };
async function run(srcs: number[][], opts: GenerateOptions): Promise<Out> {
  return model.generate(srcs, { ...opts, returnDictInGenerate: true });
}

/** Batched against one source at a time: the same tokens, the same scores. */
async function batchedEqualsSingle(opts: GenerateOptions, what: string): Promise<Out> {
  const batched = await run(sources, opts);
  const singles: Out[] = [];
  for (const s of sources) singles.push(await run([s], opts));
  assert.deepEqual(batched.sequences, singles.flatMap((o) => o.sequences), `${what}: tokens`);
  const scores = singles.flatMap((o) => o.sequencesScores ?? []);
  (batched.sequencesScores ?? []).forEach((s, i) => assert.ok(Math.abs(s - scores[i]!) < 1e-5, `${what}: score ${i} ${s} vs ${scores[i]}`));
  return batched;
}

const generated = (seq: number[]) => seq.slice(1); // after the decoder start token

test('batched beam search equals one source at a time: length penalty, numReturnSequences, early stopping true/false/never', async () => {
  const sets: [string, GenerateOptions][] = [
    ['4 beams', { numBeams: 4, maxNewTokens: 12 }],
    ['3 beams, 3 returned, lengthPenalty 0.6, earlyStopping', { numBeams: 3, numReturnSequences: 3, lengthPenalty: 0.6, earlyStopping: true, maxNewTokens: 10 }],
    ['5 beams, never, lengthPenalty 1.5', { numBeams: 5, numReturnSequences: 2, earlyStopping: 'never', lengthPenalty: 1.5, maxNewTokens: 9 }],
    ['2 beams, lengthPenalty -0.5', { numBeams: 2, lengthPenalty: -0.5, maxNewTokens: 8 }],
  ];
  const distinct = new Set<string>();
  for (const [what, opts] of sets) {
    const out = await batchedEqualsSingle(opts, what);
    assert.equal(out.sequences.length, sources.length * (opts.numReturnSequences ?? 1));
    for (const s of out.sequences) { assert.equal(s[0], PAD); distinct.add(s.join(',')); }
  }
  assert.ok(distinct.size > 10, 'the sources get different translations');
  // Without the cache: the same search, recomputing every position.
  await batchedEqualsSingle({ numBeams: 3, numReturnSequences: 2, maxNewTokens: 7, useCache: false }, 'no cache');
  const cached = await run(sources, { numBeams: 3, numReturnSequences: 2, maxNewTokens: 7 });
  const uncached = await run(sources, { numBeams: 3, numReturnSequences: 2, maxNewTokens: 7, useCache: false });
  assert.deepEqual(cached.sequences, uncached.sequences, 'cache on and off');
});

test('batched beam scores are the teacher-forced log-probabilities / length^lengthPenalty', async () => {
  const lp = 0.7;
  const out = await run(sources, { numBeams: 4, numReturnSequences: 3, lengthPenalty: lp, maxNewTokens: 8 });
  out.sequences.forEach((seq, i) => {
    const src = sources[Math.floor(i / 3)]!;
    const logp = noGrad(() => model.forward({ inputIds: [src], decoderInputIds: [seq.slice(0, -1)] }).logits.logSoftmax(-1).dataSync());
    const V = 30;
    let sum = 0;
    for (let t = 1; t < seq.length; t++) sum += logp[(t - 1) * V + seq[t]!]!;
    const expected = sum / (seq.length - 1) ** lp;
    assert.ok(Math.abs(out.sequencesScores![i]! - expected) < 1e-4, `hypothesis ${i}: ${out.sequencesScores![i]} vs ${expected}`);
  });
});

test('per-beam options in a batch: minNewTokens, minLength, noRepeatNgramSize act on every hypothesis', async () => {
  const all = { numBeams: 4, numReturnSequences: 4, maxNewTokens: 10 };
  const plain = await batchedEqualsSingle(all, 'plain');
  assert.ok(plain.sequences.some((s) => generated(s).length < 4 && s.at(-1) === EOS), 'some hypothesis ends early without minNewTokens');
  const minNew = await batchedEqualsSingle({ ...all, minNewTokens: 4 }, 'minNewTokens');
  for (const s of minNew.sequences) assert.ok(!generated(s).slice(0, 4).includes(EOS), `EOS within 4 new tokens: ${s}`);
  // minLength counts the decoder start token (HF: the decoder's input_ids).
  const minLen = await batchedEqualsSingle({ ...all, minLength: 6 }, 'minLength');
  for (const s of minLen.sequences) assert.ok(s.indexOf(EOS) < 0 || s.indexOf(EOS) >= 5, `EOS before length 6: ${s}`);

  const noEos = { ...all, eosTokenId: null, maxNewTokens: 9 };
  const repeats = (await run(sources, noEos)).sequences.filter((s) => hasRepeatedBigram(s));
  assert.ok(repeats.length > 0, 'without the option some hypothesis repeats a bigram');
  const noRepeat = await batchedEqualsSingle({ ...noEos, noRepeatNgramSize: 2 }, 'noRepeatNgramSize');
  for (const s of noRepeat.sequences) assert.ok(!hasRepeatedBigram(s), `repeated bigram in ${s}`);
});

function hasRepeatedBigram(seq: number[]): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + 1 < seq.length; i++) {
    const k = `${seq[i]},${seq[i + 1]}`;
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

test('maxNewTokensOverSource: each source may run to its length + n (beam search and greedy)', async () => {
  const beams = await batchedEqualsSingle({ numBeams: 3, numReturnSequences: 3, maxNewTokensOverSource: 2, eosTokenId: null }, 'per-source max');
  beams.sequences.forEach((s, i) => assert.equal(generated(s).length, sources[Math.floor(i / 3)]!.length + 2, `hypothesis ${i}`));
  const greedy = await model.generate(sources, { maxNewTokensOverSource: 3, eosTokenId: null });
  greedy.forEach((s, i) => assert.equal(generated(s).length, sources[i]!.length + 3));
  // With EOS, no hypothesis is longer than its bound.
  const withEos = await run(sources, { numBeams: 3, numReturnSequences: 3, maxNewTokensOverSource: 1 });
  withEos.sequences.forEach((s, i) => assert.ok(generated(s).length <= sources[Math.floor(i / 3)]!.length + 1));
  // Capped by the decoder's 64 positions.
  const long = await model.generate([Array(62).fill(5)], { maxNewTokensOverSource: 50, eosTokenId: null });
  assert.equal(long[0]!.length, 64);
  await assert.rejects(model.generate([[1]], { maxNewTokensOverSource: 5, maxNewTokens: 3 }), /maxNewTokensOverSource or maxNewTokens/);
});

test('one encoder pass per batch; the beams of a source share its memory and cross-attention keys/values', async () => {
  const seen = { encodeRows: [] as number[], memoryRows: [] as number[], crossRows: [] as number[], decoderRows: [] as number[] };
  const m = model as unknown as Seq2SeqLM;
  const encode = m.encode.bind(m), decode = m.decode.bind(m);
  m.encode = (inputs) => { seen.encodeRows.push(inputs.inputIds.shape[0]!); return encode(inputs); };
  m.decode = (inputs) => {
    const out = decode(inputs);
    seen.memoryRows.push(inputs.encoderHiddenStates.shape[0]!);
    seen.decoderRows.push(inputs.decoderInputIds.shape[0]!);
    const cross = out.presentKeyValues?.[0]?.cross?.key as Tensor | undefined;
    if (cross) seen.crossRows.push(cross.shape[0]!);
    return out;
  };
  try {
    await model.generate(sources, { numBeams: 4, maxNewTokens: 6 });
  } finally {
    delete (m as { encode?: unknown }).encode;
    delete (m as { decode?: unknown }).decode;
  }
  assert.deepEqual(seen.encodeRows, [sources.length], 'encoded once, one row per source');
  assert.ok(seen.memoryRows.every((r) => r === sources.length), 'memory stays one row per source');
  assert.ok(seen.crossRows.every((r) => r === sources.length), 'cross-attention keys/values: one per source');
  assert.ok(seen.decoderRows.every((r) => r === sources.length * 4), 'the decoder runs every beam');
});

test('a model without grouped memory (tlm-seq2seq) still encodes once; its batched beam search equals single runs', async () => {
  manualSeed(5);
  const old = new models.Seq2SeqTransformer({ vocab_size: 30, d_model: 16, nhead: 4, num_encoder_layers: 1, num_decoder_layers: 2,
    dim_feedforward: 32, dropout: 0, max_position_embeddings: 64 }).eval();
  let encodeCalls = 0;
  const m = old as unknown as Seq2SeqLM, encode = m.encode.bind(m);
  m.encode = (inputs) => { encodeCalls++; assert.equal(inputs.inputIds.shape[0], sources.length); return encode(inputs); };
  const opts = { numBeams: 3, numReturnSequences: 2, maxNewTokens: 6, returnDictInGenerate: true as const };
  const batched = await old.generate(sources, opts);
  delete (m as { encode?: unknown }).encode;
  assert.equal(encodeCalls, 1);
  for (let b = 0; b < sources.length; b++) assert.deepEqual(batched.sequences.slice(2 * b, 2 * b + 2), (await old.generate([sources[b]!], opts)).sequences);
});

test('greedy: with and without the cache, the same tokens and logits; batched equals single', async () => {
  const a = await run(sources, { maxNewTokens: 10, outputLogits: true } as GenerateOptions);
  const b = await run(sources, { maxNewTokens: 10, outputLogits: true, useCache: false } as GenerateOptions);
  assert.deepEqual(a.sequences, b.sequences);
  const la = (a as { logits?: Float32Array[][] }).logits!, lb = (b as { logits?: Float32Array[][] }).logits!;
  la.forEach((step, s) => step.forEach((row, r) => row.forEach((v, i) => assert.ok(Math.abs(v - lb[s]![r]![i]!) < 1e-4, `step ${s} row ${r} token ${i}`))));
  for (let i = 0; i < sources.length; i++) assert.deepEqual(a.sequences[i], (await model.generate([sources[i]!], { maxNewTokens: 10 }))[0]);
});

test('beam search frees its memory and cache; the runner keeps beams with their source', async () => {
  await model.generate(sources, { numBeams: 2, maxNewTokens: 3 });
  const before = liveTensors();
  await model.generate(sources, { numBeams: 4, maxNewTokens: 6 });
  await model.generate(sources, { numBeams: 3, maxNewTokens: 5, useCache: false });
  assert.equal(liveTensors(), before);
  const runner = new EncoderDecoderRunner(model as unknown as Seq2SeqLM, [[1, 2], [3]], [PAD], { useCache: true, padTokenId: PAD, rowsPerSource: 2 });
  try {
    assert.equal(runner.batchSize, 4);
    await runner.step(null);
    runner.reorder([1, 1, 2, 3]);
    assert.throws(() => runner.reorder([2, 1, 2, 3]), /row 0 cannot take row 2, which belongs to another source/);
  } finally {
    runner.dispose();
  }
});
