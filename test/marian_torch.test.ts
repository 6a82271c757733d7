// MarianMTModel against PyTorch (issue #11): three tiny random checkpoints in HF's layouts (shared
// + tied swish, separate untied gelu, separate tables with the head tied to the decoder's, relu),
// loaded with fromPretrained; the encoder output, logits, loss and every parameter's gradient against
// a float64 torch run of HF's Marian math (scripts/gen_marian_fixtures.py), and the sinusoid tables.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io, models, type Tensor } from '../src/index.js';
import { assertClose } from './helpers/assert.js';

const DIR = path.join(process.cwd(), 'test', 'fixtures', 'marian');

interface Case { name: string; layout: 'old' | 'new'; keys: string[]; grads: string[]; decoderInputIds: number[][]; loss: number }
const fixture = JSON.parse(fs.readFileSync(path.join(DIR, 'marian.json'), 'utf8')) as {
  torch: string;
  inputs: { inputIds: number[][]; attentionMask: number[][]; labels: number[][] };
  cases: Case[];
  sinusoids: { numPositions: number; dim: number; rows: number[]; values: number[][] }[];
};

const worst: Record<string, number> = {};
after(() => console.log(`marian vs torch ${fixture.torch}: worst relative errors ${JSON.stringify(worst)}`));

/**
 * 1e-4 relative, against max(|expected|, 0.1 × the tensor's largest |value|): elements far below
 * their tensor's scale come out of cancellation (softmax gradients of q and k), where float32 can
 * promise only an error relative to that scale (they stay under 1e-5 of it). A gradient that is zero
 * in exact arithmetic (the keys' bias: it shifts every score of a query alike) must stay at rounding noise.
 */
function close(actual: Tensor, expected: Tensor, what: string, kind: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const e = expected.dataSync() as Float32Array, a = actual.dataSync() as Float32Array;
  let scale = 0;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  if (scale < 1e-12) {
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]!) < 1e-6, `${what}: zero in exact arithmetic, got ${a[i]} at [${i}]`);
    return;
  }
  const err = assertClose(a, e, 1e-4, what, 0.1 * scale);
  worst[kind] = Math.max(worst[kind] ?? 0, err);
}

for (const c of fixture.cases) {
  test(`Marian ${c.name} (${c.layout} checkpoint layout): encoder output, logits, loss and all gradients match torch`, async () => {
    const dir = path.join(DIR, c.name);
    const model = await models.MarianMTModel.fromPretrained(dir, { strict: true });
    const expected = await io.loadSafetensors(path.join(dir, 'expected.safetensors'));
    const { inputIds, attentionMask, labels } = fixture.inputs;
    const labelsT = models.asIds(labels, 'labels');
    assert.deepEqual(Array.from(model.shiftTokensRight(labelsT).dataSync()), c.decoderInputIds.flat(), 'shift_tokens_right');

    const out = model.forward({ inputIds, attentionMask, labels });
    close(out.encoderLastHiddenState!, expected.encoder_last_hidden_state!, `${c.name} encoder output`, 'encoder');
    close(out.logits, expected.logits!, `${c.name} logits`, 'logits');
    close(out.loss!.reshape(1), expected.loss!, `${c.name} loss`, 'loss');
    out.loss!.backward();
    const sd = model.stateDict();
    assert.ok(c.grads.length > 80, 'every weight has a reference gradient');
    for (const key of c.grads) {
      const p = sd[key];
      assert.ok(p, `model has ${key}`);
      assert.ok(p.grad, `${key} got a gradient`);
      close(p.grad, expected[`grad.${key}`]!, `${c.name} grad ${key}`, 'grads');
    }
    // Buffers (sinusoids, final_logits_bias) are no parameters: no gradient, no optimizer state.
    const params = new Set(model.parameters());
    for (const [name, b] of model.namedBuffers()) assert.ok(!params.has(b) && !b.requiresGrad, `${name} is a buffer`);
    assert.equal(model.namedBuffers().length, 3);
  });
}

test('Marian sinusoids: sines then cosines (not interleaved), odd widths included, as MarianSinusoidalPositionalEmbedding', () => {
  for (const s of fixture.sinusoids) {
    const table = models.marianSinusoids(s.numPositions, s.dim);
    s.rows.forEach((r, i) => {
      const row = table.subarray(r * s.dim, (r + 1) * s.dim);
      for (let j = 0; j < s.dim; j++) assert.ok(Math.abs(row[j]! - s.values[i]![j]!) <= 2e-7, `[${s.numPositions}×${s.dim}] row ${r} col ${j}: ${row[j]} vs ${s.values[i]![j]}`);
    });
  }
  // The old-layout checkpoint carries the tables; they equal the computed ones (so leaving them out, as newer HF does, changes nothing).
  const stored = fs.readFileSync(path.join(DIR, 'swish_shared', 'model.safetensors'));
  assert.ok(stored.includes('model.encoder.embed_positions.weight'));
});
