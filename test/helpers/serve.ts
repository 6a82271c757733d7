// Shared by the serve tests: a server on a free loopback port, tiny random models saved to temp
// directories (with the committed fixtures' tokenizers), and small HTTP helpers.

import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/index.js';
import { manualSeed } from '../../src/index.js';
import { models } from '../../src/index.js';
import { createServer, type ServeOptions, type TlmServer } from '../../src/serve/server.js';

export const GPT2_DIR = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
export const BERT_DIR = join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny');

export interface Running { app: TlmServer; url: string; close(): Promise<void> }

export async function serve(o: Partial<ServeOptions> = {}): Promise<Running> {
  const app = await createServer({ models: [{ name: 'gpt2', dir: GPT2_DIR }], ...o });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, close: () => app.close() };
}

export function tempDir(prefix = 'tlm-serve-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A random GPT-2 with the gpt2-tiny tokenizer, larger than the fixture (1024 positions, 4 layers):
 * slow enough per token that a stream of a few hundred tokens is still running while a test acts.
 */
export async function slowGpt2(): Promise<string> {
  manualSeed(1);
  const dir = tempDir();
  const m = new models.GPT2LMHeadModel(models.gpt2Config({ vocab_size: 1000, n_positions: 1024, n_embd: 128, n_layer: 4, n_head: 4, eos_token_id: null, bos_token_id: 0 }));
  await m.savePretrained(dir);
  copyFileSync(join(GPT2_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  return dir;
}

/** A random BERT with a task head, with bert-tiny's tokenizer. */
export async function bertTask(kind: 'classify' | 'qa'): Promise<string> {
  manualSeed(2);
  const dir = tempDir();
  const base = { vocab_size: 2000, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 128 };
  const m = kind === 'classify'
    ? new models.BertForSequenceClassification({ ...base, num_labels: 2 })
    : new models.BertForQuestionAnswering(base);
  await m.savePretrained(dir);
  for (const f of ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json']) copyFileSync(join(BERT_DIR, f), join(dir, f));
  return dir;
}

/** A random encoder-decoder with gpt2-tiny's tokenizer (translate / summarize). */
export async function seq2seqModel(): Promise<string> {
  manualSeed(3);
  const dir = tempDir();
  const m = new models.Seq2SeqTransformer({ vocab_size: 1000, d_model: 32, nhead: 4, num_encoder_layers: 1, num_decoder_layers: 1,
    dim_feedforward: 64, dropout: 0, max_position_embeddings: 128 });
  await m.savePretrained(dir);
  copyFileSync(join(GPT2_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  return dir;
}

export interface JsonResponse { status: number; body: Record<string, unknown> & { error?: { message: string; type: string; param: string | null; code: string | null } } }

/** POST (or GET without body) and the JSON answer. body: an object (sent as JSON) or a raw string. */
export async function call(url: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = body === undefined ? { headers } : {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  const r = await fetch(url + path, init);
  const text = await r.text();
  let parsed: JsonResponse['body'];
  try { parsed = JSON.parse(text) as JsonResponse['body']; } catch { throw new Error(`${path}: status ${r.status}, not JSON: ${text.slice(0, 200)}`); }
  return { status: r.status, body: parsed };
}

/** One gauge or counter value from /metrics (summed over label sets that match `labels`). */
export async function metric(url: string, name: string, labels = '', headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) if (line.includes(labels)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Polls until cond() holds (or throws after timeoutMs). */
export async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
