// tlm's layers against PyTorch: outputs and the gradients of inputs and every parameter, from the
// fixtures that scripts/gen_layer_fixtures.py writes (torch.nn, float64 reference from float32 values).
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { nn, type Tensor } from '../src/index.js';
import { ErrorLog, floats, fromFixture, readLayerFixture, type LayerCase } from './nn_util.js';

const log = new ErrorLog();
after(() => log.report('torch fixture'));

// Fixture options are tlm's constructor options, as written by the generator.
type Build = (opts: never) => nn.Module;
type Run = (m: never, x: Record<string, Tensor>, masks: Record<string, Tensor>, fwd: LayerCase['forward'], causalFlag: boolean) => [Tensor, Tensor | null];

function checkCase(group: string, c: LayerCase, build: Build, run: Run, causalFlag = false): void {
  const m = build(c.options as never);
  const state: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.state)) state[k] = fromFixture(v);
  m.loadStateDict(state, { strict: true });
  m.train(); // dropout is 0; train mode is torch's reference path too
  const x: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) x[k] = fromFixture(v, true);
  const masks: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.masks)) masks[k] = fromFixture(v);
  const [out, weights] = run(m as never, x, masks, c.forward, causalFlag);
  const tag = `${group}/${c.name}${causalFlag ? ' (isCausal)' : ''}`;
  assert.deepEqual(out.shape, c.outputs.output.shape, `${tag}: output shape`);
  log.check(group, `${tag} output`, out.dataSync(), floats(c.outputs.output));
  let loss = out.mul(fromFixture(c.gradOutputs.output)).sum();
  if (c.outputs.weights) {
    assert.ok(weights, `${tag}: expected attention weights`);
    assert.deepEqual(weights.shape, c.outputs.weights.shape, `${tag}: weights shape`);
    log.check(group, `${tag} weights`, weights.dataSync(), floats(c.outputs.weights));
    loss = loss.add(weights.mul(fromFixture(c.gradOutputs.weights!)).sum());
  }
  loss.backward();
  const params = Object.fromEntries(m.namedParameters());
  for (const [key, g] of Object.entries(c.grads)) {
    const [kind, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
    const t = kind === 'input' ? x[name] : params[name];
    assert.ok(t, `${tag}: no tensor for ${key}`);
    assert.ok(t.grad, `${tag}: ${key} got no gradient`);
    log.check(group, `${tag} grad ${key}`, t.grad.dataSync(), floats(g));
  }
  // Every parameter of the module has a reference gradient.
  for (const name of Object.keys(params)) assert.ok(`param.${name}` in c.grads, `${tag}: fixture lacks param.${name}`);
  // Buffers the forward updates (BatchNorm's running statistics) end as torch's.
  const sd = m.stateDict();
  for (const [key, v] of Object.entries(c.stateAfter ?? {})) log.check(group, `${tag} ${key} after forward`, sd[key]!.dataSync(), floats(v));
}

test('Linear, Embedding (paddingIdx), LayerNorm, BatchNorm1d match torch', () => {
  const fx = readLayerFixture('basic_layers');
  const build = (o: { kind: string; inFeatures: number; outFeatures: number; bias?: boolean; numEmbeddings: number; embeddingDim: number;
    paddingIdx?: number; normalizedShape: number[]; eps?: number; numFeatures: number; momentum?: number }): nn.Module => {
    switch (o.kind) {
      case 'Linear': return new nn.Linear(o.inFeatures, o.outFeatures, { bias: o.bias ?? true });
      case 'Embedding': return new nn.Embedding(o.numEmbeddings, o.embeddingDim, { paddingIdx: o.paddingIdx });
      case 'LayerNorm': return new nn.LayerNorm(o.normalizedShape, { eps: o.eps ?? 1e-5 });
      case 'BatchNorm1d': return new nn.BatchNorm1d(o.numFeatures, { momentum: o.momentum ?? 0.1 });
      default: throw new Error(`unknown layer ${o.kind}`);
    }
  };
  const run: Run = (m: { forward(x: Tensor): Tensor }, x, masks) => [m.forward(x.input ?? masks.ids!), null];
  for (const c of fx.cases) checkCase('basic_layers', c, build, run);
});

test('MultiheadAttention matches torch (masks, weights, kdim/vdim, bias_kv, zero attn, unbatched)', () => {
  const fx = readLayerFixture('multihead_attention');
  const run: Run = (m: nn.MultiheadAttention, x, masks, fwd, causalFlag) => {
    const q = x.query!;
    const k = x.key ?? q;
    const v = x.value ?? k;
    return m.forward(q, k, v, {
      attnMask: causalFlag ? null : masks.attnMask, keyPaddingMask: masks.keyPaddingMask, isCausal: causalFlag,
      needWeights: fwd.needWeights, averageAttnWeights: fwd.averageAttnWeights,
    });
  };
  for (const c of fx.cases) {
    checkCase('multihead_attention', c, (o) => new nn.MultiheadAttention(o), run);
    if (c.forward.causal) checkCase('multihead_attention', c, (o) => new nn.MultiheadAttention(o), run, true);
  }
});

test('TransformerEncoderLayer matches torch (pre/post norm, relu/gelu, padding and causal masks)', () => {
  const fx = readLayerFixture('encoder_layer');
  const run: Run = (m: nn.TransformerEncoderLayer, x, masks, _fwd, causalFlag) => [m.forward(x.src!, {
    srcMask: causalFlag ? null : masks.srcMask, srcKeyPaddingMask: masks.srcKeyPaddingMask, isCausal: causalFlag,
  }), null];
  for (const c of fx.cases) {
    checkCase('encoder_layer', c, (o) => new nn.TransformerEncoderLayer(o), run);
    if (c.forward.causal) checkCase('encoder_layer', c, (o) => new nn.TransformerEncoderLayer(o), run, true);
  }
});

test('TransformerDecoderLayer matches torch (pre/post norm, relu/gelu, causal, padding, memory masks)', () => {
  const fx = readLayerFixture('decoder_layer');
  const run: Run = (m: nn.TransformerDecoderLayer, x, masks, _fwd, causalFlag) => [m.forward(x.tgt!, x.memory!, {
    tgtMask: causalFlag ? null : masks.tgtMask, memoryMask: masks.memoryMask, tgtKeyPaddingMask: masks.tgtKeyPaddingMask,
    memoryKeyPaddingMask: masks.memoryKeyPaddingMask, tgtIsCausal: causalFlag,
  }), null];
  for (const c of fx.cases) {
    checkCase('decoder_layer', c, (o) => new nn.TransformerDecoderLayer(o), run);
    if (c.forward.causal) checkCase('decoder_layer', c, (o) => new nn.TransformerDecoderLayer(o), run, true);
  }
});

test('nn.Transformer matches torch end to end', () => {
  const fx = readLayerFixture('transformer');
  const run: Run = (m: nn.Transformer, x, masks, _fwd, causalFlag) => [m.forward(x.src!, x.tgt!, {
    tgtMask: causalFlag ? null : masks.tgtMask, srcKeyPaddingMask: masks.srcKeyPaddingMask,
    tgtKeyPaddingMask: masks.tgtKeyPaddingMask, memoryKeyPaddingMask: masks.memoryKeyPaddingMask, tgtIsCausal: causalFlag,
  }), null];
  for (const c of fx.cases) {
    checkCase('transformer', c, (o) => new nn.Transformer(o), run);
    checkCase('transformer', c, (o) => new nn.Transformer(o), run, true);
  }
});
