// `tlm serve` under load, on loopback: a GPT-2-small-shaped model (12 layers, 768 wide, vocab
// 50257, random weights, GPT-2's own tokenizer) answering streamed greedy completions. The same 16
// requests (16-token prompts, 64 new tokens) go one after another, then 4 at a time, then all 16
// at once; aggregate tokens/s counts the completion tokens the server reports (usage), over the
// wall time of the whole group. The ratio that matters is 16 concurrent against 16 sequential:
// continuous batching turns 16 matrix-vector products per layer into one matrix product.
// Then 1,000 short requests (16 at a time) check that memory stays flat.
//
// The peer column is the same server's sequential figure: both sides run in this process, so the
// machine's drift cancels in the ratio.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import type { BenchRow, BenchSection } from '../run.js';
import { waitIdle } from '../idle.js';
import { manualSeed } from '../../src/index.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2/index.js';
import { fromTiktoken } from '../../src/tokenizers/tiktoken.js';
import { createServer } from '../../src/serve/server.js';

interface RequestResult { tokens: number; ttftMs: number }

/** One streamed completion; resolves with its completion tokens (from usage) and time to first token. */
async function complete(base: string, prompt: number[], maxTokens: number): Promise<RequestResult> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt2', prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok || res.body === null) throw new Error(`bench serve: HTTP ${res.status}: ${await res.text()}`);
  let ttft = -1, tokens = -1, buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i).replace(/^data: /, '');
      buf = buf.slice(i + 2);
      if (event === '[DONE]') continue;
      const data = JSON.parse(event) as { choices: { text: string }[]; usage?: { completion_tokens: number } | null; error?: { message: string } };
      if (data.error) throw new Error(`bench serve: ${data.error.message}`);
      if (ttft < 0 && data.choices.length > 0) ttft = performance.now() - t0;
      if (data.usage) tokens = data.usage.completion_tokens;
    }
  }
  if (tokens < 0) throw new Error('bench serve: the stream carried no usage');
  return { tokens, ttftMs: ttft };
}

/** Runs the prompts with `streams` requests in flight at a time; aggregate tokens/s and TTFT percentiles. */
async function load(base: string, prompts: number[][], maxTokens: number, streams: number): Promise<{ tokensPerS: number; ttft: number[] }> {
  const queue = prompts.slice(), results: RequestResult[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: streams }, async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) results.push(await complete(base, p, maxTokens));
  }));
  const s = (performance.now() - t0) / 1000;
  return { tokensPerS: results.reduce((a, r) => a + r.tokens, 0) / s, ttft: results.map((r) => r.ttftMs).sort((a, b) => a - b) };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const NEW = quick ? 16 : 64, P = 16, N = 16, MEMORY_REQUESTS = quick ? 200 : 1000;
  const dir = mkdtempSync(join(tmpdir(), 'tlm-bench-serve-'));
  try {
    manualSeed(0);
    const model = new GPT2LMHeadModel({ n_layer: 12, n_head: 12, n_embd: 768, vocab_size: 50257, n_positions: 1024 });
    await model.savePretrained(dir);
    writeFileSync(join(dir, 'tokenizer.json'), fromTiktoken(gpt2Ranks).toString());
    const app = await createServer({ models: [{ name: 'gpt2', dir }], maxBatch: 16, maxQueue: 64 });
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      // Prompts of ordinary token ids (not the end-of-text token), distinct per request.
      const prompts = Array.from({ length: N }, (_, i) => Array.from({ length: P }, (_, j) => 1000 + ((i * 7919 + j * 104729) % 40000)));
      await load(base, prompts.slice(0, 2), 4, 2); // warm up: worker threads, pools
      // Each load waits for the machine to be idle (other jobs on these cores would be measured too).
      await waitIdle();
      const seq = await load(base, prompts, NEW, 1);
      await waitIdle();
      const four = await load(base, prompts, NEW, 4);
      await waitIdle();
      const all = await load(base, prompts, NEW, 16);
      const note = `${N} requests, ${P}-token prompts, ${NEW} new tokens, greedy, streamed over loopback`;
      const rows: BenchRow[] = [];
      const row = (name: string, value: number, unit: string, higherIsBetter: boolean, peer: number | null, extra = note): BenchRow =>
        ({ section: 'serve', name, value, unit, peers: { 'tlm 1 stream': peer }, higherIsBetter, note: extra });
      rows.push(row('aggregate tokens/s, 1 stream', seq.tokensPerS, 'tokens/s', true, seq.tokensPerS));
      rows.push(row('aggregate tokens/s, 4 concurrent streams', four.tokensPerS, 'tokens/s', true, seq.tokensPerS));
      rows.push(row('aggregate tokens/s, 16 concurrent streams', all.tokensPerS, 'tokens/s', true, seq.tokensPerS));
      for (const [name, r] of [['1 stream', seq], ['16 concurrent', all]] as const) {
        rows.push(row(`time to first token p50, ${name}`, percentile(r.ttft, 50), 'ms', false, null));
        rows.push(row(`time to first token p99, ${name}`, percentile(r.ttft, 99), 'ms', false, null));
      }
      // Memory: the process (its model worker included) after each quarter of the requests; flat
      // means the last quarters add nothing (the first ones grow the heaps to their working size).
      const short = Array.from({ length: MEMORY_REQUESTS }, (_, i) => [1000 + (i % 30000), 2000 + (i % 5000), 3000 + (i % 700), 4000]);
      const rss: number[] = [];
      for (let q = 0; q < 4; q++) {
        await load(base, short.slice((q * MEMORY_REQUESTS) / 4, ((q + 1) * MEMORY_REQUESTS) / 4), 2, 16);
        rss.push(process.memoryUsage().rss / 2 ** 20);
      }
      const memNote = `${MEMORY_REQUESTS} requests of 4-token prompts and 2 new tokens, 16 at a time; resident MiB after each quarter: ${rss.map((r) => r.toFixed(0)).join(', ')}`;
      rows.push(row(`resident memory growth over the last half of ${MEMORY_REQUESTS} requests`, rss[3]! - rss[1]!, 'MiB', false, null, memNote));
      console.error(`bench serve: ${memNote}`);
      console.error(`bench serve: 16 concurrent / 16 sequential = ${(all.tokensPerS / seq.tokensPerS).toFixed(2)}× aggregate tokens/s`);
      return rows;
    } finally {
      await app.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const section: BenchSection = { name: 'serve', run };
export default section;
