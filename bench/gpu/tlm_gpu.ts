// tlm's side of the GPU comparison (issue #13, acceptance point 3): on the webgpu backend, measures
//   matmul  fp32 N×N·N×N (N = 4096) in GFLOP/s;
//   train   one GPT-2 small training step (forward, cross-entropy, backward, AdamW, zero grads) on a
//           fixed batch of B×T tokens, in tokens/s;
//   decode  greedy generation of batch 1 (a P-token prompt, G new tokens, KV cache), new tokens/s;
// and prints one JSON line per measurement as soon as it is done (so that a later one crashing or
// timing out loses nothing). bench/gpu/torch_gpu.py measures PyTorch the same way; bench/gpu/run.sh
// runs both and prints the table.
//
//   node dist/bench/gpu/tlm_gpu.js [--quick] [--only matmul,train,decode]
//
// --quick: a 2-layer, 128-wide model and small shapes, for smoke tests on a software adapter.
// Timing: warm-up first (pipeline compilation, optimizer state, pool growth), then repetitions that
// are recorded back to back and timed to the end of the GPU queue (backend.sync()), as PyTorch's
// side times to torch.cuda.synchronize(). WebGPU has no synchronous reads: values are read with
// `await t.data()` only after the timed region.

// The public API's names, imported from the modules behind src/index.ts rather than from it: the
// index also loads the tokenizers, whose chat templates need @huggingface/jinja, a package the GPU
// machine's bundle (.gpu/, webgpu alone) does not carry.
import { randn, randint, setBackend, tidy, lastBackendError, Generator, memory, type Tensor } from '../../src/tensor/index.js';
import * as models from '../../src/models/index.js';
import * as optim from '../../src/train/optim.js';
import * as F from '../../src/functional.js';
import { findBackend } from '../../src/tensor/engine.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/index.js';

/** The shapes of each mode; bench/gpu/torch_gpu.py has the same table (keep them in step). */
const SHAPES = {
  full: {
    matmulN: 4096,
    model: { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
    batch: 8, block: 1024, prompt: 32, newTokens: 128,
    // Seconds of timed work to aim for; the repetition counts follow from the warm-up's rate.
    matmulSeconds: 2, trainSeconds: 10, decodeSeconds: 6,
  },
  quick: {
    matmulN: 256,
    model: { vocab_size: 512, n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4 },
    batch: 2, block: 64, prompt: 8, newTokens: 16,
    matmulSeconds: 0.5, trainSeconds: 1, decodeSeconds: 1,
  },
};
type Shapes = typeof SHAPES.full;

const MEASURES = ['matmul', 'train', 'decode'] as const;
type Measure = typeof MEASURES[number];

function parseArgs(argv: string[]): { quick: boolean; only: Measure[] } {
  let quick = false, only: Measure[] = [...MEASURES];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter((s) => s);
      for (const m of list) if (!(MEASURES as readonly string[]).includes(m)) throw new Error(`--only: unknown measurement '${m}', expected some of ${MEASURES.join(',')}`);
      if (list.length === 0) throw new Error(`--only needs a list, e.g. --only ${MEASURES.join(',')}`);
      only = list as Measure[];
    } else throw new Error(`unknown argument '${a}': expected --quick or --only ${MEASURES.join(',')}`);
  }
  return { quick, only };
}

const now = (): number => performance.now() / 1000;

/** Compiled pipelines so far (diagnostics: on a slow shader compiler this is the warm-up's cost). */
const pipelines = (gpu: WebGPUBackend): number => gpu['kernels'].size;

/**
 * Seconds per call of `once`: one timed call (after the caller's warm-up) sets how many calls fill
 * `seconds`, then those are recorded back to back and timed to the end of the GPU queue.
 */
async function timeReps(gpu: WebGPUBackend, once: () => void, seconds: number, maxReps: number): Promise<{ secs: number; reps: number }> {
  let t0 = now();
  once();
  await gpu.sync();
  const first = now() - t0;
  // A call that alone fills the time is its own measurement (a slow card must not run out of time).
  if (first >= seconds) return { secs: first, reps: 1 };
  const reps = Math.max(1, Math.min(maxReps, Math.floor(seconds / Math.max(first, 1e-4))));
  t0 = now();
  for (let i = 0; i < reps; i++) once();
  await gpu.sync();
  return { secs: (now() - t0) / reps, reps };
}

async function benchMatmul(gpu: WebGPUBackend, s: Shapes): Promise<Record<string, unknown>> {
  const n = s.matmulN;
  const a = randn([n, n]), b = randn([n, n]);
  const once = () => tidy(() => { a.matmul(b).dispose(); });
  once();
  await gpu.sync();
  const { secs, reps } = await timeReps(gpu, once, s.matmulSeconds, 500);
  // A spot check that the product is a product: one entry against a float64 dot product.
  const c = a.matmul(b);
  const [av, bv, cv] = await Promise.all([a.data(), b.data(), c.data()]);
  let ref = 0;
  for (let k = 0; k < n; k++) ref += av[5 * n + k]! * bv[k * n + 7]!;
  a.dispose(); b.dispose(); c.dispose();
  return { shape: [n, n, n], gflops: (2 * n ** 3) / secs / 1e9, ms: secs * 1000, reps, check_abs_err: Math.abs(cv[5 * n + 7]! - ref) };
}

function makeModel(s: Shapes): models.GPT2LMHeadModel {
  // Dropout 0 as on PyTorch's side: both measure the same arithmetic.
  return new models.GPT2LMHeadModel({ ...s.model, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
}

function parameterCount(model: models.GPT2LMHeadModel): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
}

async function benchTrain(gpu: WebGPUBackend, s: Shapes): Promise<Record<string, unknown>> {
  const gen = new Generator(1);
  const model = makeModel(s);
  model.train();
  const V = s.model.vocab_size;
  const x = randint(0, V, [s.batch, s.block], { generator: gen }), y = randint(0, V, [s.batch, s.block], { generator: gen });
  const optimizer = new optim.AdamW(model.parameters(), { lr: 6e-4, betas: [0.9, 0.95], weightDecay: 0.1 });
  // The latest step's loss, kept out of tidy to be read after the timing.
  const kept: { loss: Tensor | null } = { loss: null };
  // The Trainer's step without its data loading, clipping and schedule (nor its loss read-back):
  // forward, loss, backward inside tidy, then the AdamW step and zeroed gradients.
  const step = () => {
    kept.loss?.dispose();
    kept.loss = tidy(() => {
      const { logits } = model.forward({ inputIds: x });
      const loss = F.crossEntropy(logits.reshape(-1, V), y.reshape(-1));
      loss.backward();
      return loss.detach();
    });
    optimizer.step();
    optimizer.zeroGrad();
  };
  const t0 = now();
  step();
  const firstLoss = (await kept.loss!.data())[0]!;
  const warmupSecs = now() - t0;
  // A second warm-up step (the first allocated AdamW's state), counting its GPU dispatches.
  const dispatches = gpu.dispatches;
  step();
  await gpu.sync();
  const dispatchesPerStep = gpu.dispatches - dispatches;
  const { secs, reps } = await timeReps(gpu, step, s.trainSeconds, 50);
  const loss = (await kept.loss!.data())[0]!;
  const out = { batch: [s.batch, s.block], params: parameterCount(model), tokens_per_s: (s.batch * s.block) / secs,
    ms_per_step: secs * 1000, steps: reps, first_step_s: warmupSecs, loss_first: firstLoss, loss_last: loss,
    dispatches_per_step: dispatchesPerStep, pipelines: pipelines(gpu), peak_gpu_bytes: memory().peakBytes };
  kept.loss?.dispose();
  optimizer.dispose();
  model.dispose();
  x.dispose(); y.dispose();
  return out;
}

async function benchDecode(gpu: WebGPUBackend, s: Shapes): Promise<Record<string, unknown>> {
  const gen = new Generator(2);
  const model = makeModel(s);
  model.eval();
  const prompt = Array.from({ length: s.prompt }, () => gen.int(0, s.model.vocab_size));
  // eosTokenId null: random weights may pick GPT-2's EOS; every run makes exactly newTokens tokens.
  const run = () => model.generate([prompt], { maxNewTokens: s.newTokens, doSample: false, eosTokenId: null });
  let t0 = now();
  const first = await run();
  const warmupSecs = now() - t0;
  // generate() reads every token back before choosing the next, so its end is the GPU's end.
  t0 = now();
  await run();
  const once = now() - t0;
  let secs = once, reps = 1, last = first;
  if (once < s.decodeSeconds) {
    reps = Math.min(10, Math.floor(s.decodeSeconds / once));
    t0 = now();
    for (let i = 0; i < reps; i++) last = await run();
    secs = (now() - t0) / reps;
  }
  const generated = last[0]!.length - s.prompt;
  const same = JSON.stringify(last) === JSON.stringify(first);
  model.dispose();
  return { prompt: s.prompt, new_tokens: generated, tokens_per_s: generated / secs, ms_per_token: (secs * 1000) / generated,
    runs: reps, first_run_s: warmupSecs, deterministic: same, params: parameterCount(model), pipelines: pipelines(gpu) };
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const shapes = quick ? SHAPES.quick : SHAPES.full;
  if (!(await setBackend('webgpu'))) {
    for (const m of only) console.log(JSON.stringify({ side: 'tlm', measure: m, error: `no webgpu backend: ${lastBackendError}` }));
    process.exitCode = 1;
    return;
  }
  const gpu = findBackend('webgpu') as WebGPUBackend;
  const benches: Record<Measure, (g: WebGPUBackend, s: Shapes) => Promise<Record<string, unknown>>> = {
    matmul: benchMatmul, train: benchTrain, decode: benchDecode,
  };
  for (const m of only) {
    const t0 = now();
    let result: Record<string, unknown>;
    try {
      result = await benches[m](gpu, shapes);
    } catch (err) {
      result = { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
      process.exitCode = 1;
    }
    console.log(JSON.stringify({ side: 'tlm', measure: m, quick, adapter: gpu.adapter, ...result, wall_s: now() - t0 }));
  }
}

await main();
// Dawn's threads can keep the process alive after the work is done.
process.exit(process.exitCode ?? 0);
