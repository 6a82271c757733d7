// tlm serve against the official `openai` npm client: completions and chat completions (streaming
// and not), embeddings; the text equals what the library's own greedy generate() gives for the same
// prompt, usage counts are exact, and 16 concurrent greedy requests each equal the request alone.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { fromPretrained, type PreTrainedModel } from '../src/models/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { noGrad, tidy } from '../src/index.js';
import type { GenerationModel } from '../src/generate/index.js';
import { BERT_DIR, GPT2_DIR, serve, tempDir, type Running } from './helpers/serve.js';

let server: Running, client: OpenAI, model: PreTrainedModel, tok: Tokenizer;
const EOS = 0; // gpt2-tiny's config

// A copy of gpt2-tiny whose tokenizer_config.json carries a chat template.
const templated = tempDir();
const TEMPLATE = "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

before(async () => {
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) copyFileSync(join(GPT2_DIR, f), join(templated, f));
  writeFileSync(join(templated, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: '<|endoftext|>' }, eos_token: '<|endoftext|>', chat_template: TEMPLATE }));
  server = await serve({ models: [{ name: 'gpt2', dir: GPT2_DIR }, { name: 'chat', dir: templated }, { name: 'bert', dir: BERT_DIR }], maxBatch: 16 });
  client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1`, maxRetries: 0 });
  model = await fromPretrained(GPT2_DIR);
  tok = await Tokenizer.fromPretrained(GPT2_DIR);
});
after(() => server.close());

/** The library's greedy continuation: text, token counts, finish reason, each token's logprob. */
async function reference(prompt: string, maxNew: number) {
  const ids = tok.encodeIds(prompt, { addSpecialTokens: false });
  const out = await (model as unknown as GenerationModel & { generate: PreTrainedModel['generate'] }).generate([ids], { maxNewTokens: maxNew, returnDictInGenerate: true, outputLogits: true }) as unknown as { sequences: number[][]; logits: Float32Array[][] };
  const gen = out.sequences[0]!.slice(ids.length);
  const logprobs = gen.map((t, i) => {
    const row = out.logits[i]![0]!, max = Math.max(...row);
    return row[t]! - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
  });
  return {
    ids, gen, text: tok.decode(gen, { skipSpecialTokens: true }), promptTokens: ids.length, completionTokens: gen.length, logprobs,
    finish: gen.at(-1) === EOS ? 'stop' : 'length',
  };
}

test('completions: non-streaming text, usage and logprobs equal the library\'s greedy generate()', async () => {
  const prompt = 'First Citizen:\nBefore we';
  const ref = await reference(prompt, 12);
  const r = await client.completions.create({ model: 'gpt2', prompt, max_tokens: 12, temperature: 0, logprobs: 3 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0]!.text, ref.text);
  assert.equal(r.choices[0]!.finish_reason, ref.finish);
  assert.deepEqual(r.usage, { prompt_tokens: ref.promptTokens, completion_tokens: ref.completionTokens, total_tokens: ref.promptTokens + ref.completionTokens });
  const lp = r.choices[0]!.logprobs!;
  assert.equal(lp.token_logprobs!.length, ref.gen.length);
  lp.token_logprobs!.forEach((x, i) => assert.ok(Math.abs(x - ref.logprobs[i]!) < 1e-4, `token ${i}: ${x} vs ${ref.logprobs[i]}`));
  for (const [i, top] of lp.top_logprobs!.entries()) {
    const values = Object.values(top);
    assert.ok(values.length >= 1 && values.length <= 3);
    // Greedy picks the likeliest token: its logprob is the top alternative's.
    assert.ok(Math.abs(Math.max(...values) - lp.token_logprobs![i]!) < 1e-6);
  }
});

test('completions: streaming chunks share one id, concatenate to the greedy text, finish_reason last, usage chunk, [DONE]', async () => {
  const prompt = 'The king said';
  const ref = await reference(prompt, 20);
  const stream = await client.completions.create({ model: 'gpt2', prompt, max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  assert.equal(withChoices.map((c) => c.choices[0]!.text).join(''), ref.text);
  assert.deepEqual(withChoices.map((c) => c.choices[0]!.finish_reason).filter((f) => f !== null), [ref.finish]);
  assert.equal(withChoices.at(-1)!.choices[0]!.finish_reason, ref.finish);
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: ref.promptTokens, completion_tokens: ref.completionTokens, total_tokens: ref.promptTokens + ref.completionTokens });
});

test('completions: a stop string cuts the text before it (not returned); usage counts the tokens read', async () => {
  const prompt = 'First Citizen:\nBefore we';
  const ref = await reference(prompt, 12);
  const stop = ref.text.slice(4, 6);
  const r = await client.completions.create({ model: 'gpt2', prompt, max_tokens: 12, temperature: 0, stop: [stop, 'never-appears'] });
  assert.equal(r.choices[0]!.text, ref.text.slice(0, ref.text.indexOf(stop)));
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  let k = 1;
  while (!tok.decode(ref.gen.slice(0, k), { skipSpecialTokens: true }).includes(stop)) k++;
  assert.equal(r.usage!.completion_tokens, k);
  // Streaming gives the same text.
  const s = await client.completions.create({ model: 'gpt2', prompt, max_tokens: 12, temperature: 0, stop, stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0]!.text);
});

test('completions: n choices, a batch of prompts, token-id prompts; seeded sampling is reproducible', async () => {
  const r = await client.completions.create({ model: 'gpt2', prompt: ['Hello', 'Good night'], max_tokens: 5, temperature: 0, n: 2 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
  const [a, b] = await Promise.all([reference('Hello', 5), reference('Good night', 5)]);
  assert.deepEqual(r.choices.map((c) => c.text), [a.text, a.text, b.text, b.text]);
  assert.equal(r.usage!.prompt_tokens, a.promptTokens + b.promptTokens);
  const ids = await client.completions.create({ model: 'gpt2', prompt: a.ids, max_tokens: 5, temperature: 0 });
  assert.equal(ids.choices[0]!.text, a.text);
  const sample = () => client.completions.create({ model: 'gpt2', prompt: 'Hello', max_tokens: 10, temperature: 1.2, top_p: 0.9, seed: 7, n: 2 });
  const [s1, s2] = [await sample(), await sample()];
  assert.deepEqual(s1.choices.map((c) => c.text), s2.choices.map((c) => c.text));
});

test('chat: the default template for a base model; the streamed deltas start with the role; usage exact', async () => {
  const ref = await reference('user: Hi there\nassistant:', 10);
  const messages = [{ role: 'user' as const, content: 'Hi there' }];
  const r = await client.chat.completions.create({ model: 'gpt2', messages, max_tokens: 10, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.deepEqual(r.choices[0]!.message.role, 'assistant');
  assert.equal(r.choices[0]!.message.content, ref.text);
  assert.equal(r.choices[0]!.finish_reason, ref.finish);
  assert.deepEqual(r.usage, { prompt_tokens: ref.promptTokens, completion_tokens: ref.completionTokens, total_tokens: ref.promptTokens + ref.completionTokens });
  const stream = await client.chat.completions.create({ model: 'gpt2', messages, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  assert.equal(chunks[0]!.object, 'chat.completion.chunk');
  assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  const body = chunks.filter((c) => c.choices.length > 0);
  assert.equal(body.map((c) => c.choices[0]!.delta.content ?? '').join(''), ref.text);
  assert.equal(body.at(-1)!.choices[0]!.finish_reason, ref.finish);
  assert.ok(body.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null));
  assert.deepEqual(chunks.at(-1)!.usage, r.usage);
});

test('chat: tokenizer_config.json\'s chat_template (with bos_token) is rendered; logprobs in chat format', async () => {
  const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: [{ type: 'text' as const, text: 'Name a ' }, { type: 'text' as const, text: 'city' }] }];
  const ref = await reference('<|endoftext|><system>Be brief.\n<user>Name a city\n<assistant>', 8);
  const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
  assert.equal(r.choices[0]!.message.content, ref.text);
  assert.equal(r.usage!.prompt_tokens, ref.promptTokens);
  const content = r.choices[0]!.logprobs!.content!;
  assert.equal(content.length, ref.gen.filter((t) => t !== EOS).length);
  content.forEach((c, i) => {
    assert.ok(Math.abs(c.logprob - ref.logprobs[i]!) < 1e-4);
    assert.equal(c.top_logprobs.length, 2);
    assert.equal(c.top_logprobs[0]!.logprob, c.logprob);
    assert.deepEqual(c.bytes, Array.from(new TextEncoder().encode(c.token)));
  });
});

test('16 concurrent greedy requests each equal the same request alone', async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Request number ${i}: the ${['cat', 'dog', 'king', 'sea'][i % 4]}`);
  const ask = (p: string, i: number) => client.completions.create({ model: 'gpt2', prompt: p, max_tokens: 6 + (i % 5) * 3, temperature: 0 });
  const alone: OpenAI.Completions.Completion[] = [];
  for (const [i, p] of prompts.entries()) alone.push(await ask(p, i));
  const together = await Promise.all(prompts.map(ask));
  together.forEach((r, i) => {
    assert.equal(r.choices[0]!.text, alone[i]!.choices[0]!.text, `request ${i}`);
    assert.deepEqual(r.usage, alone[i]!.usage);
  });
});

test('embeddings: mean-pooled last hidden states (GPT-2 and BERT), float and base64, usage counts', async () => {
  const bert = await fromPretrained(BERT_DIR), bertTok = await Tokenizer.fromPretrained(BERT_DIR);
  for (const [name, m, t] of [['gpt2', model, tok], ['bert', bert, bertTok]] as const) {
    const inputs = ['hello world', 'the cat sat on the mat'];
    const r = await client.embeddings.create({ model: name, input: inputs }); // the SDK asks for base64
    const f = await client.embeddings.create({ model: name, input: inputs, encoding_format: 'float' });
    let tokens = 0;
    for (const [i, text] of inputs.entries()) {
      const ids = t.encodeIds(text, { addSpecialTokens: true });
      tokens += ids.length;
      const h = noGrad(() => tidy(() => (m.forward({ inputIds: [ids] }) as { lastHiddenState: import('../src/index.js').Tensor }).lastHiddenState.mean(1)));
      const want = Array.from((await h.data()) as Float32Array);
      for (const got of [r.data[i]!.embedding, f.data[i]!.embedding]) {
        assert.equal(got.length, want.length);
        got.forEach((x, d) => assert.ok(Math.abs(x - want[d]!) < 1e-4, `${name} input ${i} dim ${d}: ${x} vs ${want[d]}`));
      }
    }
    assert.equal(r.usage.prompt_tokens, tokens);
  }
});

test('models list, /tokenize', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['gpt2', 'chat', 'bert']);
  const r = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bert', text: 'hello world' }) });
  const body = await r.json() as { ids: number[]; tokens: string[]; count: number };
  const enc = (await Tokenizer.fromPretrained(BERT_DIR)).encode('hello world');
  assert.deepEqual(body, { model: 'bert', ids: enc.ids, tokens: enc.tokens, count: enc.ids.length });
});
