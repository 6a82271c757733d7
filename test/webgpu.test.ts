// The webgpu backend against the cpu backend: same inputs, same ops, results compared. Runs on any
// adapter Dawn finds (Mesa's llvmpipe on CPU-only machines); skips, printing why, where none exists.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { empty, Generator, memory, models, optim, randn, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
import { findBackend } from '../src/tensor/engine.js';
import type { WebGPUBackend } from '../src/backend/webgpu/index.js';
import { assertClose } from './helpers/assert.js';
import { startWebgpu } from './helpers/backends.js';

// Skips only where the machine has no GPU adapter; any other failure to start is an error.
const reason = await startWebgpu();
const skip: string | false = reason ?? false;
if (skip) console.log(`# ${skip}`);
const opts = { skip };

const gen = new Generator(1234);
/** A random float32 tensor on cpu and the same values on webgpu. */
function pair(shape: number[]): [Tensor, Tensor] {
  const cpu = randn(shape, { device: 'cpu', generator: gen });
  return [cpu, cpu.to('webgpu')];
}

/** gpu's values equal cpu's within tol, relative to max(|expected|, floor). */
async function same(gpu: Tensor, cpu: Tensor, what: string, tol = 1e-5, floor = 1e-3): Promise<void> {
  assert.equal(gpu.device, 'webgpu', `${what}: result should live on webgpu`);
  assert.deepEqual(gpu.shape, cpu.shape, `${what}: shape`);
  assert.equal(gpu.dtype, cpu.dtype, `${what}: dtype`);
  assertClose(await gpu.data(), cpu.dataSync(), tol, what, floor);
}

test('webgpu: adapter', opts, (t) => {
  const b = findBackend('webgpu') as WebGPUBackend;
  t.diagnostic(`adapter: ${b.adapter}`);
  console.log(`# webgpu adapter: ${b.adapter}`);
  assert.ok(b.adapter.length > 0);
});

test('webgpu: matmul against cpu (tile edges, batches, broadcast, transposed views)', opts, async () => {
  const cases: [number[], number[]][] = [
    [[1, 1], [1, 1]], [[3, 5], [5, 7]], [[64, 64], [64, 64]], [[65, 17], [17, 130]], [[128, 200], [200, 96]],
    [[1, 300], [300, 1]], [[300], [300, 5]], [[7], [7]],
    [[4, 33, 20], [4, 20, 45]], [[3, 1, 10, 12], [5, 12, 7]], [[2, 3, 8, 9], [9, 4]], [[6, 16, 16], [16, 70]],
    // The 128×128 tiling (both sides ≥ 256), with overhanging tiles and a K that is no multiple of its step.
    [[300, 261], [261, 270]], [[2, 256, 8], [2, 8, 256]], [[257, 3], [3, 513]],
  ];
  for (const [sa, sb] of cases) {
    const [a, ga] = pair(sa), [b, gb] = pair(sb);
    await same(ga.matmul(gb), a.matmul(b), `matmul ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, 1e-5, 1);
  }
  // Transposed and sliced operands are read through their strides, without a copy.
  const [a, ga] = pair([40, 70]), [b, gb] = pair([90, 70]);
  await same(ga.matmul(gb.mT), a.matmul(b.mT), 'a @ bᵀ', 1e-5, 1);
  const [c, gc] = pair([40, 30]);
  await same(ga.mT.matmul(gc), a.mT.matmul(c), 'aᵀ @ c', 1e-5, 1);
  await same(gb.matmul(ga.mT).mT, b.matmul(a.mT).mT, '(b @ aᵀ)ᵀ', 1e-5, 1);
  await same(ga.narrow(0, 3, 20).matmul(gb.narrow(0, 10, 70).mT), a.narrow(0, 3, 20).matmul(b.narrow(0, 10, 70).mT), 'sliced views', 1e-5, 1);
  // Both through strides on the 128×128 tiling: a @ bᵀ and aᵀ @ c.
  const [big, gbig] = pair([300, 70]), [big2, gbig2] = pair([260, 70]), [big3, gbig3] = pair([70, 290]);
  await same(gbig.matmul(gbig2.mT), big.matmul(big2.mT), 'a @ bᵀ, 128×128 tiles', 1e-5, 1);
  await same(gbig3.mT.matmul(gbig3), big3.mT.matmul(big3), 'aᵀ @ a, 128×128 tiles', 1e-5, 1);
  const [w, gw] = pair([70, 9]);
  await same(ga.unsqueeze(0).expand(3, 40, 70).matmul(gw), a.unsqueeze(0).expand(3, 40, 70).matmul(w), 'expanded batch', 1e-5, 1);
  // An empty inner dimension gives zeros.
  await same(tensor(new Float32Array(0), { shape: [2, 0] }).matmul(tensor(new Float32Array(0), { shape: [0, 3] })),
    tensor(new Float32Array(0), { shape: [2, 0], device: 'cpu' }).matmul(tensor(new Float32Array(0), { shape: [0, 3], device: 'cpu' })), 'K = 0');
});

test('webgpu: add with broadcasting, scalars, dtypes and strided views', opts, async () => {
  const shapes: [number[], number[]][] = [[[4, 5], [5]], [[4, 1], [1, 5]], [[2, 3, 4], [3, 1]], [[1000], [1000]], [[], [3, 2]]];
  for (const [sa, sb] of shapes) {
    const [a, ga] = pair(sa), [b, gb] = pair(sb);
    await same(ga.add(gb), a.add(b), `add ${JSON.stringify(sa)} + ${JSON.stringify(sb)}`);
  }
  const [a, ga] = pair([6, 7]), [b, gb] = pair([7, 6]);
  await same(ga.add(gb.T), a.add(b.T), 'add transposed');
  await same(ga.add(2.5), a.add(2.5), 'add scalar');
  await same(ga.sub(gb.T, 3), a.sub(b.T, 3), 'sub with alpha');
  await same(ga.mul(gb.T).div(ga.abs().add(1)), a.mul(b.T).div(a.abs().add(1)), 'mul, div, abs');
  const i = tensor(new Int32Array([1, -2, 3, 40000, -5, 6]), { shape: [2, 3], device: 'cpu' });
  const gi = i.to('webgpu');
  await same(gi.add(gi.T.contiguous().T), i.add(i.T.contiguous().T), 'int32 add');
  await same(gi.add(7), i.add(7), 'int32 + int scalar');
  await same(gi.add(0.5), i.add(0.5), 'int32 + float scalar promotes');
  await same(ga.gt(0), a.gt(0), 'comparison gives bool');
  await same(ga.gt(0).add(ga.lt(-1)), a.gt(0).add(a.lt(-1)), 'bool + bool');
});

test('webgpu: sum over dims with keepdim, and the other reductions', opts, async () => {
  // Sums of ±1-sized terms: errors are measured against 1, not against a sum that cancelled to ~0.
  const [x, gx] = pair([3, 4, 5]);
  const dimsList: (number | number[] | null)[] = [null, 0, 1, 2, -1, [0, 2], [1, 2], [0, 1]];
  for (const dims of dimsList) {
    for (const keepdim of [false, true]) {
      await same(gx.sum(dims, keepdim), x.sum(dims, keepdim), `sum(${JSON.stringify(dims)}, keepdim=${keepdim})`, 1e-5, 1);
    }
  }
  await same(gx.transpose(0, 2).sum(1), x.transpose(0, 2).sum(1), 'sum of a transposed view', 1e-5, 1);
  const [long, glong] = pair([3, 5000]);
  await same(glong.sum(-1), long.sum(-1), 'long rows', 1e-5, 1);
  await same(glong.sum(0), long.sum(0), 'columns', 1e-5, 1);
  await same(gx.mean(1, true), x.mean(1, true), 'mean', 1e-5, 1);
  await same(gx.max(2), x.max(2), 'max');
  await same(gx.min(0, true), x.min(0, true), 'min');
  await same(gx.argmax(1), x.argmax(1), 'argmax');
  await same(gx.gt(0).sum(-1), x.gt(0).sum(-1), 'sum of bools is int32');
  const i = tensor(new Int32Array([5, -3, 2, 9]), { shape: [2, 2], device: 'cpu' });
  await same(i.to('webgpu').sum(0), i.sum(0), 'int32 sum');
});

test('webgpu: copy, fill, cast, unary and where', opts, async () => {
  const [x, gx] = pair([2, 3, 4]);
  await same(gx.permute(2, 0, 1).contiguous(), x.permute(2, 0, 1).contiguous(), 'permute copy');
  await same(gx.slice(2, 1, 4, 2).contiguous(), x.slice(2, 1, 4, 2).contiguous(), 'stepped slice copy');
  await same(gx.int(), x.int(), 'cast to int32 truncates');
  await same(gx.gt(0).float(), x.gt(0).float(), 'bool to float');
  for (const op of ['exp', 'tanh', 'sigmoid', 'relu', 'neg', 'square'] as const) await same(gx[op](), x[op](), op, 1e-5);
  await same(gx.gelu(), x.gelu(), 'gelu (erf)', 1e-5);
  await same(gx.gelu({ approximate: 'tanh' }), x.gelu({ approximate: 'tanh' }), 'gelu (tanh)', 1e-5);
  await same(gx.maskedFill(gx.lt(0), -Infinity), x.maskedFill(x.lt(0), -Infinity), 'maskedFill -inf');
  const y = gx.clone();
  y.narrow(1, 1, 1).fill_(7);
  const yc = x.clone();
  yc.narrow(1, 1, 1).fill_(7);
  await same(y, yc, 'fill_ into a view');
  y.narrow(2, 0, 2).copy_(gx.narrow(2, 2, 2));
  yc.narrow(2, 0, 2).copy_(x.narrow(2, 2, 2));
  await same(y, yc, 'copy_ within one buffer');
});

test('webgpu: reads are asynchronous only', opts, () => {
  const g = tensor([1, 2, 3]);
  assert.equal(g.device, 'webgpu');
  assert.throws(() => g.dataSync(), /dataSync: not available on backend 'webgpu'; use await t.data\(\)/);
});

test('webgpu: a tensor larger than a binding is a clear error naming the adapter limit, and the device lives on', opts, async () => {
  const gpu = findBackend('webgpu') as WebGPUBackend;
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const name = gpu.limits.maxStorageBufferBindingSize <= gpu.limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const n = Math.floor(limit / 4) + 1;
  assert.throws(() => empty([n]), new RegExp(`a float32 tensor of ${n} elements \\(${n * 4} bytes\\) exceeds this adapter's ${name} of ${limit} bytes`));
  assert.deepEqual(Array.from(await tensor([1, 2]).add(1).data()), [2, 3], 'later work runs');
});

test('webgpu: matmul, add, sum backward match cpu', opts, async () => {
  const [w, gw] = pair([6, 4]), [x, gx] = pair([5, 6]), [bias, gbias] = pair([4]);
  for (const t of [w, gw, bias, gbias]) t.requiresGrad_(true);
  x.matmul(w).add(bias).relu().sum().backward();
  gx.matmul(gw).add(gbias).relu().sum().backward();
  await same(gw.grad!, w.grad!, 'dW', 1e-5);
  await same(gbias.grad!, bias.grad!, 'db', 1e-5);
});

test('webgpu: buffers are freed by dispose and tidy (live count flat across a loop)', opts, async () => {
  const b = findBackend('webgpu');
  const w = randn([32, 48], { generator: gen }), x = randn([16, 32], { generator: gen }), c = randn([48], { generator: gen });
  const step = async (i: number) => {
    const out = tidy(() => x.matmul(w).add(c).relu().sum(-1, true));
    if (i % 10 === 0) await out.data();
    out.dispose();
    // Without tidy: each intermediate disposed by hand.
    const y = x.matmul(w), z = y.add(c), s = z.sum();
    y.dispose(); z.dispose(); s.dispose();
  };
  await step(0); // warm-up: the pool reaches its working size
  const before = memory(), pool = b.memory();
  for (let i = 0; i < 30; i++) await step(i);
  await (b as WebGPUBackend).sync();
  const end = memory();
  assert.equal(end.numTensors, before.numTensors, 'live tensors');
  assert.equal(end.storages, before.storages, 'live GPU buffers');
  assert.equal(end.numBytes, before.numBytes, 'bytes in live buffers');
  // The pool reached its size during warm-up; the loop reuses buffers instead of growing it.
  assert.equal(b.memory().poolBytes, pool.poolBytes, 'the loop reuses pooled buffers instead of growing the pool');
  w.dispose(); x.dispose(); c.dispose();
  assert.equal(memory().storages, before.storages - 3, 'disposing the inputs frees their buffers');
});

test('webgpu: a GPT-2 training step (forward, loss, backward, AdamW) matches cpu within 1e-4; greedy generation gives the same tokens', opts, async () => {
  const cfg = { vocab_size: 61, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };
  const ids = Array.from({ length: 2 * 12 }, (_, i) => (i * 7 + 3) % 61);
  // One step on a device from the same weights: loss, every gradient, the parameters after AdamW.
  const step = async (device: string, init: Record<string, Tensor> | null) => {
    await setBackend(device);
    const m = new models.GPT2LMHeadModel(cfg, { skipInit: init !== null });
    if (init) m.loadStateDict(Object.fromEntries(Object.entries(init).map(([k, t]) => [k, t.to(device)])));
    // The starting weights, kept (the step below updates the live ones) for the other device to load.
    const start = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.clone()]));
    const x = tensor(ids, { shape: [2, 12], dtype: 'int32' });
    const loss = models.causalLmLoss(m.forward({ inputIds: x }).logits, x);
    loss.backward();
    const grads = new Map<string, Float32Array>();
    for (const [name, p] of m.namedParameters()) grads.set(name, (await p.grad!.data()) as Float32Array);
    new optim.AdamW(m.parameters(), { lr: 1e-3 }).step();
    const params = new Map<string, Float32Array>();
    for (const [name, p] of m.namedParameters()) params.set(name, (await p.data()) as Float32Array);
    m.eval();
    const tokens = await m.generate([[3, 10, 17]], { maxNewTokens: 6, doSample: false });
    return { start, loss: (await loss.data())[0]!, grads, params, tokens };
  };
  const cpu = await step('cpu', null);
  const gpu = await step('webgpu', cpu.start);
  await setBackend('webgpu');
  assertClose([gpu.loss], [cpu.loss], 1e-4, 'loss');
  for (const [name, g] of cpu.grads) {
    // Each gradient against its own scale: entries far below it are sums that cancelled.
    const scale = g.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    assertClose(gpu.grads.get(name)!, g, 1e-4, `gradient of ${name}`, scale);
    assertClose(gpu.params.get(name)!, cpu.params.get(name)!, 1e-4, `${name} after AdamW`, 1);
  }
  assert.deepEqual(gpu.tokens, cpu.tokens, 'greedy tokens');
});

after(async () => { await setBackend('cpu'); });
