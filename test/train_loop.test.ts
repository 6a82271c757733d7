import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, memory } from '../src/index.js';
import { TokenStream, trainValSplit, causalBatch, maskTokens } from '../src/train/data.js';
import { Trainer, defaultTrainerConfig, type TrainerConfig } from '../src/train/trainer.js';
import { KneserNeyLM } from '../src/train/ngram.js';
import { TinyLM } from './helpers/tiny_lm.js';

// A small periodic corpus a bigram-with-context model can learn quickly.
const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(60);
const vocab = [...new Set(text)].sort();
const ids = Int32Array.from(text, (c) => vocab.indexOf(c));
const cfg = (over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  ...defaultTrainerConfig, batchSize: 4, blockSize: 16, maxIters: 30, lr: 3e-2, minLr: 3e-3, warmupIters: 5,
  lrDecayIters: 30, evalInterval: 10, evalIters: 2, logInterval: 1, seed: 7, ...over,
});

test('causal batches are windows with targets shifted by one', () => {
  const s = TokenStream.fromArray(Int32Array.from({ length: 100 }, (_, i) => i));
  const { x, y } = causalBatch(s, 3, 5, new Generator(1));
  const xs = x.tolist() as number[][], ys = y.tolist() as number[][];
  for (let b = 0; b < 3; b++) for (let t = 0; t < 5; t++) {
    assert.equal(ys[b]![t], xs[b]![t]! + 1);
    if (t > 0) assert.equal(xs[b]![t], xs[b]![t - 1]! + 1);
  }
  assert.throws(() => causalBatch(TokenStream.fromArray([1, 2, 3]), 1, 8, new Generator(1)), /block size 8 is larger than the data split \(3 tokens\)/);
});

test('train/val split keeps the last 10% for validation', () => {
  const { train, val } = trainValSplit(TokenStream.fromArray(Int32Array.from({ length: 1000 }, (_, i) => i)));
  assert.equal(train.length, 900);
  assert.equal(val.length, 100);
  const out = new Int32Array(1);
  val.read(0, 1, out);
  assert.equal(out[0], 900);
});

test('MLM masking: ~15% selected, of which 80% [MASK], 10% random, 10% kept; specials never', () => {
  const n = 200_000;
  const src = Int32Array.from({ length: n }, (_, i) => 5 + (i % 50));
  src[0] = 1; // a special token
  const { input, labels } = maskTokens(src, { maskId: 2, vocabSize: 60, specialIds: new Set([1]) }, new Generator(3));
  let selected = 0, masked = 0, kept = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === -100) { assert.equal(input[i], src[i]); continue; }
    selected++;
    assert.equal(labels[i], src[i]);
    if (input[i] === 2) masked++;
    else if (input[i] === src[i]) kept++;
  }
  assert.equal(labels[0], -100);
  assert.ok(Math.abs(selected / n - 0.15) < 0.005, `selected ${selected / n}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.01, `masked ${masked / selected}`);
  // kept includes random replacements that happened to draw the same id (1/60 of 10%)
  assert.ok(Math.abs(kept / selected - 0.1 - 0.1 / 60) < 0.01, `kept ${kept / selected}`);
});

test('Kneser–Ney: a proper distribution that beats lower orders on held-out text', () => {
  const { train, val } = { train: ids.subarray(0, 2400), val: ids.subarray(2400) };
  const V = vocab.length;
  const lm3 = new KneserNeyLM(3).fit(train, V);
  let sum = 0;
  for (let w = 0; w < V; w++) sum += Math.exp(lm3.logProb([ids[5]!, ids[6]!], w));
  assert.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to ${sum}`);
  const h1 = new KneserNeyLM(1).fit(train, V).crossEntropy(val);
  const h3 = lm3.crossEntropy(val);
  assert.ok(h3 < h1 * 0.5, `trigram ${h3} vs unigram ${h1}`);
  assert.ok(Number.isFinite(lm3.logProb([0, 0], V - 1))); // unseen continuation still > 0
});

test('trainer lowers the loss, is deterministic per seed, and keeps memory flat', async () => {
  const data = trainValSplit(TokenStream.fromArray(ids));
  const a = await new Trainer(new TinyLM(vocab.length, 16, 1), data, cfg()).run({ quiet: true });
  assert.ok(a.lastValLoss < Math.log(vocab.length) * 0.6, `val loss ${a.lastValLoss} vs uniform ${Math.log(vocab.length)}`);
  const before = memory();
  const b = await new Trainer(new TinyLM(vocab.length, 16, 1), data, cfg()).run({ quiet: true });
  assert.deepEqual(b.losses, a.losses);
  const after = memory();
  // the second run's model and optimizer state are still referenced; nothing else may grow per step
  assert.ok(after.numTensors - before.numTensors < 40, `tensors grew by ${after.numTensors - before.numTensors}`);
});

test('resuming from a checkpoint reproduces the uninterrupted losses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-resume-'));
  try {
    const data = trainValSplit(TokenStream.fromArray(ids));
    const full = await new Trainer(new TinyLM(vocab.length, 16, 1), data, cfg()).run({ quiet: true });
    // Run to step 20 (checkpoints at 0, 10, 20), then start over from the checkpoint.
    await new Trainer(new TinyLM(vocab.length, 16, 1), data, cfg({ maxIters: 20 }), dir).run({ quiet: true });
    assert.ok(existsSync(join(dir, 'checkpoints', 'latest.json')));
    assert.ok(existsSync(join(dir, 'checkpoints', 'best', 'model.safetensors')));
    const resumed = new Trainer(new TinyLM(vocab.length, 16, 99), data, cfg(), dir);
    assert.equal(await resumed.resume(), true);
    assert.equal(resumed.step, 20);
    const rest = await resumed.run({ quiet: true });
    assert.deepEqual(rest.losses, full.losses.filter((l) => l.step >= 20));
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(metrics[0]!), ['step', 'train_loss', 'val_loss', 'lr', 'tokens_per_s']);
    assert.ok(existsSync(join(dir, 'loss.svg')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token stream past the in-memory limit spills to a file and reads the same windows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-spill-'));
  try {
    const file = join(dir, 'text.txt');
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}: ${'abcdefghij'.slice(i % 10)}`);
    writeFileSync(file, lines.join('\n') + '\n');
    const chars = [...new Set(readFileSync(file, 'utf8'))].sort();
    const tok = { encode: (t: string) => ({ ids: Array.from(t, (c) => chars.indexOf(c)) }) };
    const inMemory = TokenStream.fromFiles([file], tok);
    const spilled = TokenStream.fromFiles([file], tok, { binPath: join(dir, 'tokens.bin'), maxInMemoryTokens: 1000 });
    assert.ok(spilled.path !== null && existsSync(spilled.path), 'the stream lives in a file');
    assert.equal(spilled.length, inMemory.length);
    const { val: v1 } = trainValSplit(inMemory), { val: v2 } = trainValSplit(spilled);
    const a = new Int32Array(50), b = new Int32Array(50);
    for (const start of [0, 123, v1.length - 50]) {
      v1.read(start, 50, a); v2.read(start, 50, b);
      assert.deepEqual(b, a);
    }
    assert.throws(() => TokenStream.fromFiles([file], tok, { maxInMemoryTokens: 1000 }), /pass binPath/);
    spilled.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
