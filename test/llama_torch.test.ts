// The Llama family against PyTorch (issue #15): tiny random Llama (GQA, untied head, llama3 RoPE
// scaling), Qwen2 (q/k/v biases, tied, one KV head) and Mistral (sliding window 4 < the sequence,
// head_dim ≠ hidden/heads, linear RoPE scaling), written by scripts/torch_llama.py as HF's
// save_pretrained would, with the reference logits, loss, gradients and greedy tokens (float64 torch).
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io, models, noGrad, tensor, type Tensor } from '../src/index.js';
import { ErrorLog } from './nn_util.js';

const DIR = path.join(process.cwd(), 'test', 'fixtures', 'llama');
const CASES = ['llama', 'qwen2', 'mistral'] as const;
const ARCH = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' };

interface Expected { inputIds: number[][]; labels: number[][]; prompts: number[][]; greedy: number[][]; grads: string[] }
const expectedOf = (name: string) => JSON.parse(fs.readFileSync(path.join(DIR, name, 'expected.json'), 'utf8')) as Expected;
const storeOf = async (name: string) => io.loadSafetensors(path.join(DIR, name, 'expected.safetensors'));
const floats = (t: Tensor) => t.dataSync() as Float32Array;
const quiet = { warn: (m: string) => { throw new Error(`unexpected warning: ${m}`); } };

const log = new ErrorLog();
after(() => log.report('llama fixture'));

/** Row r's logits at positions [from, from + n) of a [B, T, V] tensor. */
function rowLogits(logits: Tensor, r: number, from: number, n: number): Float32Array {
  return floats(logits.select(0, r).narrow(0, from, n).contiguous());
}

for (const name of CASES) {
  test(`${name}: fromPretrained picks ${ARCH[name]} and reproduces torch's logits`, async () => {
    const model = await models.fromPretrained(path.join(DIR, name), { strict: true, ...quiet });
    assert.equal(model.architecture, ARCH[name]);
    assert.equal(model.training, false);
    const ex = expectedOf(name), store = await storeOf(name);
    const out = noGrad(() => model.forward({ inputIds: ex.inputIds }));
    assert.deepEqual(out.logits!.shape, store.logits!.shape);
    log.check(name, 'logits', floats(out.logits!), floats(store.logits!));
  });

  test(`${name}: loss and gradients match torch`, async () => {
    const model = await models.fromPretrained(path.join(DIR, name), { strict: true, ...quiet });
    const ex = expectedOf(name), store = await storeOf(name);
    const out = model.forward({ inputIds: ex.inputIds, labels: ex.labels });
    log.check(name, 'loss', [out.loss!.item()], floats(store.loss!));
    out.loss!.backward();
    const params = Object.fromEntries(model.namedParameters());
    for (const key of ex.grads) {
      const p = params[key];
      assert.ok(p, `${name} has no parameter ${key}`);
      assert.ok(p.grad, `${key} got no gradient`);
      log.check(name, `grad ${key}`, floats(p.grad), floats(store[`grad.${key}`]!));
    }
  });

  test(`${name}: greedy tokens equal torch's, with and without the KV cache`, async () => {
    const model = await models.fromPretrained(path.join(DIR, name), { strict: true, ...quiet });
    const ex = expectedOf(name);
    for (const useCache of [true, false]) {
      for (let r = 0; r < ex.prompts.length; r++) {
        const [seq] = await model.generate([ex.prompts[r]!], { maxNewTokens: 10, doSample: false, eosTokenId: null, useCache });
        assert.deepEqual(seq!.slice(ex.prompts[r]!.length), ex.greedy[r], `${name} row ${r} useCache ${useCache}`);
      }
    }
  });

  test(`${name}: a left-padded batch gives each row its own logits and greedy tokens`, async () => {
    const model = await models.fromPretrained(path.join(DIR, name), { strict: true, ...quiet });
    const ex = expectedOf(name), store = await storeOf(name);
    const [long, short] = ex.prompts as [number[], number[]];
    const pad = long.length - short.length;
    // Padding slots hold an arbitrary token: the mask and per-row positions must hide it.
    const ids = [long, [...new Array<number>(pad).fill(7), ...short]];
    const mask = [long.map(() => 1), [...new Array<number>(pad).fill(0), ...short.map(() => 1)]];
    const positionIds = [long.map((_, i) => i), [...new Array<number>(pad).fill(0), ...short.map((_, i) => i)]];
    const out = noGrad(() => model.forward({ inputIds: ids, attentionMask: mask, positionIds }));
    log.check(name, 'padded logits row 0', rowLogits(out.logits!, 0, 0, long.length), rowLogits(store.logits!, 0, 0, long.length));
    log.check(name, 'padded logits row 1', rowLogits(out.logits!, 1, pad, short.length), rowLogits(store.logits!, 1, 0, short.length));
    for (const useCache of [true, false]) {
      const seqs = await model.generate([long, short], { maxNewTokens: 10, doSample: false, eosTokenId: null, useCache });
      assert.deepEqual(seqs.map((s, r) => s.slice(ex.prompts[r]!.length)), ex.greedy, `${name} batched, useCache ${useCache}`);
    }
  });
}

test('generation_config.json: eos_token_id as a list stops generation at any of its ids', async () => {
  const model = await models.fromPretrained(path.join(DIR, 'llama'), { strict: true, ...quiet });
  assert.deepEqual(model.generationConfig?.eos_token_id, [2, 3]);
  const ex = expectedOf('llama');
  const prompt = ex.prompts[1]!, greedy = ex.greedy[1]!;
  // Where the reference continuation first emits one of the ids: generation must end there.
  const stopAt = (ids: number[]) => { const i = greedy.findIndex((t) => ids.includes(t)); return i < 0 ? greedy.length : i + 1; };
  assert.ok(stopAt([2, 3]) < greedy.length, 'the fixture emits an EOS of generation_config.json within 10 tokens');
  const [seq] = await model.generate([prompt], { maxNewTokens: 10, doSample: false });
  assert.deepEqual(seq, [...prompt, ...greedy.slice(0, stopAt([2, 3]))]);
  // Without generation_config.json, config.json's eos_token_id (2) alone applies.
  model.generationConfig = undefined;
  const [seq2] = await model.generate([prompt], { maxNewTokens: 10, doSample: false });
  assert.deepEqual(seq2, [...prompt, ...greedy.slice(0, stopAt([2]))]);
  assert.notEqual(stopAt([2]), stopAt([2, 3]));
});

test('llama: KV-cached decoding gives the full forward\'s logits, step by step', async () => {
  const model = await models.fromPretrained(path.join(DIR, 'mistral'), { strict: true, ...quiet });
  const ex = expectedOf('mistral'), store = await storeOf('mistral');
  const ids = ex.inputIds[0]!;
  // Prefill 3 tokens, then one at a time: the sliding window (4) must hold across the cache.
  let past = noGrad(() => model.forward({ inputIds: [ids.slice(0, 3)], useCache: true }));
  log.check('mistral', 'prefill', rowLogits(past.logits!, 0, 0, 3), rowLogits(store.logits!, 0, 0, 3));
  for (let t = 3; t < ids.length; t++) {
    const prev = past.presentKeyValues!;
    past = noGrad(() => model.forward({ inputIds: [[ids[t]!]], pastKeyValues: prev, useCache: true }));
    assert.deepEqual(past.presentKeyValues![0]!.key.shape, [1, 2, t + 1, 12], 'the cache keeps the 2 KV heads, unrepeated');
    log.check('mistral', `cached step ${t}`, rowLogits(past.logits!, 0, 0, 1), rowLogits(store.logits!, 0, t, 1));
  }
});

test('llama: logitsToKeep, outputHiddenStates and outputAttentions', async () => {
  const model = await models.fromPretrained(path.join(DIR, 'mistral'), { strict: true, ...quiet });
  const ex = expectedOf('mistral'), store = await storeOf('mistral');
  const out = noGrad(() => model.forward({ inputIds: ex.inputIds, logitsToKeep: 1, outputHiddenStates: true, outputAttentions: true }));
  assert.deepEqual(out.logits!.shape, [2, 1, 64]);
  log.check('mistral', 'last logits', rowLogits(out.logits!, 1, 0, 1), rowLogits(store.logits!, 1, 7, 1));
  assert.equal(out.hiddenStates!.length, 3);
  assert.equal(out.attentions!.length, 2);
  // Sliding window 4: the last query sees keys 4..7 only, and none before.
  const w = floats(out.attentions![0]!.select(0, 0).select(0, 0).select(0, 7).contiguous());
  assert.deepEqual(Array.from(w.slice(0, 4)), [0, 0, 0, 0]);
  assert.ok(Math.abs(w.slice(4).reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test('llama: inputsEmbeds give the same logits as inputIds', async () => {
  const model = await models.fromPretrained(path.join(DIR, 'qwen2'), { strict: true, ...quiet }) as models.LlamaForCausalLM;
  const ex = expectedOf('qwen2'), store = await storeOf('qwen2');
  const embeds = noGrad(() => model.model.embed_tokens.forward(tensor(Int32Array.from(ex.inputIds.flat()), { shape: [2, 8] })));
  const out = noGrad(() => model.forward({ inputsEmbeds: embeds }));
  log.check('qwen2', 'logits from inputsEmbeds', floats(out.logits!), floats(store.logits!));
});
