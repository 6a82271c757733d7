// Streams under stress: a full queue answers 429, a client that disconnects mid-stream has its
// sequence leave the batch, a slow reader holds up nobody else, /health answers during a long
// generation (the model runs in a worker thread), and an error after the stream began goes out as
// a data: error object followed by [DONE].

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { models, noGrad } from '../src/index.js';
import { GPT2_DIR, call, metric, serve, slowGpt2, tempDir, waitFor, type Running } from './helpers/serve.js';

let slowDir: string, server: Running;

before(async () => {
  slowDir = await slowGpt2();
  server = await serve({ models: [{ name: 'slow', dir: slowDir }, { name: 'gpt2', dir: GPT2_DIR }] });
});
after(() => server.close());

const body = (extra: Record<string, unknown>) => JSON.stringify({ model: 'slow', prompt: 'Once upon a time', temperature: 0, stream: true, ...extra });

/** Starts a streaming request; resolves with the response once its headers arrived. */
async function openStream(url: string, extra: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(extra), signal });
}

/** Reads n SSE events from a response body. */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<string[]> {
  const events: string[] = [];
  let buf = '';
  const dec = new TextDecoder();
  while (events.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) { events.push(buf.slice(0, i)); buf = buf.slice(i + 2); }
  }
  return events;
}

test('a client that disconnects mid-stream: its sequence leaves the batch (running back to 0), generation stops early', { timeout: 120_000 }, async () => {
  const before = await metric(server.url, 'tlm_generated_tokens_total', 'model="slow"');
  const ctrl = new AbortController();
  const r = await openStream(server.url, { max_tokens: 900 }, ctrl.signal);
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  try {
    assert.ok((await readEvents(reader, 3)).length >= 3);
    await waitFor(async () => (await metric(server.url, 'tlm_running_sequences', 'model="slow"')) === 1, 'the sequence to run');
  } finally {
    ctrl.abort();
  }
  await waitFor(async () => (await metric(server.url, 'tlm_running_sequences', 'model="slow"')) === 0, 'the cancelled sequence to leave the batch');
  await waitFor(async () => (await metric(server.url, 'tlm_generated_tokens_total', 'model="slow"')) > before, 'the request to be accounted');
  const generated = (await metric(server.url, 'tlm_generated_tokens_total', 'model="slow"')) - before;
  assert.ok(generated < 900, `the sequence ran to the end (${generated} tokens) although its client left`);
});

test('/health answers at once during a long generation (the model runs in a worker thread)', { timeout: 120_000 }, async () => {
  const ctrl = new AbortController();
  const r = await openStream(server.url, { max_tokens: 600 }, ctrl.signal);
  const reader = r.body!.getReader();
  try {
    await readEvents(reader, 2);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      assert.equal((await call(server.url, '/health')).status, 200);
      assert.ok(performance.now() - t0 < 1000, `/health took ${performance.now() - t0} ms`);
    }
    assert.equal(await metric(server.url, 'tlm_running_sequences', 'model="slow"'), 1, 'the generation was still running');
  } finally {
    ctrl.abort();
  }
  await waitFor(async () => (await metric(server.url, 'tlm_running_sequences', 'model="slow"')) === 0, 'cleanup');
});

test('a slow reader (paused socket) holds up nobody; it still receives every chunk and [DONE]', { timeout: 120_000 }, async () => {
  const u = new URL(server.url);
  // logprobs make each chunk ~1 KB, so the socket's buffers fill and the server sees backpressure.
  const payload = body({ max_tokens: 400, logprobs: 5 });
  let raw = '';
  const slow = new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.pause();
      res.setEncoding('utf8');
      // Reads nothing for a while, then everything.
      setTimeout(() => { res.on('data', (c: string) => { raw += c; }); res.resume(); }, 1500);
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  const client = new OpenAI({ apiKey: 'x', baseURL: `${server.url}/v1`, maxRetries: 0 });
  const t0 = performance.now();
  const others = await Promise.all([0, 1, 2].map((i) => client.completions.create({ model: 'gpt2', prompt: `Other ${i}`, max_tokens: 8, temperature: 0 })));
  assert.ok(performance.now() - t0 < 1500, 'the other requests finished while the slow reader was paused');
  others.forEach((o) => assert.equal(o.choices[0]!.finish_reason === 'length' || o.choices[0]!.finish_reason === 'stop', true));
  assert.equal(await slow, 200);
  const events = raw.split('\n\n').filter((e) => e !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: { text: string; finish_reason: string | null; logprobs: { tokens: string[] } | null }[] });
  const tokens = chunks.reduce((a, c) => a + (c.choices[0]!.logprobs?.tokens.length ?? 0), 0);
  assert.equal(tokens, 400);
  assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'length');
});

test('queue full: --max-batch 1 --max-queue 1 and three long requests → the third gets 429', { timeout: 120_000 }, async () => {
  const small = await serve({ models: [{ name: 'slow', dir: slowDir }], maxBatch: 1, maxQueue: 1 });
  try {
    const ctrls = [new AbortController(), new AbortController()];
    try {
      const first = await openStream(small.url, { max_tokens: 800 }, ctrls[0]!.signal);
      assert.equal(first.status, 200);
      const second = await openStream(small.url, { max_tokens: 800 }, ctrls[1]!.signal);
      assert.equal(second.status, 200);
      await waitFor(async () => (await metric(small.url, 'tlm_queue_depth', 'model="slow"')) === 1, 'one running, one waiting');
      const third = await call(small.url, '/v1/completions', { model: 'slow', prompt: 'x', max_tokens: 5 });
      assert.equal(third.status, 429);
      assert.equal(third.body.error!.type, 'rate_limit_exceeded');
    } finally {
      for (const c of ctrls) c.abort();
    }
    // n choices that do not all fit are refused whole (none is left running).
    await waitFor(async () => (await metric(small.url, 'tlm_running_sequences', 'model="slow"')) + (await metric(small.url, 'tlm_queue_depth', 'model="slow"')) === 0, 'both to leave');
    const two = await call(small.url, '/v1/completions', { model: 'slow', prompt: 'x', max_tokens: 5, n: 3, temperature: 0 });
    assert.equal(two.status, 429);
    await waitFor(async () => (await metric(small.url, 'tlm_running_sequences', 'model="slow"')) === 0, 'the refused choices to leave');
    assert.equal((await call(small.url, '/v1/completions', { model: 'slow', prompt: 'x', max_tokens: 5, temperature: 0 })).status, 200);
  } finally {
    await small.close();
  }
});

test('an error after the stream began: a data: error object, then [DONE]; the openai client raises it', { timeout: 120_000 }, async () => {
  // A model whose final LayerNorm is NaN: the request is valid, the first step fails.
  const dir = tempDir();
  const m = new models.GPT2LMHeadModel(models.gpt2Config({ vocab_size: 1000, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2 }));
  noGrad(() => m.transformer.ln_f!.weight!.fill_(NaN));
  await m.savePretrained(dir);
  copyFileSync(join(GPT2_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const bad = await serve({ models: [{ name: 'nan', dir }] });
  try {
    const r = await fetch(`${bad.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nan', prompt: 'Hi', max_tokens: 4, temperature: 0, stream: true }) });
    assert.equal(r.status, 200);
    const events = (await r.text()).split('\n\n').filter((e) => e !== '');
    assert.equal(events.at(-1), 'data: [DONE]');
    const err = JSON.parse(events.at(-2)!.slice(6)) as { error: { message: string; type: string } };
    assert.match(err.error.message, /NaN/);
    const client = new OpenAI({ apiKey: 'x', baseURL: `${bad.url}/v1`, maxRetries: 0 });
    await assert.rejects(async () => {
      for await (const _ of await client.chat.completions.create({ model: 'nan', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0, stream: true })) { /* drain */ }
    }, /NaN/);
    assert.equal((await call(bad.url, '/health')).status, 200);
  } finally {
    await bad.close();
  }
});
