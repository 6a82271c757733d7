// The task routes answer what the library's pipelines answer for the same input (classifyTexts,
// answer, runSeq2Seq), and /v1/attention returns the model's own attention probabilities.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fromPretrained } from '../src/models/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { noGrad, type Tensor } from '../src/index.js';
import { answer, classifyTexts, loadTaskModel } from '../src/pipelines/apply.js';
import { loadSeq2Seq, runSeq2Seq } from '../src/pipelines/seq2seq_apply.js';
import { BERT_DIR, GPT2_DIR, bertTask, call, seq2seqModel, serve, type Running } from './helpers/serve.js';

let server: Running, dirs: Record<string, string>;

before(async () => {
  dirs = { clf: await bertTask('classify'), qa: await bertTask('qa'), mt: await seq2seqModel() };
  server = await serve({ models: [{ name: 'clf', dir: dirs.clf! }, { name: 'qa', dir: dirs.qa! }, { name: 'mt', dir: dirs.mt! },
    { name: 'gpt2', dir: GPT2_DIR }, { name: 'bert', dir: BERT_DIR }] });
});
after(() => server.close());

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);

test('/v1/classify: the labels and probabilities classifyTexts gives', async () => {
  const texts = ['a wonderful film', 'dull and far too long', 'ok'];
  const want = await classifyTexts(await loadTaskModel(dirs.clf!, 'sequence-classification'), texts);
  const r = await call(server.url, '/v1/classify', { model: 'clf', input: texts });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.labels, want.labels);
  assert.equal(want.labels.length, 2);
  const data = r.body.data as { index: number; label: string; probs: Record<string, number> }[];
  data.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.equal(d.label, want.results[i]!.label);
    want.labels.forEach((l, j) => close(d.probs[l]!, want.results[i]!.probs[j]!, `text ${i} ${l}`));
  });
  const one = await call(server.url, '/v1/classify', { model: 'clf', input: 'ok' });
  assert.equal((one.body.data as { label: string }[])[0]!.label, want.results[2]!.label);
});

test('/v1/answer: the span answer() extracts', async () => {
  const question = 'Where did the cat sit?', context = 'The cat sat on the mat while the dog slept in the garden.';
  const [want] = await answer(await loadTaskModel(dirs.qa!, 'question-answering'), [{ id: '0', question, context }]);
  const r = await call(server.url, '/v1/answer', { model: 'qa', question, context });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.answer, want!.text);
  assert.equal(context.slice(r.body.start as number, r.body.end as number), want!.text);
  close(r.body.score as number, want!.score, 'score');
});

test('/v1/translate and /v1/summarize: the outputs runSeq2Seq gives', async () => {
  const inputs = ['the cat sat', 'a longer sentence to turn into something else'];
  const p = await loadSeq2Seq(dirs.mt!);
  for (const [verb, o] of [['translate', { numBeams: 2, maxNewTokens: 6 }], ['summarize', { maxNewTokens: 4 }]] as const) {
    const want = await runSeq2Seq(p, inputs, o);
    const r = await call(server.url, `/v1/${verb}`, { model: 'mt', input: inputs, max_tokens: o.maxNewTokens, ...('numBeams' in o ? { num_beams: o.numBeams } : {}) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual((r.body.data as { text: string }[]).map((d) => d.text), want, verb);
  }
});

test('/v1/attention: every layer and head of GPT-2 and BERT, as the model computes them; 404 for a seq2seq model', async () => {
  for (const [name, dir] of [['gpt2', GPT2_DIR], ['bert', BERT_DIR]] as const) {
    const text = 'the cat sat on the mat';
    const tok = await Tokenizer.fromPretrained(dir), m = await fromPretrained(dir);
    const ids = tok.encode(text).ids;
    const want = noGrad(() => (m.forward({ inputIds: [ids], outputAttentions: true }) as { attentions: Tensor[] }).attentions);
    const r = await call(server.url, '/v1/attention', { model: name, text });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.ids, ids);
    assert.equal((r.body.tokens as string[]).join(''), tok.decode(ids, { skipSpecialTokens: false }).replace(/ /g, name === 'bert' ? '' : ' '));
    const weights = r.body.weights as number[][][][];
    assert.equal(r.body.layers, want.length);
    assert.equal(weights.length, want.length);
    for (const [l, a] of want.entries()) {
      const [, H, T] = a.shape as [number, number, number];
      assert.equal(r.body.heads, H);
      const data = a.dataSync() as Float32Array;
      for (let h = 0; h < H; h++) for (let q = 0; q < T; q++) {
        const row = weights[l]![h]![q]!;
        assert.equal(row.length, T);
        row.forEach((x, k) => assert.ok(Math.abs(x - data[(h * T + q) * T + k]!) <= 5e-5, `${name} layer ${l} head ${h} [${q},${k}]`));
        assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-3, `${name} row sums to 1`);
      }
    }
    if (name === 'gpt2') assert.ok(weights[0]![0]![0]!.slice(1).every((x) => x === 0), 'causal: the first token sees only itself');
  }
  const r = await call(server.url, '/v1/attention', { model: 'mt', text: 'x' });
  assert.equal(r.status, 404);
  assert.match(r.body.error!.message, /encoder-decoder/);
});

test('/v1/embeddings of a seq2seq model: the encoder\'s states, mean-pooled over the real tokens of a padded batch', async () => {
  const p = await loadSeq2Seq(dirs.mt!);
  const inputs = ['a short one', 'a much longer input sentence than the first'];
  const r = await call(server.url, '/v1/embeddings', { model: 'mt', input: inputs, encoding_format: 'float' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const data = r.body.data as { embedding: number[] }[];
  for (const [i, text] of inputs.entries()) {
    const ids = p.tokenizer.encodeIds(text, { addSpecialTokens: true });
    const want = noGrad(() => p.model.encode({ inputIds: [ids] }).mean(1).dataSync() as Float32Array);
    assert.equal(data[i]!.embedding.length, want.length);
    data[i]!.embedding.forEach((x, d) => close(x, want[d]!, `input ${i} dim ${d}`));
  }
});
