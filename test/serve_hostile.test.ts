// Hostile input against tlm serve: every malformed request gets a 4xx with OpenAI's error object
// (never a 500, never a crash), the API key is enforced, caps hold, and the server stays healthy.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERT_DIR, GPT2_DIR, call, serve, tempDir, type JsonResponse, type Running } from './helpers/serve.js';
import { Tokenizer } from '../src/tokenizers/index.js';

const KEY = 'sk-test-key';
const auth = { authorization: `Bearer ${KEY}` };
let server: Running;

before(async () => {
  server = await serve({ models: [{ name: 'gpt2', dir: GPT2_DIR }, { name: 'bert', dir: BERT_DIR }], apiKey: KEY, bodyLimit: 16 * 1024 });
});
after(() => server.close());

const post = (path: string, body: unknown, headers: Record<string, string> = auth) => call(server.url, path, body, headers);

/** status, and the error object with all four fields; returns the error for more checks. */
function expectError(r: JsonResponse, status: number, message?: RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = r.body.error!;
  assert.ok(e, `no error object in ${JSON.stringify(r.body)}`);
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e.message, 'string');
  if (message) assert.match(e.message, message);
  return e;
}

const completion = (extra: Record<string, unknown>) => ({ model: 'gpt2', prompt: 'Hello', max_tokens: 2, ...extra });
const chat = (extra: Record<string, unknown>) => ({ model: 'gpt2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, ...extra });

test('not JSON, not an object, empty body, wrong content type: 4xx with an OpenAI error', async () => {
  expectError(await post('/v1/completions', '{"model": "gpt2", '), 400, /not valid JSON/);
  expectError(await post('/v1/completions', '[1, 2]'), 400, /expected object/);
  expectError(await post('/v1/completions', 'null'), 400);
  expectError(await post('/v1/completions', '"text"'), 400);
  expectError(await call(server.url, '/v1/completions', '', { ...auth }), 400);
  const text = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'model=gpt2' });
  expectError({ status: text.status, body: await text.json() as JsonResponse['body'] }, 400);
  const xml = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/xml' }, body: '<a/>' });
  expectError({ status: xml.status, body: await xml.json() as JsonResponse['body'] }, 415);
  // A prototype-pollution attempt is refused by the JSON parser, not merged into anything.
  expectError(await post('/v1/completions', '{"model":"gpt2","prompt":"x","__proto__":{"admin":true}}'), 400);
});

test('wrong types and out-of-range values name the field', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/v1/completions', completion({ prompt: 5 }), 'prompt'],
    ['/v1/completions', completion({ max_tokens: '10' }), 'max_tokens'],
    ['/v1/completions', completion({ max_tokens: 0 }), 'max_tokens'],
    ['/v1/completions', completion({ max_tokens: 2.5 }), 'max_tokens'],
    ['/v1/completions', completion({ temperature: 'hot' }), 'temperature'],
    ['/v1/completions', completion({ temperature: 3 }), 'temperature'],
    ['/v1/completions', completion({ temperature: -0.1 }), 'temperature'],
    ['/v1/completions', completion({ top_p: 0 }), 'top_p'],
    ['/v1/completions', completion({ top_p: 1.5 }), 'top_p'],
    ['/v1/completions', completion({ n: 9 }), 'n'],
    ['/v1/completions', completion({ logprobs: 6 }), 'logprobs'],
    ['/v1/completions', completion({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
    ['/v1/completions', completion({ stop: [''] }), 'stop[0]'],
    ['/v1/completions', completion({ stream: 'yes' }), 'stream'],
    ['/v1/completions', completion({ prompt: [1, -2] }), 'prompt[1]'],
    ['/v1/completions', completion({ prompt: [5000] }), 'prompt'],
    ['/v1/completions', completion({ echo: true }), 'echo'],
    ['/v1/completions', completion({ presence_penalty: 0.5 }), 'presence_penalty'],
    ['/v1/completions', { prompt: 'x' }, 'model'],
    ['/v1/chat/completions', chat({ messages: [] }), 'messages'],
    ['/v1/chat/completions', chat({ messages: 'hi' }), 'messages'],
    ['/v1/chat/completions', chat({ messages: [{ role: 'robot', content: 'x' }] }), 'messages[0].role'],
    ['/v1/chat/completions', chat({ messages: [{ role: 'user', content: 5 }] }), 'messages[0].content'],
    ['/v1/chat/completions', chat({ messages: [{ role: 'user' }] }), 'messages[0].content'],
    ['/v1/chat/completions', chat({ top_logprobs: 3 }), 'top_logprobs'],
    ['/v1/chat/completions', chat({ logprobs: true, top_logprobs: 21 }), 'top_logprobs'],
    ['/v1/chat/completions', chat({ n: 0 }), 'n'],
    ['/v1/embeddings', { model: 'gpt2', input: 7 }, 'input'],
    ['/v1/embeddings', { model: 'gpt2', input: [] }, 'input'],
    ['/v1/embeddings', { model: 'gpt2', input: '' }, 'input'],
    ['/tokenize', { text: 5 }, 'text'],
    ['/v1/attention', { model: 'gpt2', text: 'word '.repeat(300) }, 'text'],
  ];
  for (const [path, body, param] of cases) {
    const e = expectError(await post(path, body), 400);
    assert.equal(e.param, param, `${path} ${JSON.stringify(body)}: ${e.message}`);
    assert.ok(e.message.startsWith(param.split('[')[0]!), `${e.message} should name ${param}`);
  }
});

test('prompt + max_tokens beyond the context: 400 naming both numbers', async () => {
  const tok = await Tokenizer.fromPretrained(GPT2_DIR);
  // A prompt of 110+ tokens (under the fixture's context of 128), then 20 more asked for.
  let prompt = '';
  while (tok.encodeIds(prompt, { addSpecialTokens: false }).length < 110) prompt += 'the king and the queen ';
  const n = tok.encodeIds(prompt, { addSpecialTokens: false }).length;
  assert.ok(n < 128);
  const e = expectError(await post('/v1/completions', { model: 'gpt2', prompt, max_tokens: 20 }), 400);
  assert.ok(e.message.includes('maximum context length is 128 tokens') && e.message.includes(`prompt has ${n} tokens`) && e.message.includes('max_tokens is 20'), e.message);
  assert.equal(e.code, 'context_length_exceeded');
  assert.equal(e.param, 'max_tokens');
  // Without max_tokens the default fits what is left: 128 - n.
  const fit = await post('/v1/completions', { model: 'gpt2', prompt, temperature: 0 });
  assert.equal(fit.status, 200);
  assert.ok((fit.body.usage as { completion_tokens: number }).completion_tokens <= Math.min(16, 128 - n));
  // A prompt that fills the context leaves no room even for the default.
  const full = expectError(await post('/v1/chat/completions', { model: 'gpt2', messages: [{ role: 'user', content: prompt.repeat(2) }] }), 400);
  assert.match(full.message, /128 tokens.*prompt has \d+ tokens/);
  // Over the server's max_tokens cap.
  expectError(await post('/v1/completions', completion({ max_tokens: 100_000 })), 400, /max_tokens/);
});

test('body over the limit: 413', async () => {
  expectError(await post('/v1/completions', completion({ prompt: 'x'.repeat(20_000) })), 413, /too large/);
});

test('API key: missing or wrong → 401; /health is open', async () => {
  expectError(await post('/v1/completions', completion({}), {}), 401, /Missing API key/);
  expectError(await post('/v1/completions', completion({}), { authorization: 'Bearer nope' }), 401, /Incorrect API key/);
  expectError(await post('/v1/completions', completion({}), { authorization: KEY }), 401);
  expectError(await call(server.url, '/v1/models', undefined, {}), 401);
  expectError(await call(server.url, '/metrics', undefined, {}), 401);
  const h = await call(server.url, '/health', undefined, {});
  assert.equal(h.status, 200);
  assert.equal((await post('/v1/completions', completion({}))).status, 200);
});

test('unknown model 404 model_not_found; a route the model\'s task lacks 404 with the reason; unknown route 404', async () => {
  let e = expectError(await post('/v1/completions', completion({ model: 'gpt5' })), 404, /'gpt5' does not exist/);
  assert.equal(e.code, 'model_not_found');
  expectError(await post('/v1/embeddings', { model: 'nope', input: 'x' }), 404);
  e = expectError(await post('/v1/classify', { model: 'gpt2', input: 'great film' }), 404, /GPT2LMHeadModel.*\/v1\/classify needs/);
  assert.equal(e.code, 'unsupported_task');
  expectError(await post('/v1/answer', { model: 'bert', question: 'q?', context: 'c' }), 404, /BertForMaskedLM/);
  expectError(await post('/v1/translate', { model: 'gpt2', input: 'x' }), 404, /seq2seq/);
  expectError(await post('/v1/summarize', { model: 'bert', input: 'x' }), 404, /seq2seq/);
  expectError(await post('/v1/completions', completion({ model: 'bert' })), 404, /BertForMaskedLM/);
  expectError(await post('/v1/nothing', {}), 404, /Unknown route/);
});

test('after all of that the server is healthy and still answers', async () => {
  assert.equal((await call(server.url, '/health')).status, 200);
  const r = await post('/v1/chat/completions', chat({ temperature: 0 }));
  assert.equal(r.status, 200);
  const statuses = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
  assert.ok(!/status="5\d\d"/.test(statuses), 'no 5xx was ever answered');
});

test('the playground\'s static files are served at / without the key; the API beside them still needs it', async () => {
  const web = tempDir();
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>tlm playground</title>');
  const s = await serve({ apiKey: KEY, webRoot: web });
  try {
    const page = await fetch(`${s.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /tlm playground/);
    expectError(await call(s.url, '/v1/models', undefined, {}), 401);
    expectError(await call(s.url, '/missing.js', undefined, {}), 404);
  } finally {
    await s.close();
  }
});
