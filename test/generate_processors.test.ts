// Logits processors, samplers, stopping criteria and the streamer's detokenizer, against values
// computed by hand (and HF's semantics where they are subtle).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelDecoderFrom } from './helpers/byte_decoder.js';
import {
  TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, RepetitionPenaltyLogitsProcessor, NoRepeatNGramLogitsProcessor,
  MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor, LogitsProcessorList, kthLargest, bannedNgramTokens,
  argmax, sampleFromScores, MaxNewTokensCriteria, EosTokenCriteria, StopSequenceCriteria, StopStringCriteria, StoppingCriteriaList,
  findStopString, partialStopSuffix, IncrementalDetokenizer, TextStreamer, TextIteratorStreamer, logSoftmaxInPlace, type TokenDecoder,
} from '../src/generate/index.js';
import { Generator } from '../src/tensor/random.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const NEG = -Infinity;

test('temperature divides the scores', () => {
  const s = [f32([1, 2, -3])];
  new TemperatureLogitsWarper(2).process([[0]], s);
  assert.deepEqual([...s[0]!], [0.5, 1, -1.5]);
  assert.throws(() => new TemperatureLogitsWarper(0), /temperature must be a positive number/);
});

test('kthLargest matches a sort on random rows', () => {
  const g = new Generator(3);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + g.int(0, 200);
    const xs = Float32Array.from({ length: n }, () => Math.round(g.normal() * 5)); // many ties
    const sorted = Array.from(xs).sort((a, b) => b - a);
    const k = 1 + g.int(0, n);
    assert.equal(kthLargest(xs, k), sorted[k - 1]);
  }
});

test('top-k keeps the k best, and ties with the k-th (HF: remove score < kth)', () => {
  const s = [f32([1, 4, 2, 3]), f32([1, 3, 2, 3, 0])];
  new TopKLogitsWarper(2).process([[], []], s);
  assert.deepEqual([...s[0]!], [NEG, 4, NEG, 3]);
  assert.deepEqual([...s[1]!], [NEG, 3, NEG, 3, NEG]);
  const big = [f32([1, 2])];
  new TopKLogitsWarper(10).process([[]], big);
  assert.deepEqual([...big[0]!], [1, 2]);
});

test('top-p keeps the smallest set with mass >= p, at least one token', () => {
  const probs = [0.15, 0.5, 0.05, 0.3];
  const run = (p: number, minKeep = 1) => {
    const s = [f32(probs.map(Math.log))];
    new TopPLogitsWarper(p, minKeep).process([[]], s);
    return [...s[0]!].map((v) => v > NEG);
  };
  assert.deepEqual(run(0.75), [false, true, false, true]);     // 0.5 + 0.3 = 0.8 >= 0.75
  assert.deepEqual(run(0.85), [true, true, false, true]);      // + 0.15 = 0.95
  assert.deepEqual(run(0.4), [false, true, false, false]);     // the top token alone has 0.5
  assert.deepEqual(run(0), [false, true, false, false]);       // never empty
  assert.deepEqual(run(0.1, 3), [true, true, false, true]);    // minTokensToKeep
  assert.deepEqual(run(1), [true, true, true, true]);
  // Kept scores are untouched.
  const s = [f32([0, 1, 2])];
  new TopPLogitsWarper(0.5).process([[]], s);
  assert.deepEqual([...s[0]!], [NEG, NEG, 2]);
});

test('top-p breaks ties at the boundary by keeping the lowest ids only as far as needed', () => {
  const s = [f32([0, 0, 0, 0])]; // 4 × 0.25
  new TopPLogitsWarper(0.5).process([[]], s);
  assert.deepEqual([...s[0]!].map((v) => v > NEG), [true, true, false, false]);
});

test('repetition penalty divides positive and multiplies negative scores of seen tokens (HF)', () => {
  const s = [f32([2, -2, 1, 0.5]), f32([2, -2, 1, 0.5])];
  new RepetitionPenaltyLogitsProcessor(2).process([[0, 1, 1], [3]], s);
  assert.deepEqual([...s[0]!], [1, -4, 1, 0.5]); // token 1 seen twice, penalised once
  assert.deepEqual([...s[1]!], [2, -2, 1, 0.25]);
});

test('no-repeat-ngram bans the tokens that would repeat an n-gram', () => {
  assert.deepEqual(bannedNgramTokens([1, 2, 3, 1], 2), [2]);
  assert.deepEqual(bannedNgramTokens([1, 2, 3, 1, 2], 3), [3]);
  assert.deepEqual(bannedNgramTokens([1, 2, 1, 3, 1], 2), [2, 3]);
  assert.deepEqual(bannedNgramTokens([5], 3), []);
  assert.deepEqual(bannedNgramTokens([7, 7], 1), [7, 7]);
  const s = [f32([0, 0, 0, 0])];
  new NoRepeatNGramLogitsProcessor(2).process([[1, 2, 3, 1]], s);
  assert.deepEqual([...s[0]!], [0, 0, NEG, 0]);
});

test('min length and min new tokens suppress EOS until reached', () => {
  const s = () => [f32([1, 1, 1]), f32([1, 1, 1])];
  const a = s();
  new MinLengthLogitsProcessor(3, [0]).process([[5, 5], [5, 5, 5]], a);
  assert.deepEqual([...a[0]!], [NEG, 1, 1]);
  assert.deepEqual([...a[1]!], [1, 1, 1]);
  const b = s();
  new MinNewTokensLengthLogitsProcessor([2, 1], 2, [0, 2]).process([[5, 5, 5], [5, 5, 5]], b);
  assert.deepEqual([...b[0]!], [NEG, 1, NEG]); // 1 new token < 2
  assert.deepEqual([...b[1]!], [1, 1, 1]);     // 2 new tokens
});

test('a processor list applies in order: temperature then top-k', () => {
  const s = [f32([2, 4, 6])];
  new LogitsProcessorList([new TemperatureLogitsWarper(2), new TopKLogitsWarper(1)]).process([[]], s);
  assert.deepEqual([...s[0]!], [NEG, NEG, 3]);
});

test('logSoftmax in place', () => {
  const r = f32([1, 2, 3]);
  logSoftmaxInPlace(r);
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  [1, 2, 3].forEach((v, i) => assert.ok(Math.abs(r[i]! - (v - lse)) < 1e-6));
});

test('argmax takes the first of equal maxima; NaN scores are an error', () => {
  assert.equal(argmax(f32([1, 3, 3, 2])), 1);
  assert.throws(() => argmax(f32([1, NaN])), /NaN/);
  assert.throws(() => argmax(f32([NEG, NEG])), /every token was removed/);
});

test('sampling: a seed fixes the draws, and frequencies follow the probabilities', () => {
  const row = f32([0.1, 0.2, 0.7].map(Math.log));
  const draw = (seed: number, n: number) => { const g = new Generator(seed); return Array.from({ length: n }, () => sampleFromScores(row, g)); };
  assert.deepEqual(draw(7, 50), draw(7, 50));
  assert.notDeepEqual(draw(7, 50), draw(8, 50));
  const counts = [0, 0, 0];
  for (const t of draw(1, 20000)) counts[t]!++;
  [0.1, 0.2, 0.7].forEach((p, i) => assert.ok(Math.abs(counts[i]! / 20000 - p) < 0.015, `token ${i}: ${counts[i]! / 20000} vs ${p}`));
  // A removed token is never drawn.
  const masked = f32([NEG, 0, NEG]);
  assert.ok(draw(2, 100).length && Array.from({ length: 100 }, () => sampleFromScores(masked, new Generator(5))).every((t) => t === 1));
});

test('stopping criteria: max new tokens, EOS (not in the prompt), stop sequences', () => {
  assert.deepEqual(new MaxNewTokensCriteria(2).check([[1, 2, 3, 4], [1, 2, 3, 4]], [2, 3]), [true, false]);
  assert.deepEqual(new EosTokenCriteria([0]).check([[5, 0], [5, 6, 0]], [2, 2]), [false, true]);
  assert.deepEqual(new StopSequenceCriteria([[3, 4]]).check([[1, 3, 4], [3, 4, 3, 4]], [1, 3]), [true, false]);
  const list = new StoppingCriteriaList([new MaxNewTokensCriteria(5), new EosTokenCriteria([9])]);
  assert.deepEqual(list.check([[1, 9]], [1]), [true]);
});

// A tokenizer whose tokens are single bytes: any character outside ASCII spans several tokens.
const byteTokenizer: TokenDecoder = { decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids)) };
const bytesOf = (s: string) => Array.from(new TextEncoder().encode(s));

test('stop strings are found in decoded text, whatever the tokens that spell them', () => {
  const c = new StopStringCriteria(byteTokenizer, ['\n\n', '終']);
  const row = (gen: string) => [65, 66, ...bytesOf(gen)];
  assert.deepEqual(c.check([row('hello\n'), row('hello\n\n')], [2, 2]), [false, true]);
  assert.deepEqual(c.check([row('ab終'), row('終')], [2, 2]), [true, true]);
  // A multi-byte stop string still incomplete: not yet.
  assert.deepEqual(c.check([[65, 66, ...bytesOf('ab').concat(bytesOf('終').slice(0, 2))]], [2]), [false]);
  // The prompt does not count.
  assert.deepEqual(new StopStringCriteria(byteTokenizer, ['x']).check([[120]], [1]), [false]);
  assert.deepEqual(findStopString('abcSTOPdefEND', ['END', 'STOP']), { index: 3, stop: 'STOP' });
  assert.equal(partialStopSuffix('text ST', ['STOP']), 2);
  assert.equal(partialStopSuffix('text', ['STOP']), 0);
});

function checkStream(tok: TokenDecoder, ids: number[], expected: string): number {
  const detok = new IncrementalDetokenizer(tok);
  const pieces: string[] = [];
  for (const id of ids) { const p = detok.push([id]); if (p) pieces.push(p); }
  const rest = detok.flush();
  if (rest) pieces.push(rest);
  assert.equal(pieces.join(''), expected);
  for (const p of pieces) {
    assert.ok(!p.includes('\uFFFD'), `piece ${JSON.stringify(p)} holds a replacement character`);
    assert.equal(new TextDecoder().decode(new TextEncoder().encode(p)), p, 'each piece is whole characters');
  }
  // How many tokens on their own were not whole characters: the case the streamer exists for.
  return ids.filter((id) => tok.decode([id]).includes('\uFFFD')).length;
}

test('the streamer never splits a UTF-8 character (one token per byte)', () => {
  const text = 'naïve café — 背景介绍 😀!';
  const partial = checkStream(byteTokenizer, bytesOf(text), text);
  assert.ok(partial > 10);
});


const fixtureDir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');

test('the streamer never splits a character of byte-level BPE (gpt2-tiny tokenizer, CJK text)', () => {
  const expected = JSON.parse(readFileSync(join(fixtureDir, 'expected.json'), 'utf8')) as { texts: string[]; ids: number[][] };
  const tok = byteLevelDecoderFrom(join(fixtureDir, 'tokenizer.json'));
  for (let i = 0; i < expected.texts.length; i++) {
    assert.equal(tok.decode(expected.ids[i]!), expected.texts[i], `decoder sanity, text ${i}`);
    const partial = checkStream(tok, expected.ids[i]!, expected.texts[i]!);
    if (i === 2) assert.ok(partial > 100, `the CJK text should have many tokens that are part of a character (got ${partial})`);
  }
});

test('TextStreamer skips the prompt and hands out whole characters; TextIteratorStreamer iterates them', async () => {
  const got: [string, boolean][] = [];
  const s = new TextStreamer(byteTokenizer, { onText: (t, end) => got.push([t, end]) });
  s.put(bytesOf('prompt '));
  for (const b of bytesOf('é!')) s.put([b]);
  s.end();
  assert.deepEqual(got, [['é', false], ['!', false], ['', true]]);

  const it = new TextIteratorStreamer(byteTokenizer);
  const consumer = (async () => { const out: string[] = []; for await (const p of it) out.push(p); return out; })();
  it.put([1]);
  for (const b of bytesOf('猫x')) { it.put([b]); await new Promise((r) => setImmediate(r)); }
  it.end();
  assert.deepEqual(await consumer, ['猫', 'x']);
});
