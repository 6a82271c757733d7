// The masked-LM loss on masked positions only (BertForMaskedLM.maskedLmLoss) is the full forward's
// loss, with the same gradients, at a fraction of the vocabulary projection's cost.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, models, Generator } from '../src/index.js';
import { TokenStream, mlmBatch } from '../src/train/data.js';

test('maskedLmLoss equals forward()\'s MLM loss, value and gradients', () => {
  manualSeed(5);
  const model = new models.BertForMaskedLM(models.bertConfig({ vocab_size: 50, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  const stream = TokenStream.fromArray(Array.from({ length: 500 }, (_, i) => 5 + (i * 7) % 45));
  const batch = mlmBatch(stream, 4, 16, { maskId: 4, vocabSize: 50, specialIds: new Set([0, 1, 2, 3, 4]) }, new Generator(1));
  assert.ok(batch.masked.positions.shape[0]! > 0);
  const full = model.forward({ inputIds: batch.x, labels: batch.y }).loss!;
  full.backward();
  const gradsFull = model.parameters().map((p) => Array.from(p.grad!.dataSync()));
  model.zeroGrad();
  const part = model.maskedLmLoss({ inputIds: batch.x }, batch.masked.positions, batch.masked.targets);
  assert.ok(Math.abs(part.item() - full.item()) < 1e-6, `${part.item()} vs ${full.item()}`);
  part.backward();
  model.parameters().forEach((p, i) => {
    const g = p.grad!.dataSync();
    gradsFull[i]!.forEach((v, j) => assert.ok(Math.abs(v - g[j]!) <= 1e-6 + 1e-5 * Math.abs(v), `${p.name}[${j}]: ${v} vs ${g[j]}`));
  });
});

test('MLM windows are framed as [CLS] … [SEP] when the tokenizer has them: contiguous text between, specials never masked', () => {
  const stream = TokenStream.fromArray(Array.from({ length: 400 }, (_, i) => 5 + i % 45));
  const o = { maskId: 4, vocabSize: 50, specialIds: new Set([0, 1, 2, 3, 4]), clsId: 2, sepId: 3, prob: 0 };
  const batch = mlmBatch(stream, 3, 12, o, new Generator(9));
  const x = Array.from(batch.x.dataSync());
  for (let b = 0; b < 3; b++) {
    const row = x.slice(b * 12, (b + 1) * 12);
    assert.equal(row[0], 2);
    assert.equal(row[11], 3);
    // The 10 tokens between are a window of the stream: consecutive ids (mod 45).
    for (let t = 2; t < 11; t++) assert.equal((row[t]! - 5) % 45, (row[t - 1]! - 5 + 1) % 45, `row ${b}: ${row.join(' ')}`);
  }
  const masked = mlmBatch(stream, 8, 12, { ...o, prob: 0.5 }, new Generator(9));
  const y = masked.y.dataSync();
  for (let b = 0; b < 8; b++) assert.deepEqual([y[b * 12], y[b * 12 + 11]], [-100, -100], 'the frame is never a prediction target');
});

test('tlm train --objective mlm --position alibi --norm-first writes a pre-norm ALiBi BERT that reloads', { timeout: 120_000 }, async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tlm-mlm-'));
  const tlm = (args: string[]) => spawnSync(process.execPath, [join(process.cwd(), 'dist', 'src', 'cli', 'bin.js'), ...args], { encoding: 'utf8' });
  try {
    const data = ['--data', join(process.cwd(), 'data', 'tinyshakespeare.txt'), '--tokenizer', 'bpe', '--vocab-size', '300', '--n-layer', '1', '--n-head', '2',
      '--n-embd', '32', '--block-size', '16', '--batch-size', '4', '--eval-iters', '1', '--quiet'];
    const r = tlm(['train', '--objective', 'mlm', ...data, '--position', 'alibi', '--norm-first', '--max-iters', '40', '--eval-interval', '40', '--lr', '1e-2', '--out', join(dir, 'm')]);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(dir, 'm', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.position_embedding_type, config.norm_first], ['alibi', true]);
    const model = await models.fromPretrained(join(dir, 'm'));
    assert.ok(!model.namedParameters().some(([n]) => n.includes('position_embeddings')), 'ALiBi has no position table');
    const clm = tlm(['train', '--objective', 'clm', ...data, '--norm-first', '--out', join(dir, 'c')]);
    assert.equal(clm.status, 2);
    assert.match(clm.stderr, /--norm-first applies to --objective mlm/);
    // Continued pretraining from that model: same architecture and tokenizer, weights moved on from its own.
    const shakespeare = ['--data', join(process.cwd(), 'data', 'tinyshakespeare.txt'), '--block-size', '16', '--batch-size', '4', '--eval-iters', '50',
      '--max-iters', '2', '--eval-interval', '2', '--lr', '1e-4', '--quiet'];
    const cont = tlm(['train', '--objective', 'mlm', '--init-from', join(dir, 'm'), ...shakespeare, '--out', join(dir, 'm2')]);
    assert.equal(cont.status, 0, cont.stderr);
    assert.deepEqual(readFileSync(join(dir, 'm2', 'tokenizer.json'), 'utf8'), readFileSync(join(dir, 'm', 'tokenizer.json'), 'utf8'));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'm2', 'config.json'), 'utf8')), config);
    // It starts where the first run ended, not from a fresh init: its first validation loss is well below a fresh model's.
    const fresh = tlm(['train', '--objective', 'mlm', '--tokenizer', join(dir, 'm'), '--position', 'alibi', '--norm-first', '--n-layer', '1', '--n-head', '2',
      '--n-embd', '32', ...shakespeare, '--out', join(dir, 'm3')]);
    assert.equal(fresh.status, 0, fresh.stderr);
    const firstVal = (d: string) => (JSON.parse(readFileSync(join(dir, d, 'metrics.jsonl'), 'utf8').split('\n')[0]!) as { val_loss: number }).val_loss;
    assert.ok(firstVal('m2') < firstVal('m3') - 0.15, `continued ${firstVal('m2')} vs fresh ${firstVal('m3')}`);
    const wrong = tlm(['train', '--objective', 'mlm', '--init-from', join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny'), ...data.slice(0, 2), '--out', join(dir, 'w')]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--init-from .*gpt2-tiny holds a GPT2LMHeadModel, which is not a masked LM/);
    const mixed = tlm(['train', '--objective', 'mlm', '--init-from', join(dir, 'm'), ...data.slice(0, 2), '--norm-first', '--out', join(dir, 'x')]);
    assert.match(mixed.stderr, /--init-from takes the model's own architecture/);

  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
