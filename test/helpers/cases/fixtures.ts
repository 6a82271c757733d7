// Forward values and gradients against PyTorch (test/fixtures/ops, from scripts/gen_fixtures.py).

import { functional as F, matmul, type Tensor } from '../../../src/index.js';
import type { Case } from '../suite.js';
import { expectFixture, fromEncoded, loadFixture, type FixtureCase } from '../fixtures.js';

type Run = (inp: Record<string, Tensor>, args: Record<string, unknown>) => Tensor;

const OPS: Record<string, Run> = {
  matmul: (i) => matmul(i.a!, i.b!),
  softmax: (i, a) => F.softmax(i.x!, a.dim as number),
  log_softmax: (i, a) => F.logSoftmax(i.x!, a.dim as number),
  layer_norm: (i, a) => F.layerNorm(i.x!, a.normalizedShape as number[], i.weight ?? null, i.bias ?? null, a.eps as number),
  gelu: (i, a) => F.gelu(i.x!, { approximate: a.approximate as 'none' | 'tanh' }),
  cross_entropy: (i, a) => F.crossEntropy(i.logits!, i.target!, {
    reduction: (a.reduction as 'mean' | 'sum' | 'none' | undefined) ?? 'mean',
    ignoreIndex: (a.ignoreIndex as number | undefined) ?? -100,
    labelSmoothing: (a.labelSmoothing as number | undefined) ?? 0,
    weight: i.weight,
  }),
  embedding: (i, a) => F.embedding(i.ids!, i.weight!, { paddingIdx: (a.paddingIdx as number | undefined) ?? null }),
};

async function runFixtureCase(op: string, c: FixtureCase, label: string): Promise<void> {
  const inputs: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(c.inputs)) inputs[k] = fromEncoded(e, k in c.grads);
  const out = OPS[op]!(inputs, c.args);
  await expectFixture(out, c.output, `${op} ${c.name}: output`, `${label}/${op}`);
  out.backward(fromEncoded(c.upstream));
  for (const [k, e] of Object.entries(c.grads)) {
    const g = inputs[k]!.grad;
    if (g === null) throw new Error(`${op} ${c.name}: no gradient for ${k}`);
    await expectFixture(g, e, `${op} ${c.name}: grad ${k}`, `${label}/${op}`);
  }
}

export const fixtureCases: Case[] = Object.keys(OPS).flatMap((op) =>
  loadFixture(op).cases.map((c) => ({ name: `torch ${op}: ${c.name}`, run: ({ label }) => runFixtureCase(op, c, label) })));
