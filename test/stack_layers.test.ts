// bench/recipes/stack_layers: a deeper pre-norm BERT from a shallower one (progressive stacking).
// Copying layers in order changes nothing; duplicated layers with halved residual outputs start near
// the original function (nearer than plain copies); post-norm models and missing layers are refused.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad } from '../src/index.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertModel, bertConfig } from '../src/models/bert/index.js';

const script = join(process.cwd(), 'dist', 'bench', 'recipes', 'stack_layers.js');
const stack = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

async function saveBert(dir: string, normFirst: boolean): Promise<BertModel> {
  manualSeed(11);
  const model = new BertModel(bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, position_embedding_type: 'alibi', norm_first: normFirst }));
  await model.savePretrained(dir);
  copyFileSync(join(process.cwd(), 'test', 'fixtures', 'qa', 'bert-tiny', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  model.eval();
  return model;
}

const x = tensor(Int32Array.from([2, 7, 9, 11, 5, 3]), { shape: [1, 6] });
const hidden = (m: BertModel) => noGrad(() => m.forward({ inputIds: x }).lastHiddenState.dataSync() as Float32Array);
const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

test('stack_layers: an in-order copy is the same model; halved duplicates start nearer the original than plain copies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-stack-'));
  try {
    const src = join(dir, 'src');
    const original = hidden(await saveBert(src, true));
    let r = stack(src, join(dir, 'same'), '0,1');
    assert.equal(r.status, 0, r.stderr);
    const same = await BertModel.fromPretrained(join(dir, 'same'));
    same.eval();
    assert.deepEqual(hidden(same), original);

    r = stack(src, join(dir, 'deep'), '0,0,1,1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /2 → 4 layers \(0, 0, 1, 1\)/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'deep', 'config.json'), 'utf8')).num_hidden_layers, 4);
    const deep = await BertModel.fromPretrained(join(dir, 'deep'));
    deep.eval();
    const names = (i: number) => deep.namedParameters().filter(([n]) => n.startsWith(`encoder.layer.${i}.`));
    const source = new Map((await BertModel.fromPretrained(src)).namedParameters());
    for (const i of [0, 1, 2, 3]) {
      for (const [name, p] of names(i)) {
        const from = source.get(name.replace(`layer.${i}.`, `layer.${i >> 1}.`))!;
        const halved = /(attention\.output|\.output)\.dense\./.test(name) && !name.includes('LayerNorm');
        assert.deepEqual(Array.from(p.dataSync()), Array.from(halved ? from.div(2).dataSync() : from.dataSync()), name);
      }
    }
    const stacked = hidden(deep);
    // The same four layers without the halving: every residual update counted twice.
    for (const [name, p] of deep.namedParameters()) if (/\.(attention\.output|output)\.dense\./.test(name)) p.copy_(p.mul(2));
    const plain = hidden(deep);
    const dStacked = distance(stacked, original), dPlain = distance(plain, original);
    assert.ok(dStacked < dPlain / 10, `halved duplicates ${dStacked.toFixed(4)} from the original, plain copies ${dPlain.toFixed(4)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stack_layers: one-line errors for a post-norm BERT, a missing layer and bad arguments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-stack-'));
  try {
    const post = join(dir, 'post'), pre = join(dir, 'pre');
    await saveBert(post, false);
    await saveBert(pre, true);
    let r = stack(post, join(dir, 'o'), '0,0,1');
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^stack_layers: stacking keeps the function of a pre-norm BERT \(norm_first\), and .*post is not one$/);
    r = stack(pre, join(dir, 'o'), '0,2');
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^stack_layers: layer 2 is not in .*pre, which has 2$/);
    r = stack(pre, join(dir, 'o'), '0,x');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^usage: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
