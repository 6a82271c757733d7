// The seq2seq training task (issue #11): pairs with EOS and one-line errors, token-budget batches,
// line-aligned files, Lead-3, and a tiny reverse task trained through the general Trainer to
// near-zero loss and decoded exactly.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, manualSeed, models } from '../src/index.js';
import { encodePairs, Seq2SeqTask, type EncodedPair } from '../src/tasks/seq2seq_task.js';
import { EpochBatcher } from '../src/train/batching.js';
import { lead3 } from '../src/tasks/lead3.js';
import { readParallelFiles, readPairsFile } from '../src/pipelines/finetune_data.js';
import { Trainer, type TrainingArguments } from '../src/train/trainer.js';

const words = (s: string) => s.split(' ').map((w) => w.charCodeAt(0) - 94); // 'a' → 3, ...
const enc = { encodeSource: words, encodeTarget: words, eosId: 2, maxSourceLength: 8, maxTargetLength: 8 };

test('encodePairs: EOS appended; empty and over-long lines are one-line errors naming the line, or truncated when asked', () => {
  assert.deepEqual(encodePairs([{ source: 'a b', target: 'c', line: 1 }], enc), [{ src: [3, 4, 2], tgt: [5, 2] }]);
  assert.throws(() => encodePairs([{ source: 'a', target: ' ', line: 7 }], { ...enc, source: 'f.tsv' }), /^InputError: f\.tsv: line 7: the target is empty$/);
  // With skipEmpty, such pairs are left out, said once with the count and the first line.
  const said: string[] = [];
  const kept = encodePairs([{ source: 'a', target: 'b', line: 1 }, { source: '', target: 'x', line: 2 }, { source: 'c', target: '\t', line: 3 }],
    { ...enc, source: 'g.jsonl', skipEmpty: true, warn: (m) => said.push(m) });
  assert.equal(kept.length, 1);
  assert.deepEqual(said, ['g.jsonl: 2 pair(s) with an empty source or target left out (the first at line 2)']);
  assert.throws(() => encodePairs([{ source: '', target: 'x', line: 4 }], { ...enc, skipEmpty: false }), /line 4: the source is empty \(remove the line, or pass --skip-empty\)$/);
  const long = 'a b c d e f g h i';
  assert.throws(() => encodePairs([{ source: long, target: 'a', line: 3 }], enc), /line 3: the source has 10 tokens \(with EOS\), more than --max-source-length 8; raise it, or pass --truncate/);
  const warned: string[] = [];
  const cut = encodePairs([{ source: long, target: 'a', line: 3 }], { ...enc, truncate: true, warn: (m) => warned.push(m) });
  assert.equal(cut[0]!.src.length, 8);
  assert.equal(cut[0]!.src[7], 2);
  assert.match(warned[0]!, /1 pair\(s\) longer than the limits were truncated/);
});

test('token-budget batches: within the budget, every pair once an epoch, similar lengths together', () => {
  const lengths = Array.from({ length: 500 }, (_, i) => 2 + ((i * 37) % 40));
  const b = EpochBatcher.byTokens(lengths, 200);
  const gen = new Generator(3);
  const seen: number[] = [];
  for (let k = 0; k < b.batchesPerEpoch; k++) {
    const batch = b.next(gen);
    const longest = Math.max(...batch.map((i) => lengths[i]!));
    assert.ok(longest * batch.length <= 200, `batch of ${batch.length} × ${longest}`);
    assert.ok(longest - Math.min(...batch.map((i) => lengths[i]!)) <= 4, 'lengths in a batch are close');
    seen.push(...batch);
  }
  assert.deepEqual(seen.sort((x, y) => x - y), lengths.map((_, i) => i));
  assert.throws(() => EpochBatcher.byTokens([10, 300], 200), /--max-tokens 200 is smaller than the longest pair \(300 tokens\)/);
});

test('parallel files: line-aligned pairs; different line counts name both counts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-par-'));
  try {
    writeFileSync(join(dir, 'a.de'), 'ein Hund\nzwei Katzen\n');
    writeFileSync(join(dir, 'a.en'), 'a dog\ntwo cats\n');
    writeFileSync(join(dir, 'b.en'), 'a dog\n');
    assert.deepEqual(readParallelFiles(join(dir, 'a.de'), join(dir, 'a.en')), [
      { source: 'ein Hund', target: 'a dog', line: 1 }, { source: 'zwei Katzen', target: 'two cats', line: 2 }]);
    assert.throws(() => readParallelFiles(join(dir, 'a.de'), join(dir, 'b.en')), /a\.de has 2 lines but .*b\.en has 1; parallel files must be line-aligned/);
    writeFileSync(join(dir, 'd.jsonl'), JSON.stringify({ source: 'A: hi\nB: hello', summary: 'A greets B.' }) + '\n');
    assert.deepEqual(readPairsFile(join(dir, 'd.jsonl'), { source: 'source', target: 'summary' }), [{ source: 'A: hi\nB: hello', target: 'A greets B.', line: 1 }]);
    assert.throws(() => readPairsFile(join(dir, 'd.jsonl'), { source: 'dialogue', target: 'summary' }), /d\.jsonl: .*dialogue/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Lead-3: the first three utterances of a dialogue, or sentences of a paragraph', () => {
  assert.equal(lead3('A: hi\r\nB: hello\r\n\r\nA: how are you?\r\nB: fine'), 'A: hi\nB: hello\nA: how are you?');
  assert.equal(lead3('One. Two! Three? Four.'), 'One.\nTwo!\nThree?');
});

test('a tiny reverse task trains through the Trainer to near-zero loss and greedy decoding reverses', { timeout: 60_000 }, async () => {
  manualSeed(11);
  const model = new models.Seq2SeqTransformer(models.seq2seqConfig({ vocab_size: 12, d_model: 64, nhead: 4, num_encoder_layers: 2, num_decoder_layers: 2,
    dim_feedforward: 128, dropout: 0, max_position_embeddings: 16, share_embeddings: true }));
  const gen = new Generator(5);
  const make = (n: number): EncodedPair[] => Array.from({ length: n }, () => {
    const seq = Array.from({ length: 3 + gen.int(0, 3) }, () => 3 + gen.int(0, 9));
    return { src: [...seq, 2], tgt: [...seq].reverse().concat(2) };
  });
  const train = make(4000), val = make(20);
  const decode = async (m: unknown, sources: number[][]) => {
    const out = await (m as models.Seq2SeqTransformer).generate(sources, { maxNewTokens: 8, eosTokenId: 2, padTokenId: 0 });
    return out.map((r) => r.slice(1).filter((t) => t !== 2 && t !== 0));
  };
  const task = new Seq2SeqTask(train, val, { maxTokens: 64, padId: 0, decoderStartId: 1, labelSmoothing: 0, metric: 'bleu', decode,
    detokenize: (ids) => ids.join(' '), references: val.map((p) => p.tgt.slice(0, -1).join(' ')) });
  const args: TrainingArguments = { maxIters: 1200, lr: 3e-3, minLr: 1e-4, warmupIters: 50, lrDecayIters: 1200, schedule: 'cosine', weightDecay: 0,
    beta1: 0.9, beta2: 0.98, gradClip: 1, gradAccum: 1, evalInterval: 1200, logInterval: 100, seed: 1 };
  const res = await new Trainer(model, task, args, null).run({ quiet: true });
  assert.ok(res.lastMetrics.eval_loss! < 0.05, `eval ${JSON.stringify(res.lastMetrics)} train ${res.lastTrainLoss}`);
  assert.ok(Math.abs(res.lastMetrics.bleu! - 100) < 1e-9, `BLEU ${res.lastMetrics.bleu}`);
});
