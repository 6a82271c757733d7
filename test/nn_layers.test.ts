// nn layers beyond the torch fixtures: state-dict keys, initialisation, errors, masks, KV caches.
import test from 'node:test';
import assert from 'node:assert/strict';
import { nn, manualSeed, noGrad, randn, tensor, zeros, type Tensor } from '../src/index.js';
import { readLayerFixture } from './nn_util.js';

const maxAbs = (t: Tensor) => Math.max(...Array.from(t.dataSync(), Math.abs));
function assertAllClose(a: Tensor, b: Tensor, tol = 1e-5, what = 'values'): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shapes`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i]! - y[i]!) <= tol * Math.max(1, Math.abs(y[i]!)))) assert.fail(`${what}: [${i}] ${x[i]} vs ${y[i]}`);
  }
}

test('state-dict keys and their order are torch.nn\'s', () => {
  // The fixtures' options are each layer's constructor options.
  const cases: [string, (o: never) => nn.Module][] = [
    ['multihead_attention', (o) => new nn.MultiheadAttention(o)],
    ['encoder_layer', (o) => new nn.TransformerEncoderLayer(o)],
    ['decoder_layer', (o) => new nn.TransformerDecoderLayer(o)],
    ['transformer', (o) => new nn.Transformer(o)],
  ];
  for (const [group, build] of cases) {
    for (const c of readLayerFixture(group).cases) assert.deepEqual(Object.keys(build(c.options as never).stateDict()), Object.keys(c.state), `${group}/${c.name}`);
  }
  const bn = new nn.BatchNorm1d(4);
  assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(bn.namedParameters().map(([k]) => k), ['weight', 'bias']);
});

test('initialisation follows torch: kaiming-uniform Linear, xavier MHA, zero biases, N(0,1) Embedding; seeded', () => {
  manualSeed(0);
  const lin = new nn.Linear(100, 50);
  assert.ok(maxAbs(lin.weight) <= 1 / Math.sqrt(100) && maxAbs(lin.weight) > 0.09);
  assert.ok(maxAbs(lin.bias!) <= 1 / Math.sqrt(100));
  const mha = new nn.MultiheadAttention({ embedDim: 64, numHeads: 4 });
  const inProj = mha.getParameter('in_proj_weight');
  const bound = Math.sqrt(6 / (64 + 192));
  assert.ok(maxAbs(inProj) <= bound && maxAbs(inProj) > 0.9 * bound, 'xavier_uniform bound');
  assert.equal(maxAbs(mha.getParameter('in_proj_bias')), 0);
  assert.equal(maxAbs(mha.outProj.bias!), 0);
  const emb = new nn.Embedding(1000, 16, { paddingIdx: 3 });
  const w = Array.from(emb.weight.dataSync());
  const mean = w.reduce((a, v) => a + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `N(0,1): mean ${mean}, std ${std}`);
  assert.equal(maxAbs(emb.weight.select(0, 3)), 0, 'padding row is zero');
  // nn.Transformer re-initialises every matrix with xavier_uniform.
  const t = new nn.Transformer({ dModel: 16, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 32 });
  const l1 = t.stateDict()['encoder.layers.0.linear1.weight']!;
  assert.ok(maxAbs(l1) <= Math.sqrt(6 / 48));
  // Same seed, same weights.
  manualSeed(7); const a = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2 });
  manualSeed(7); const b = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2 });
  for (const [k, v] of Object.entries(a.stateDict())) assert.deepEqual(Array.from(v.dataSync()), Array.from(b.stateDict()[k]!.dataSync()), k);
});

test('TransformerEncoder stacks deep copies: equal values, separate tensors; optional final norm', () => {
  const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true });
  const enc = new nn.TransformerEncoder(layer, 3, new nn.LayerNorm(8));
  const sd = enc.stateDict();
  assert.ok('norm.weight' in sd && 'layers.2.linear2.bias' in sd);
  assert.deepEqual(Array.from(sd['layers.0.linear1.weight']!.dataSync()), Array.from(sd['layers.2.linear1.weight']!.dataSync()));
  assert.notEqual(sd['layers.0.linear1.weight'], sd['layers.2.linear1.weight']);
  assert.equal(enc.numParameters(), 3 * layer.numParameters() + 16);
  const noNorm = new nn.TransformerEncoder(layer, 2);
  assert.ok(!('norm.weight' in noNorm.stateDict()));
  enc.eval();
  const y = noGrad(() => enc.forward(randn([2, 5, 8])));
  assert.deepEqual(y.shape, [2, 5, 8]);
});

test('loadStateDict: strict errors list missing, unexpected and wrongly-shaped keys', () => {
  const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16 });
  const sd = { ...layer.stateDict() };
  delete sd['norm2.bias'];
  sd['extra.weight'] = zeros([1]);
  sd['linear1.weight'] = zeros([3, 3]);
  assert.throws(() => layer.loadStateDict(sd), (e: unknown) => {
    assert.ok(e instanceof nn.StateDictError);
    assert.deepEqual(e.missing, ['norm2.bias']);
    assert.deepEqual(e.unexpected, ['extra.weight']);
    assert.match(e.message, /linear1\.weight: checkpoint \[3,3\] vs model \[16,8\]/);
    return true;
  });
});

test('Dropout, train/eval, freezing and parameter counts', () => {
  const d = new nn.Dropout(0.5);
  const x = randn([1000]);
  const y = d.forward(x);
  const zerosFrac = Array.from(y.dataSync()).filter((v) => v === 0).length / 1000;
  assert.ok(zerosFrac > 0.4 && zerosFrac < 0.6);
  d.eval();
  assert.equal(d.forward(x), x);
  const t = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
  t.eval();
  assert.ok([...t.namedModules()].every(([, m]) => !m.training));
  // per layer: MHA 4·8·8+4·8, FFN 8·16+16+16·8+8, norms 2·8 each
  const mha = 4 * 64 + 32, ffn = 128 + 16 + 128 + 8;
  assert.equal(t.numParameters(), (mha + ffn + 32) + (2 * mha + ffn + 48) + 32);
  (t.encoder as nn.TransformerEncoder).requiresGrad_(false);
  assert.equal(t.numParameters(true), 2 * mha + ffn + 48 + 16);
});

test('BatchNorm1d uses batch statistics in training and running statistics in eval', () => {
  const bn = new nn.BatchNorm1d(3, { momentum: 1 }); // momentum 1: running stats = last batch's
  const x = randn([64, 3]).mul(2).add(5);
  const y = bn.forward(x);
  const col = (t: Tensor, j: number) => Array.from({ length: 64 }, (_, i) => t.dataSync()[i * 3 + j]!);
  const m = col(y, 0).reduce((a, v) => a + v, 0) / 64;
  assert.ok(Math.abs(m) < 1e-5, 'normalised in training');
  bn.eval();
  const ye = bn.forward(x);
  // Eval divides by the unbiased running variance, so values differ slightly from training's.
  const ratio = Math.sqrt(64 / 63);
  assert.ok(Math.abs(col(ye, 1)[0]! * ratio - col(y, 1)[0]!) < 1e-4);
  assert.throws(() => bn.forward(randn([2, 4])), /BatchNorm1d: input has 4 channels, expected 3/);
});

test('generateSquareSubsequentMask and MultiheadAttention mask handling', () => {
  const m = nn.Transformer.generateSquareSubsequentMask(3);
  assert.deepEqual(m.tolist(), [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
  manualSeed(1);
  const mha = new nn.MultiheadAttention({ embedDim: 8, numHeads: 2, batchFirst: true });
  const x = randn([2, 4, 8]);
  // isCausal, a float mask and a bool mask are the same thing.
  const [a, wa] = mha.forward(x, x, x, { isCausal: true });
  const [b] = mha.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(4) });
  const [c] = mha.forward(x, x, x, { attnMask: tensor([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], { dtype: 'bool' }) });
  assertAllClose(a, b); assertAllClose(a, c);
  // Weights: causal rows sum to one and are zero above the diagonal.
  const w = wa!.dataSync();
  assert.equal(w[1], 0);
  assert.ok(Math.abs(w[4]! + w[5]! - 1) < 1e-6);
  // A float key-padding mask of −inf equals the bool one.
  const kpmBool = tensor([[0, 0, 0, 1], [0, 0, 1, 1]], { dtype: 'bool' });
  const kpmFloat = tensor([[0, 0, 0, -Infinity], [0, 0, -Infinity, -Infinity]]);
  assertAllClose(mha.forward(x, x, x, { keyPaddingMask: kpmBool })[0], mha.forward(x, x, x, { keyPaddingMask: kpmFloat })[0]);
  // Per-head weights [N, H, L, S]; none at all without needWeights.
  assert.deepEqual(mha.forward(x, x, x, { averageAttnWeights: false })[1]!.shape, [2, 2, 4, 4]);
  assert.equal(mha.forward(x, x, x, { needWeights: false })[1], null);
  assert.throws(() => mha.forward(x, x, x, { keyPaddingMask: kpmBool.narrow(1, 0, 3) }), /keyPaddingMask must be \[2, 4\]/);
  assert.throws(() => new nn.MultiheadAttention({ embedDim: 10, numHeads: 3 }), /divisible/);
});

test('KV cache: MultiheadAttention and TransformerDecoder step by step equal the full causal pass', () => {
  manualSeed(2);
  const dec = new nn.TransformerDecoder(new nn.TransformerDecoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true, dropout: 0 }), 2, new nn.LayerNorm(8));
  dec.eval();
  const tgt = randn([2, 5, 8]), mem = randn([2, 3, 8]);
  noGrad(() => {
    const full = dec.forward(tgt, mem, { tgtIsCausal: true });
    let cache: nn.DecoderLayerCache[] | null = null;
    const steps: Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      const r = dec.forwardWithCache(tgt.narrow(1, t, 1), mem, { tgtIsCausal: true }, cache);
      steps.push(r.output);
      cache = r.present;
    }
    assert.deepEqual(cache![0]!.self!.key.shape, [2, 2, 5, 4]);
    for (let t = 0; t < 5; t++) assertAllClose(steps[t]!, full.narrow(1, t, 1).contiguous(), 1e-5, `step ${t}`);
  });
});

test('positional encodings: sinusoidal, concat, learned, RoPE, ALiBi, relative', () => {
  const pe = new nn.SinusoidalPositionalEncoding({ dim: 6, maxLen: 10 });
  const z = pe.forward(zeros([1, 4, 6]));
  const v = z.dataSync();
  assert.ok(Math.abs(v[3 * 6 + 0]! - Math.sin(3)) < 1e-6);
  assert.ok(Math.abs(v[3 * 6 + 3]! - Math.cos(3 / Math.pow(10000, 2 / 6))) < 1e-6);
  assert.deepEqual(pe.stateDict(), {}, 'the table is not saved');
  assert.deepEqual(new nn.SinusoidalPositionalEncoding({ dim: 4, mode: 'concat' }).forward(zeros([2, 3, 6])).shape, [2, 3, 10]);
  assert.throws(() => pe.forward(zeros([1, 11, 6])), /11 positions exceed the table's 10/);
  const learned = new nn.LearnedPositionalEmbedding(8, 4);
  assert.deepEqual(Object.keys(learned.stateDict()), ['weight']);
  assert.deepEqual(learned.add(zeros([1, 3, 4]), null, 2).tolist(), [learned.weight.narrow(0, 2, 3).tolist()]);

  // RoPE keeps norms, and q·k depends only on the distance between positions.
  const rope = new nn.RotaryEmbedding({ dim: 8, maxLen: 4 }); // grows its table on demand
  const q = randn([1, 1, 1, 8]), k = randn([1, 1, 1, 8]);
  const at = (x: Tensor, p: number) => rope.forward(x, tensor(new Int32Array([p]), { shape: [1, 1] }));
  const dot = (a: Tensor, b: Tensor) => a.mul(b).sum().item();
  assert.ok(Math.abs(dot(at(q, 3), at(q, 3)) - dot(q, q)) < 1e-4);
  assert.ok(Math.abs(dot(at(q, 5), at(k, 2)) - dot(at(q, 13), at(k, 10))) < 1e-4);
  assert.ok(Math.abs(dot(at(q, 5), at(k, 2)) - dot(at(q, 5), at(k, 3))) > 1e-4);

  assert.deepEqual(nn.alibiSlopes(8), [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
  assert.equal(nn.alibiSlopes(6).length, 6);
  const alibi = new nn.ALiBi({ numHeads: 2 });
  const bias = alibi.scoreBias(zeros([1, 2, 3, 4]), 1, 4);
  assert.deepEqual(bias.shape, [1, 2, 3, 4]);
  // Two heads: slopes 1/16 and 1/256. Query 0 sits at position 1, so key 3 is 2 away.
  const s0 = nn.alibiSlopes(2)[0]!;
  assert.equal(s0, 1 / 16);
  assert.ok(Math.abs(bias.dataSync()[3]! - -s0 * 2) < 1e-7);

  const rel = new nn.RelativePositionBias({ headDim: 4, maxRelativePosition: 2 });
  assert.deepEqual(rel.weight.shape, [5, 4]);
  const qq = randn([1, 1, 3, 4], { requiresGrad: true });
  const rb = rel.scoreBias(qq, 0, 6);
  // Key 5 and key 4 are both ≥ 2 ahead of query 0: the same clipped vector.
  assert.equal(rb.dataSync()[5], rb.dataSync()[4]);
  rb.sum().backward();
  assert.ok(rel.weight.grad && maxAbs(rel.weight.grad) > 0);
});

test('positions attached to nn layers: RoPE and relative positions in a TransformerEncoderLayer', () => {
  const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true, dropout: 0 });
  const rel = new nn.RelativePositionBias({ headDim: 4, maxRelativePosition: 3 });
  layer.selfAttn.setPositional({ rotary: new nn.RotaryEmbedding({ dim: 4 }), scoreBias: rel });
  assert.ok('self_attn.relative_position.weight' in layer.stateDict());
  const x = randn([2, 5, 8], { requiresGrad: true });
  layer.forward(x, { isCausal: true }).sum().backward();
  assert.ok(rel.weight.grad && x.grad);
});

test('FeedForward, Sequential and noInit', () => {
  const ff = new nn.FeedForward({ dModel: 8, dimFeedforward: 32, activation: 'gelu' });
  assert.deepEqual(Object.keys(ff.stateDict()), ['linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias']);
  assert.deepEqual(ff.forward(randn([2, 3, 8])).shape, [2, 3, 8]);
  const seq = new nn.Sequential(new nn.Linear(4, 6), new nn.LayerNorm(6), new nn.Linear(6, 2));
  assert.deepEqual(Object.keys(seq.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
  assert.deepEqual(seq.forward(randn([5, 4])).shape, [5, 2]);
  // Under noInit the random initialisers leave tensors alone (weights about to be loaded).
  const t = zeros([3, 3]);
  nn.init.noInit(() => nn.init.xavierUniform_(t));
  assert.equal(maxAbs(t), 0);
  nn.init.xavierUniform_(t);
  assert.ok(maxAbs(t) > 0);
});
