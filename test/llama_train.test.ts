// Llama through the training and serving paths: `tlm train --arch llama` from scratch on a tiny
// corpus (then `tlm generate` and `tlm eval` on the result), the Trainer's loss going down, and the
// BatchEngine decoding GQA + sliding-window requests exactly as generate() alone.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory, models, optim, tidy } from '../src/index.js';
import { BatchEngine, generate, type CausalLM, type TokenEvent } from '../src/generate/index.js';

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
const CORPUS = Array.from({ length: 60 }, (_, i) => `the cat sat on mat ${i % 7}; a dog ran to the log ${i % 5}.`).join('\n') + '\n';

test('tlm train --arch llama: a LlamaForCausalLM from scratch, saved in HF layout; generate and eval read it', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-llama-train-'));
  try {
    const data = join(dir, 'corpus.txt'), out = join(dir, 'model');
    writeFileSync(data, CORPUS);
    const args = ['train', '--arch', 'llama', '--data', data, '--n-layer', '2', '--n-head', '4', '--n-embd', '32', '--block-size', '16',
      '--batch-size', '4', '--max-iters', '30', '--eval-interval', '10', '--eval-iters', '2', '--warmup-iters', '0', '--lr', '3e-3', '--quiet', '--out', out];
    const r = tlm(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /model: LlamaForCausalLM/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
    assert.equal(config.model_type, 'llama');
    assert.equal(config.num_hidden_layers, 2);
    assert.equal(config.max_position_embeddings, 16);
    assert.equal(config.intermediate_size, 88); // 8·⌈32/3⌉
    const model = await models.fromPretrained(out) as models.LlamaForCausalLM;
    const V = config.vocab_size as number;
    // embed + head + per layer (q, k, v, o: 4·32², MLP: 3·32·88, two norms) + final norm.
    assert.equal(model.numParameters(), 2 * V * 32 + 2 * (4 * 32 * 32 + 3 * 32 * 88 + 2 * 32) + 32);
    // Losses fell: the first evaluation against the best.
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const vals = metrics.filter((m) => m.val_loss !== undefined).map((m) => m.val_loss!);
    assert.ok(vals.length >= 2 && Math.min(...vals) < vals[0]! - 0.3, `val loss went down: ${vals.join(', ')}`);
    const gen = tlm(['generate', '--model', out, '--prompt', 'the cat', '--max-new-tokens', '8']);
    assert.equal(gen.status, 0, gen.stderr);
    assert.match(gen.stdout, /^the cat/);
    const ev = tlm(['eval', '--model', out, '--data', data, '--max-tokens', '500']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /model\s+loss \d+\.\d+\s+perplexity/);
    assert.ok(existsSync(join(out, 'tokenizer.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tlm train --arch llama refuses flags that belong to GPT-2 or BERT, in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-llama-flags-'));
  try {
    writeFileSync(join(dir, 'c.txt'), CORPUS);
    for (const [extra, re] of [
      [['--objective', 'mlm'], /--arch llama is a causal LM: use it with --objective clm/],
      [['--no-bias'], /--no-bias and --activation apply to --arch gpt2 only/],
      [['--arch', 'mamba'], /--arch/],
    ] as const) {
      const r = tlm(['train', '--arch', 'llama', '--data', join(dir, 'c.txt'), '--out', join(dir, 'o'), ...extra]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function collect(events: AsyncIterable<TokenEvent>): Promise<number[]> {
  const out: number[] = [];
  for await (const e of events) out.push(e.token);
  return out;
}

test('BatchEngine: Mistral (GQA, sliding window) and Qwen2 requests joining at different steps get the tokens they get alone', async () => {
  for (const name of ['mistral', 'qwen2']) {
    const m = await models.fromPretrained(join(process.cwd(), 'test', 'fixtures', 'llama', name)) as models.PreTrainedModel & CausalLM;
    const reqs = Array.from({ length: 7 }, (_, i) => ({
      promptIds: Array.from({ length: 1 + (i * 3) % 8 }, (_, j) => (i * 13 + j * 7 + 4) % 64), maxNewTokens: 4 + (i * 5) % 9, eosTokenIds: [],
    }));
    const alone: number[][] = [];
    for (const r of reqs) alone.push((await generate(m, [r.promptIds], { maxNewTokens: r.maxNewTokens, doSample: false, eosTokenId: null }))[0]!.slice(r.promptIds.length));
    const engine = new BatchEngine(m, { maxBatch: 3, maxQueue: 8 });
    const got = await Promise.all(reqs.map(async (r, i) => {
      await new Promise((res) => setTimeout(res, i * 2));
      return collect(engine.submit(r).events);
    }));
    got.forEach((tokens, i) => assert.deepEqual(tokens, alone[i], `${name} request ${i}`));
    engine.dispose();
  }
});

test('a Llama training step leaves the live tensor count unchanged (tidy, AdamW)', async () => {
  const m = await models.fromPretrained(join(process.cwd(), 'test', 'fixtures', 'llama', 'mistral')) as models.LlamaForCausalLM;
  m.train();
  const opt = new optim.AdamW(m.parameters(), { lr: 1e-3 });
  const ids = [[3, 9, 27, 17, 51, 25, 11, 33, 2, 6], [8, 8, 1, 40, 12, 60, 5, 9, 19, 30]];
  const losses: number[] = [];
  const step = () => {
    const loss = tidy(() => {
      const l = m.forward({ inputIds: ids, labels: ids }).loss!;
      l.backward();
      return l.detach();
    });
    opt.step();
    opt.zeroGrad();
    losses.push(loss.item());
    loss.dispose();
  };
  step();
  const live = () => { const x = memory(); return x.numTensors + x.numCollected; };
  const before = live();
  for (let i = 0; i < 5; i++) { step(); assert.equal(live(), before, `after step ${i + 2}`); }
  assert.ok(losses.at(-1)! < losses[0]!, `loss fell: ${losses.join(', ')}`);
});
