// --device webgpu end to end (issue #13): `tlm train`, `tlm generate` and `tlm finetune` run on the
// webgpu backend and follow the cpu runs; a training step reads nothing back (losses are read when
// logged); live GPU buffers stay flat across steps; a bad --device is a one-line error. Runs on any
// adapter Dawn finds (Mesa's llvmpipe on CPU-only machines); skips, printing why, where none exists.
//
// Tolerance of the training comparisons: the WGSL kernels sum in another order than the cpu kernels
// (tiled matmuls, tree reductions), so one step's loss agrees to ~1e-7 relative; across steps these
// float32 differences pass through AdamW, whose m / sqrt(v) update turns a tiny gradient difference
// in a near-zero component into a full-size step difference. A dozen steps of a tiny model stay
// well within 2e-3 of the cpu loss (seen: ~1e-6); a real bug (a wrong kernel, a missed clip, a
// skipped step) moves the loss by far more.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, memory, models, randn, setBackend, tensor, Generator, type Tensor } from '../src/index.js';
import { findBackend } from '../src/tensor/engine.js';
import type { WebGPUBackend } from '../src/backend/webgpu/index.js';
import { GPT2LMHeadModel, gpt2Config } from '../src/models/index.js';
import { TokenStream, trainValSplit } from '../src/train/data.js';
import { defaultTrainerConfig, Trainer, type MetricRecord } from '../src/train/trainer.js';
import { clipGradNorm } from '../src/train/optim.js';
import { assertClose } from './helpers/assert.js';
import { startWebgpu } from './helpers/backends.js';

const reason = await startWebgpu();
const skip: string | false = reason ?? false;
if (skip) console.log(`# ${skip}`);
const opts = { skip, timeout: 120_000 };

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const fixtures = join(process.cwd(), 'test', 'fixtures');
const tlm = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env });

/** Lines of metrics.jsonl. */
function metrics(dir: string): Record<string, number | null>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | null>);
}

/** The webgpu run's losses (every key ending in loss) equal the cpu run's within tol, line by line. */
function sameLosses(gpu: Record<string, number | null>[], cpu: Record<string, number | null>[], tol: number, what: string): void {
  assert.equal(gpu.length, cpu.length, `${what}: metrics lines`);
  cpu.forEach((c, i) => {
    const g = gpu[i]!;
    assert.equal(g.step, c.step, `${what}: line ${i} step`);
    for (const k of Object.keys(c).filter((k) => k.endsWith('loss'))) {
      if (c[k] === null) { assert.equal(g[k], null, `${what}: step ${c.step} ${k}`); continue; }
      assert.ok(Math.abs(g[k]! - c[k]!) <= tol, `${what}: step ${c.step} ${k}: webgpu ${g[k]} vs cpu ${c[k]}`);
    }
  });
}

/** A non-zero exit with one error line on stderr (Dawn's own native log lines aside) and no JS stack. */
function oneLineError(r: ReturnType<typeof tlm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at .*\.js:\d+/m, 'no JavaScript stack trace');
  // Dawn and the Vulkan loader print warnings of their own (e.g. "Warning: vkCreateInstance: Found no drivers!").
  const lines = r.stderr.trim().split('\n').filter((l) => !/^Warning: |^\s+at \S+ \(.*dawn.*\)$|^$/.test(l));
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

const dir = mkdtempSync(join(tmpdir(), 'tlm-webgpu-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await setBackend('cpu');
});

test('tlm train --device webgpu writes a model; its losses follow the cpu run within 2e-3', opts, () => {
  // A slice of the committed Tiny Shakespeare: 53 characters, plenty for 12 steps of 4 × 16 tokens.
  const data = join(dir, 'tiny.txt');
  writeFileSync(data, readFileSync(join(process.cwd(), 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 3000));
  const run = (device: string) => {
    const out = join(dir, `train-${device}`);
    const r = tlm(['train', '--data', data, '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '4',
      '--eval-iters', '2', '--max-iters', '12', '--eval-interval', '6', '--log-interval', '3', '--warmup-iters', '2', '--lr', '3e-3',
      '--seed', '5', '--quiet', '--out', out, '--device', device]);
    assert.equal(r.status, 0, `${device}: ${r.stderr}`);
    return out;
  };
  const cpu = run('cpu'), gpu = run('webgpu');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'metrics.jsonl', 'loss.svg']) assert.ok(existsSync(join(gpu, f)), f);
  const m = metrics(gpu);
  assert.deepEqual(m.map((l) => l.step), [0, 3, 6, 9, 12], 'a metrics line at each log and evaluation step');
  assert.ok(m.every((l) => l.train_loss === null || Number.isFinite(l.train_loss)), 'finite train losses');
  // The loss moved: the steps ran (lr 3e-3 over 12 steps).
  assert.ok(m.at(-1)!.val_loss! < m[0]!.val_loss! - 0.05, `val loss ${m[0]!.val_loss} → ${m.at(-1)!.val_loss}`);
  sameLosses(m, metrics(cpu), 2e-3, 'tlm train');
});

test('tlm generate --device webgpu: greedy and beam-search tokens equal cpu\'s (and HF\'s greedy)', opts, async () => {
  const model = join(fixtures, 'hf', 'gpt2-tiny');
  for (const extra of [[], ['--num-beams', '3']]) {
    const run = (device: string) => {
      const r = tlm(['generate', '--model', model, '--prompt', 'First Citizen:\nBefore we', '--max-new-tokens', '12', '--device', device, ...extra]);
      assert.equal(r.status, 0, `${device} ${extra.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const gpu = run('webgpu');
    assert.ok(gpu.startsWith('First Citizen:\nBefore we') && gpu.length > 'First Citizen:\nBefore we\n'.length, gpu);
    assert.equal(gpu, run('cpu'), `tlm generate ${extra.join(' ')}`);
  }
  // The library on webgpu: the fixture's greedy continuation, as HF Transformers computed it.
  const expected = JSON.parse(readFileSync(join(model, 'expected.json'), 'utf8')) as { greedy_prompt: number[]; greedy_out: number[] };
  await setBackend('webgpu');
  const lm = await models.fromPretrained(model);
  const w = Object.values(lm.stateDict())[0]!;
  assert.equal(w.device, 'webgpu', 'the weights load onto the current backend');
  const out = await lm.generate([expected.greedy_prompt], { maxNewTokens: expected.greedy_out.length - expected.greedy_prompt.length, doSample: false });
  assert.deepEqual(out[0], expected.greedy_out);
  lm.dispose();
});

test('tlm finetune --task classify --method lora --device webgpu: losses follow the cpu run', opts, () => {
  // A sentiment toy set (a good or bad word among fillers) and the BERT fixture with a vocabulary.
  const rows = (n: number, seed: number) => {
    let s = seed;
    const r = (k: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 16) % k; };
    const fill = ['the', 'film', 'was', 'a', 'story', 'and', 'it', 'felt'];
    return ['sentence\tlabel', ...Array.from({ length: n }, () => {
      const pos = r(2) === 1;
      const words = Array.from({ length: 3 + r(4) }, () => fill[r(fill.length)]!);
      words.splice(r(words.length + 1), 0, (pos ? ['good', 'great', 'fine'] : ['bad', 'awful', 'poor'])[r(3)]!);
      return `${words.join(' ')}\t${pos ? 'pos' : 'neg'}`;
    })].join('\n') + '\n';
  };
  const train = join(dir, 'train.tsv'), dev = join(dir, 'dev.tsv');
  writeFileSync(train, rows(64, 1));
  writeFileSync(dev, rows(16, 2));
  const bert = join(dir, 'bert-tiny');
  mkdirSync(bert, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'hf', 'bert-tiny', f), join(bert, f));
  copyFileSync(join(fixtures, 'qa', 'bert-tiny', 'tokenizer.json'), join(bert, 'tokenizer.json'));
  const run = (device: string) => {
    const out = join(dir, `ft-${device}`);
    const r = tlm(['finetune', '--task', 'classify', '--model', bert, '--train', train, '--eval', dev, '--text-column', 'sentence',
      '--method', 'lora', '--max-iters', '8', '--eval-interval', '4', '--log-interval', '1', '--batch-size', '8', '--max-length', '16',
      '--lr', '5e-3', '--out', out, '--quiet', '--device', device]);
    assert.equal(r.status, 0, `${device}: ${r.stderr}`);
    return out;
  };
  const cpu = run('cpu'), gpu = run('webgpu');
  assert.ok(existsSync(join(gpu, 'adapter_model.safetensors')), 'the LoRA adapter is saved');
  const m = metrics(gpu);
  assert.equal(m.filter((l) => l.train_loss !== null).length, 8, 'a train loss for every step (--log-interval 1)');
  sameLosses(m, metrics(cpu), 2e-3, 'tlm finetune');
});

/** A tiny GPT-2 trainer on a fixed token stream, on the current backend. */
function tinyTrainer(maxIters: number): Trainer {
  const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * 7 + (i >> 4)) % 29);
  manualSeed(3); // the same initial weights on every backend
  const model = new GPT2LMHeadModel(gpt2Config({ vocab_size: 29, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: null, eos_token_id: null }));
  return new Trainer(model, trainValSplit(TokenStream.fromArray(ids)), { ...defaultTrainerConfig, batchSize: 4, blockSize: 16,
    maxIters, evalInterval: 1000, evalIters: 1, logInterval: 10, warmupIters: 0, lrDecayIters: maxIters });
}

test('Trainer on webgpu: no readback between log lines; live GPU buffers flat over 100 steps', opts, async () => {
  await setBackend('webgpu');
  const b = findBackend('webgpu') as WebGPUBackend;
  // Every read of a GPU buffer goes through the backend's download: count them.
  let downloads = 0;
  const download = b.download.bind(b);
  b.download = (s) => { downloads++; return download(s); };
  try {
    const trainer = tinyTrainer(100);
    const at = new Map<number, { downloads: number; storages: number; bytesInUse: number; tensors: number }>();
    const res = await trainer.run({ quiet: true, onLog: (p: MetricRecord) => {
      const gpu = b.memory();
      at.set(p.step, { downloads, storages: gpu.storages, bytesInUse: gpu.bytesInUse, tensors: memory().numTensors });
    } });
    assert.equal(res.losses.length, 100, 'every step\'s loss, read in batches');
    assert.ok(res.losses.every((l, i) => l.step === i && Number.isFinite(l.loss)));
    // Between the log lines of steps 10 and 20: ten steps, one read (the ten losses, in one transfer).
    assert.equal(at.get(20)!.downloads - at.get(10)!.downloads, 1, 'one download per log line');
    const s10 = at.get(10)!, s100 = at.get(100)!;
    assert.equal(s100.storages, s10.storages, 'live GPU buffers at step 100 vs step 10');
    assert.equal(s100.bytesInUse, s10.bytesInUse, 'bytes in live GPU buffers at step 100 vs step 10');
    assert.equal(s100.tensors, s10.tensors, 'live tensors at step 100 vs step 10');
    trainer.model.dispose();
    trainer.optimizer.dispose();
  } finally {
    b.download = download;
  }
});

test('Trainer on webgpu: the first steps\' losses equal cpu\'s within 1e-4 (gradient clipping active)', opts, async () => {
  const losses = async (device: string) => {
    await setBackend(device);
    const t = tinyTrainer(4);
    t.cfg.gradClip = 0.05; // small enough to clip every step
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push(await t.trainStep());
    t.model.dispose();
    t.optimizer.dispose();
    return out;
  };
  const cpu = await losses('cpu');
  assertClose(await losses('webgpu'), cpu, 1e-4, 'losses of steps 0-3');
});

test('clipGradNorm on webgpu: the norm and the clipped gradients equal cpu\'s, with nothing read back', opts, async () => {
  const gen = new Generator(11);
  const shapes = [[7, 5], [5], [3, 4, 6]];
  const grads = shapes.map((s) => randn(s, { device: 'cpu', generator: gen }).mul(0.3));
  const clip = async (device: string, maxNorm: number) => {
    const params = shapes.map((s, i) => {
      const p = tensor(new Float32Array(s.reduce((a, d) => a * d, 1)), { shape: s, device, requiresGrad: true });
      const g = grads[i]!.to(device); // on cpu, the same tensor: the parameter gets its own copy
      p.grad = g === grads[i] ? g.clone() : g;
      return p;
    });
    const b = findBackend(device);
    let downloads = 0;
    const download = b.download.bind(b);
    b.download = (st) => { downloads++; return download(st); };
    let norm: Tensor;
    try {
      norm = clipGradNorm(params, maxNorm);
    } finally {
      b.download = download;
    }
    assert.equal(downloads, 0, `${device}: clipping reads nothing back`);
    assert.equal(norm.device, device);
    const values = { norm: (await norm.data())[0]!, grads: await Promise.all(params.map(async (p) => (await p.grad!.data()) as Float32Array)) };
    norm.dispose();
    for (const p of params) p.dispose();
    return values;
  };
  for (const maxNorm of [0.5, 100]) {
    const cpu = await clip('cpu', maxNorm), gpu = await clip('webgpu', maxNorm);
    assertClose([gpu.norm], [cpu.norm], 1e-5, `norm (max ${maxNorm})`);
    cpu.grads.forEach((g, i) => assertClose(gpu.grads[i]!, g, 1e-5, `gradient ${i} (max ${maxNorm})`, 1e-3));
    const total = Math.sqrt(cpu.grads.flatMap((g) => Array.from(g)).reduce((a, v) => a + v * v, 0));
    // Clipped to maxNorm, or untouched (coefficient exactly 1) when the norm is already below it.
    if (maxNorm < cpu.norm) assert.ok(Math.abs(total - maxNorm) < 1e-4, `clipped norm ${total}`);
    else cpu.grads.forEach((g, i) => assert.deepEqual(g, grads[i]!.dataSync(), `gradient ${i} unchanged`));
  }
  for (const g of grads) g.dispose();
});

test('--device: an unknown value is a one-line error naming the flag and the allowed values', () => {
  oneLineError(tlm(['train', '--data', join(dir, 'none.txt'), '--device', 'cuda']), /^tlm train: --device must be one of cpu, webgpu, got 'cuda'$/);
  oneLineError(tlm(['finetune', '--task', 'classify', '--device', 'gpu']), /^tlm finetune: --device must be one of cpu, webgpu, got 'gpu'$/);
  oneLineError(tlm(['generate', '--model', 'm', '--prompt', 'x', '--device', 'metal']), /^tlm generate: --device must be one of cpu, webgpu, got 'metal'$/);
  oneLineError(tlm(['chat', '--model', 'm', '--device', 'tpu']), /^tlm chat: --device must be one of cpu, webgpu, got 'tpu'$/);
  oneLineError(tlm(['eval', '--model', 'm', '--data', 'x', '--device', 'npu']), /^tlm eval: --device must be one of cpu, webgpu, got 'npu'$/);
  assert.match(tlm(['train', '--help']).stdout, /--device VALUE\s+where tensors live.*one of: cpu, webgpu; default: cpu/);
});

test('--device webgpu where WebGPU has no adapter: a one-line error with the backend\'s reason', { ...opts, skip: skip || (process.platform !== 'linux' && 'Vulkan-only check (Linux)') }, () => {
  // No Vulkan driver for the child process: Dawn finds no adapter.
  const env = { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json'), VK_DRIVER_FILES: join(dir, 'no-such-icd.json') };
  const data = join(dir, 'tiny.txt');
  writeFileSync(data, 'to be or not to be, that is the question\n'.repeat(20));
  oneLineError(tlm(['train', '--data', data, '--max-iters', '1', '--out', join(dir, 'no-adapter'), '--device', 'webgpu'], env),
    /^tlm train: --device webgpu: WebGPU has no adapter here \(no GPU adapter found/);
  oneLineError(tlm(['generate', '--model', join(fixtures, 'hf', 'gpt2-tiny'), '--prompt', 'x', '--device', 'webgpu'], env),
    /^tlm generate: --device webgpu: WebGPU has no adapter here/);
});

test('createServer({ device: \'webgpu\' }) (tlm serve --device webgpu): completions equal the cpu server\'s', opts, async () => {
  const { createServer } = await import('../src/serve/server.js');
  const dir = join(fixtures, 'hf', 'gpt2-tiny');
  const ask = async (device: 'cpu' | 'webgpu') => {
    const app = await createServer({ models: [{ name: 'gpt2', dir }], device });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt2', prompt: ['Hello world', 'The'], max_tokens: 12, temperature: 0, logprobs: 1 }) });
      assert.equal(res.status, 200, await res.clone().text());
      const body = await res.json() as { choices: { text: string; logprobs: { token_logprobs: number[] } }[] };
      return body.choices;
    } finally {
      await app.close();
    }
  };
  const cpu = await ask('cpu'), gpu = await ask('webgpu');
  assert.deepEqual(gpu.map((c) => c.text), cpu.map((c) => c.text));
  gpu.forEach((c, i) => assertClose(c.logprobs.token_logprobs, cpu[i]!.logprobs.token_logprobs, 1e-4, `choice ${i} logprobs`));
});

test('tlm eval --task lm --device webgpu: the loss and perplexity of the cpu run', opts, () => {
  const data = join(dir, 'eval.txt');
  writeFileSync(data, 'The quick brown fox jumps over the lazy dog. '.repeat(30));
  const run = (device: string) => {
    const r = tlm(['eval', '--task', 'lm', '--model', join(fixtures, 'hf', 'gpt2-tiny'), '--data', data, '--split', 'all',
      '--ngram-order', '0', '--block-size', '32', '--device', device]);
    assert.equal(r.status, 0, `${device}: ${r.stderr}`);
    const m = /model\s+loss (\S+)\s+perplexity (\S+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return Number(m[1]);
  };
  const cpu = run('cpu'), gpu = run('webgpu');
  assert.ok(Number.isFinite(cpu) && Math.abs(gpu - cpu) <= 1e-4, `webgpu loss ${gpu} vs cpu ${cpu}`);
});
