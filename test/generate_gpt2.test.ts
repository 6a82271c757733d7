// Generation with the HF gpt2-tiny fixture (GPT2LMHeadModel, 2 layers, vocab 1000): greedy against
// HF's output, the KV cache against recomputation, beam search and sampling invariants, batches
// with left padding against sequences alone, and streaming.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelDecoderFrom } from './helpers/byte_decoder.js';
import { noGrad, tidy, tensor } from '../src/index.js';
import { fromPretrained, type PreTrainedModel } from '../src/models/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import {
  IncrementalDetokenizer, beamSearch, DecoderOnlyRunner, generate, generateStream, LogitsProcessorList, MaxNewTokensCriteria, StoppingCriteriaList,
  type CausalLM,
} from '../src/generate/index.js';
import { liveTensors } from './helpers/live.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');

interface Expected { texts: string[]; ids: number[][]; greedy_prompt: number[]; greedy_out: number[] }
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;

let cached: PreTrainedModel | null = null;
async function model(): Promise<PreTrainedModel> {
  cached ??= await fromPretrained(dir);
  return cached;
}

const byteLevelDecoder = () => byteLevelDecoderFrom(join(dir, 'tokenizer.json'));

test('greedy decoding equals HF greedy_out (20 new tokens)', async () => {
  const m = await model();
  const out = await m.generate([expected.greedy_prompt], { maxNewTokens: 20, doSample: false });
  assert.deepEqual(out, [expected.greedy_out]);
  // A flat prompt and an int32 tensor give the same.
  assert.deepEqual(await m.generate(expected.greedy_prompt, { maxNewTokens: 20 }), [expected.greedy_out]);
  const t = tensor(Int32Array.from(expected.greedy_prompt), { shape: [1, expected.greedy_prompt.length] });
  assert.deepEqual(await m.generate(t, { maxNewTokens: 20 }), [expected.greedy_out]);
  // A model left in training mode (dropout 0.1 in this config) generates in eval mode, and stays in training mode.
  m.train();
  try {
    assert.deepEqual(await m.generate([expected.greedy_prompt], { maxNewTokens: 20 }), [expected.greedy_out]);
    assert.equal(m.training, true);
  } finally {
    m.eval();
  }
});

test('with and without the KV cache: same greedy tokens, logits within 1e-4', async () => {
  const m = await model();
  const prompts = [expected.ids[0]!.slice(0, 12), expected.ids[1]!.slice(0, 5)];
  const a = await m.generate(prompts, { maxNewTokens: 24, useCache: true, returnDictInGenerate: true, outputLogits: true });
  const b = await m.generate(prompts, { maxNewTokens: 24, useCache: false, returnDictInGenerate: true, outputLogits: true });
  assert.deepEqual(a.sequences, b.sequences);
  assert.equal(a.logits!.length, 24);
  let worst = 0;
  a.logits!.forEach((step, s) => step.forEach((row, r) => {
    const other = b.logits![s]![r]!;
    for (let i = 0; i < row.length; i++) worst = Math.max(worst, Math.abs(row[i]! - other[i]!));
  }));
  assert.ok(worst < 1e-4, `max |Δlogit| = ${worst}`);
});

test('greedy logits equal a full forward pass of the generated sequence', async () => {
  const m = await model();
  const prompt = expected.greedy_prompt;
  const out = await m.generate([prompt], { maxNewTokens: 6, returnDictInGenerate: true, outputLogits: true });
  const seq = out.sequences[0]!;
  const full = noGrad(() => tidy(() => (m.forward({ inputIds: [seq] }).logits!).dataSync() as Float32Array));
  const V = out.logits![0]![0]!.length;
  out.logits!.forEach((step, s) => {
    const pos = prompt.length - 1 + s;
    const ref = full.subarray(pos * V, (pos + 1) * V);
    for (let i = 0; i < V; i++) assert.ok(Math.abs(step[0]![i]! - ref[i]!) < 1e-4, `step ${s} token ${i}`);
  });
});

test('top-k 1 sampling equals greedy; the same seed gives the same samples', async () => {
  const m = await model();
  const prompt = [expected.ids[0]!.slice(0, 6)];
  const greedy = await m.generate(prompt, { maxNewTokens: 16 });
  assert.deepEqual(await m.generate(prompt, { maxNewTokens: 16, doSample: true, topK: 1, seed: 123 }), greedy);
  const opts = { maxNewTokens: 24, doSample: true, temperature: 1.5, topK: 0, seed: 42 };
  const s1 = await m.generate(prompt, opts);
  const s2 = await m.generate(prompt, opts);
  assert.deepEqual(s1, s2);
  const s3 = await m.generate(prompt, { ...opts, seed: 43 });
  assert.notDeepEqual(s1, s3);
  // Sampling at temperature 1.5 with no top-k strays from greedy.
  assert.notDeepEqual(s1[0]!.slice(0, 16 + 6), greedy[0]);
  // top-p and a repetition penalty run and stay reproducible.
  const o2 = { maxNewTokens: 12, doSample: true, topP: 0.9, repetitionPenalty: 1.3, seed: 5 };
  assert.deepEqual(await m.generate(prompt, o2), await m.generate(prompt, o2));
});

test('a batch with left padding gives each sequence the tokens it gets alone', async () => {
  const m = await model();
  const prompts = [expected.greedy_prompt, expected.ids[1]!.slice(0, 3), expected.ids[3]!.slice(0, 11), [expected.ids[0]![5]!]];
  for (const useCache of [true, false]) {
    const alone = [];
    for (const p of prompts) alone.push((await m.generate([p], { maxNewTokens: 15, useCache }))[0]);
    assert.deepEqual(await m.generate(prompts, { maxNewTokens: 15, useCache }), alone, `useCache ${useCache}`);
  }
  // The same batch given as a left-padded tensor and an attention mask: rows come back as given.
  const T = Math.max(...prompts.map((p) => p.length));
  const padded = prompts.map((p) => [...new Array<number>(T - p.length).fill(0), ...p]);
  const mask = prompts.map((p) => [...new Array<number>(T - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const ids = tensor(Int32Array.from(padded.flat()), { shape: [prompts.length, T] });
  const out = await m.generate(ids, { maxNewTokens: 15, attentionMask: mask });
  const alone = await m.generate(prompts, { maxNewTokens: 15 });
  out.forEach((row, i) => assert.deepEqual(row, [...padded[i]!.slice(0, T - prompts[i]!.length), ...alone[i]!]));
  await assert.rejects(m.generate(ids, { attentionMask: mask.map((r) => r.slice().reverse()) }), /left padding/);
});

test('EOS ends a row (rows of a batch end independently); minNewTokens holds it back', async () => {
  const m = await model();
  const p = expected.greedy_prompt;
  // The greedy continuation is 534 534 …: with 534 as EOS the row ends after its first token.
  assert.deepEqual(await m.generate([p], { maxNewTokens: 10, eosTokenId: 534 }), [[...p, 534]]);
  const other = expected.ids[3]!.slice(0, 7);
  const otherAlone = (await m.generate([other], { maxNewTokens: 10, eosTokenId: 534 }))[0]!;
  assert.deepEqual(await m.generate([p, other], { maxNewTokens: 10, eosTokenId: 534 }), [[...p, 534], otherAlone]);
  const held = (await m.generate([p], { maxNewTokens: 10, eosTokenId: 534, minNewTokens: 3 }))[0]!;
  assert.ok(held.length >= p.length + 4 && !held.slice(p.length, p.length + 3).includes(534));
});

test('beam search with one beam equals greedy', async () => {
  const m = await model();
  for (const prompt of [expected.greedy_prompt, expected.ids[3]!.slice(0, 9)]) {
    const greedy = (await m.generate([prompt], { maxNewTokens: 12 }))[0]!;
    const runner = new DecoderOnlyRunner(m as unknown as CausalLM, [prompt], { useCache: true, padTokenId: 0 });
    const res = await beamSearch(runner, [prompt], new LogitsProcessorList(), new StoppingCriteriaList([new MaxNewTokensCriteria(12)]),
      { numBeams: 1, maxNewTokens: 12, eosTokenId: [0] });
    runner.dispose();
    assert.deepEqual([...prompt, ...res.generated[0]![0]!], greedy);
  }
});

/** sum of log p(token) over the generated tokens, by one teacher-forced forward pass. */
function sumLogProbs(m: PreTrainedModel, seq: number[], promptLen: number): number {
  return noGrad(() => tidy(() => {
    const lp = m.forward({ inputIds: [seq] }).logits!.logSoftmax(-1).dataSync() as Float32Array;
    const V = lp.length / seq.length;
    let s = 0;
    for (let t = promptLen; t < seq.length; t++) s += lp[(t - 1) * V + seq[t]!]!;
    return s;
  }));
}

test('beam search: hypotheses ranked by sum of log-probs / length^lengthPenalty (HF)', async () => {
  const m = await model();
  const prompts = [expected.ids[0]!.slice(0, 4), expected.ids[1]!.slice(0, 7)];
  for (const lengthPenalty of [1, 0, 2]) {
    const out = await m.generate(prompts, { maxNewTokens: 8, numBeams: 4, numReturnSequences: 3, lengthPenalty, eosTokenId: 534, returnDictInGenerate: true });
    assert.equal(out.sequences.length, 6);
    for (let b = 0; b < 2; b++) {
      const scores = out.sequencesScores!.slice(b * 3, b * 3 + 3);
      for (let j = 1; j < 3; j++) assert.ok(scores[j - 1]! >= scores[j]!, 'best first');
      for (let j = 0; j < 3; j++) {
        const seq = out.sequences[b * 3 + j]!, P = prompts[b]!.length;
        assert.deepEqual(seq.slice(0, P), prompts[b]);
        const expectedScore = sumLogProbs(m, seq, P) / (seq.length - P) ** lengthPenalty;
        assert.ok(Math.abs(expectedScore - scores[j]!) < 1e-3, `lp ${lengthPenalty} input ${b} hyp ${j}: ${scores[j]} vs ${expectedScore}`);
        // A hypothesis ends with EOS or at max length.
        assert.ok(seq[seq.length - 1] === 534 || seq.length - P === 8);
      }
      assert.equal(new Set(out.sequences.slice(b * 3, b * 3 + 3).map((s) => s.join(','))).size, 3, 'distinct hypotheses');
    }
    // Batched beam search gives each input what it gets alone.
    const alone = await m.generate([prompts[1]!], { maxNewTokens: 8, numBeams: 4, numReturnSequences: 3, lengthPenalty, eosTokenId: 534 });
    assert.deepEqual(out.sequences.slice(3), alone);
  }
});

test('beam search finds a sequence at least as likely as greedy (no EOS, fixed length)', async () => {
  const m = await model();
  const prompt = expected.ids[3]!.slice(0, 6);
  const greedy = (await m.generate([prompt], { maxNewTokens: 6, eosTokenId: null }))[0]!;
  const beam = (await m.generate([prompt], { maxNewTokens: 6, numBeams: 5, eosTokenId: null, earlyStopping: 'never' }))[0]!;
  assert.ok(sumLogProbs(m, beam, prompt.length) >= sumLogProbs(m, greedy, prompt.length) - 1e-5);
});

test('generateStream yields the decoded text of generate(), never splitting a character; stop strings end it', async () => {
  const m = await model();
  const tok = byteLevelDecoder();
  const prompt = expected.ids[2]!.slice(0, 10);
  const opts = { maxNewTokens: 40, doSample: true, temperature: 2, topK: 0, seed: 9 };
  const ids = (await m.generate([prompt], opts))[0]!;
  const pieces: string[] = [];
  for await (const p of m.generateStream([prompt], opts, tok)) pieces.push(p);
  assert.equal(pieces.join(''), tok.decode(ids.slice(prompt.length), { skipSpecialTokens: true }));
  for (const p of pieces) assert.ok(!p.includes('\uFFFD') || tok.decode(ids.slice(prompt.length)).includes('\uFFFD'));
  // A stop string taken from the middle of that text: the stream ends right before it.
  const text = pieces.join('');
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
  let streamed = '';
  for await (const p of generateStream(m as never, [prompt], { ...opts, stopStrings: [stop] }, tok)) streamed += p;
  assert.equal(streamed, text.slice(0, text.indexOf(stop)));
  // generate() with the same stop string stops at the token that completes it (kept, as HF).
  const stopped = (await generate(m as never, [prompt], { ...opts, stopStrings: stop, tokenizer: tok }))[0]!;
  const gen = tok.decode(stopped.slice(prompt.length));
  assert.ok(gen.includes(stop) && !tok.decode(stopped.slice(prompt.length, -1)).includes(stop));
});

test('generation frees its cache: the live tensor count returns to where it was', async () => {
  const m = await model();
  await m.generate([expected.greedy_prompt], { maxNewTokens: 3 }); // warm up lazy state
  const before = liveTensors();
  await m.generate([expected.greedy_prompt, [5, 6]], { maxNewTokens: 10 });
  await m.generate([expected.greedy_prompt], { maxNewTokens: 5, numBeams: 3 });
  for await (const _ of m.generateStream([expected.greedy_prompt], { maxNewTokens: 20 }, byteLevelDecoder())) break; // early exit
  assert.equal(liveTensors(), before);
});

test('bad options are clear errors', async () => {
  const m = await model();
  await assert.rejects(m.generate([expected.greedy_prompt], { maxNewTokens: 200 }), /exceeds the model's context of 128 positions/);
  await assert.rejects(m.generate([[1, 2]], { doSample: true, temperature: 0 }), /temperature must be a positive number/);
  await assert.rejects(m.generate([[1, 2]], { numBeams: 2, numReturnSequences: 3 }), /numReturnSequences/);
  await assert.rejects(m.generate([[1, 2]], { stopStrings: ['x'] }), /need a tokenizer/);
  await assert.rejects(m.generate([[1, -2]]), /non-negative integer/);
});

test('the streamer with the real byte-level BPE tokenizer never splits a character (CJK text, one token at a time)', async () => {
  const tok = await Tokenizer.fromPretrained(dir);
  const text = expected.texts[2]!, ids = expected.ids[2]!;
  assert.equal(tok.decode(ids), text);
  const detok = new IncrementalDetokenizer(tok);
  const pieces: string[] = [];
  let partial = 0;
  for (const id of ids) {
    if (tok.decode([id]).includes('\uFFFD')) partial++;
    const p = detok.push([id]);
    if (p) pieces.push(p);
  }
  pieces.push(detok.flush());
  assert.equal(pieces.join(''), text);
  assert.ok(partial > 100, `tokens that are part of a character: ${partial}`);
  for (const p of pieces) assert.ok(!p.includes('\uFFFD'), JSON.stringify(p));
});

test('left-padded batches match sequences alone for every position type (learned, sinusoidal, RoPE, ALiBi, relative)', async () => {
  const { GPT2LMHeadModel } = await import('../src/models/index.js');
  const { manualSeed } = await import('../src/index.js');
  const prompts = [[3, 17, 9, 40, 2, 11], [25], [8, 8, 30]];
  for (const position_embedding_type of ['learned', 'sinusoidal', 'rope', 'alibi', 'relative'] as const) {
    manualSeed(1);
    const m = new GPT2LMHeadModel({ vocab_size: 50, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4, position_embedding_type, eos_token_id: null, bos_token_id: null });
    m.eval();
    const batch = await m.generate(prompts, { maxNewTokens: 8 });
    for (let i = 0; i < prompts.length; i++) {
      assert.deepEqual(batch[i], (await m.generate([prompts[i]!], { maxNewTokens: 8 }))[0], `${position_embedding_type}, row ${i}`);
    }
    const noCache = await m.generate(prompts, { maxNewTokens: 8, useCache: false });
    assert.deepEqual(noCache, batch, `${position_embedding_type}: cache vs recomputation`);
  }
});

test('decode matvecs (M = 1): the WASM kernels, split across threads, equal the TypeScript ones', async () => {
  const { randn, noGrad: ng } = await import('../src/index.js');
  const cpu = await import('../src/backend/cpu/index.js');
  const threads = cpu.getCpuThreads();
  cpu.setCpuThreads(Math.max(2, threads));
  try {
    // Conv1D-shaped [in, out] weights (row-major: split by rows) and an nn.Linear head (column-major).
    for (const [K, N, transposed] of [[768, 2304, false], [3072, 768, false], [200, 1001, false], [768, 5003, true], [130, 77, true]] as const) {
      const x = randn([1, 1, K]);
      const w = transposed ? randn([N, K]).mT : randn([K, N]);
      const prev = cpu.setCpuKernels('wasm');
      const fast = ng(() => x.matmul(w)).dataSync();
      cpu.setCpuKernels('ts');
      const ref = ng(() => x.matmul(w)).dataSync();
      cpu.setCpuKernels(prev);
      for (let i = 0; i < N; i++) assert.ok(Math.abs(fast[i]! - ref[i]!) <= 1e-4 * (1 + Math.abs(ref[i]!)) * Math.sqrt(K / 64), `K ${K} N ${N} col ${i}: ${fast[i]} vs ${ref[i]}`);
    }
  } finally {
    cpu.setCpuThreads(threads);
  }
});
