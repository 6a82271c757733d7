// The general Trainer over a TrainingTask: the best checkpoint follows the chosen metric (higher or
// lower is better), early stopping ends a run whose metric stopped improving, and onBest fires
// exactly at the improvements.

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nn, randn, type Tensor } from '../src/index.js';
import { Trainer, UNFINISHED_FILE, type TrainingArguments } from '../src/train/trainer.js';
import type { TrainingTask } from '../src/train/task.js';
import { averageCheckpoints } from '../src/train/checkpoint.js';
import { loadSafetensors } from '../src/io/index.js';

/** A regression toy whose evaluation replays a scripted metric sequence. */
class ScriptedTask implements TrainingTask<nn.Linear, { x: Tensor; y: Tensor }> {
  readonly metricForBest = 'score';
  private i = 0;
  constructor(readonly script: number[]) {}
  trainBatch() { return { inputs: { x: randn([4, 3]), y: randn([4, 1]) }, tokens: 4 }; }
  loss(model: nn.Linear, b: { x: Tensor; y: Tensor }) { return model.forward(b.x).sub(b.y).square().mean(); }
  evaluate() { return { score: this.script[Math.min(this.i++, this.script.length - 1)]!, eval_loss: 1 }; }
}

const args = (over: Partial<TrainingArguments>): TrainingArguments => ({
  maxIters: 100, lr: 1e-2, minLr: 0, warmupIters: 0, lrDecayIters: 100, schedule: 'constant', weightDecay: 0, beta1: 0.9, beta2: 0.999,
  gradClip: 0, gradAccum: 1, evalInterval: 5, logInterval: 5, seed: 1, ...over,
});

test('best by a higher-is-better metric, early stopping after `patience` evaluations without improvement', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-trainer-'));
  try {
    const bests: [number, number][] = [];
    const t = new Trainer(new nn.Linear(3, 1), new ScriptedTask([0.5, 0.7, 0.6, 0.8, 0.79, 0.78, 0.77, 0.9]), args({ earlyStoppingPatience: 3 }), dir);
    const res = await t.run({ quiet: true, onBest: async (step, v) => { bests.push([step, v]); } });
    assert.deepEqual(bests, [[0, 0.5], [5, 0.7], [15, 0.8]]);
    assert.equal(res.bestMetric, 0.8);
    assert.ok(res.earlyStopped);
    assert.equal(res.step, 30, 'three evaluations after the best at 15: 20, 25, 30');
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.filter((l) => typeof l.score === 'number').length, 7);
    // A loss-like metric chosen explicitly: lower is better.
    const low = new Trainer(new nn.Linear(3, 1), new ScriptedTask([3, 2, 2.5, 1]), args({ maxIters: 15, metricForBest: 'score', greaterIsBetter: false }), null);
    assert.equal((await low.run({ quiet: true })).bestMetric, 1);
    await assert.rejects(new Trainer(new nn.Linear(3, 1), new ScriptedTask([1]), args({ metricForBest: 'accuracy' }), null).run({ quiet: true }),
      /the evaluation gave no 'accuracy' \(it gave score, eval_loss\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run stopped between evaluations and resumed averages the evaluations\' checkpoints, never the one written on stopping; onEnd runs once, before the run is marked finished', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-avg-stop-'));
  try {
    const ck = join(dir, 'checkpoints');
    const listed = () => readdirSync(ck).filter((e) => /^(step|resume)-/.test(e)).sort();
    const first = new Trainer(new nn.Linear(3, 1), new ScriptedTask([0.1]), args({ maxIters: 20, keepCheckpoints: 2 }), dir);
    let ends = 0;
    const onEnd = async () => { ends++; assert.ok(existsSync(join(dir, UNFINISHED_FILE)), 'the run was marked finished before its final save'); };
    const stopped = await first.run({ quiet: true, stop: { get requested() { return first.step >= 17; } }, onEnd });
    assert.ok(stopped.interrupted);
    assert.equal(ends, 0, 'onEnd ran for an interrupted run');
    assert.deepEqual(listed(), ['resume-0000017', 'step-0000010', 'step-0000015']);
    assert.equal(JSON.parse(readFileSync(join(ck, 'latest.json'), 'utf8')).dir, 'resume-0000017');

    const second = new Trainer(new nn.Linear(3, 1), new ScriptedTask([0.1]), args({ maxIters: 20, keepCheckpoints: 2 }), dir);
    assert.ok(await second.resume());
    assert.equal(second.step, 17);
    await second.run({ quiet: true, onEnd });
    assert.equal(ends, 1);
    assert.ok(!existsSync(join(dir, UNFINISHED_FILE)));
    assert.deepEqual(listed(), ['step-0000015', 'step-0000020'], 'the resume-only checkpoint goes once a newer one is written');
    assert.deepEqual((await averageCheckpoints(ck, 2)).steps, [15, 20]);

    // With one checkpoint kept (the default), stopping leaves only the one to resume from.
    const single = mkdtempSync(join(tmpdir(), 'tlm-stop-'));
    try {
      const t = new Trainer(new nn.Linear(3, 1), new ScriptedTask([0.1]), args({ maxIters: 20 }), single);
      await t.run({ quiet: true, stop: { get requested() { return t.step >= 7; } } });
      assert.deepEqual(readdirSync(join(single, 'checkpoints')).filter((e) => /^(step|resume)-/.test(e)), ['resume-0000007']);
    } finally {
      rmSync(single, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the newest k step checkpoints are kept and averaged (fairseq\'s checkpoint averaging)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-avg-'));
  try {
    const model = new nn.Linear(3, 1);
    const t = new Trainer(model, new ScriptedTask([0.1, 0.2, 0.3, 0.4, 0.5]), args({ maxIters: 20, keepCheckpoints: 3 }), dir);
    await t.run({ quiet: true });
    const ck = join(dir, 'checkpoints');
    assert.deepEqual(readdirSync(ck).filter((e) => e.startsWith('step-')).sort(), ['step-0000010', 'step-0000015', 'step-0000020']);
    const { weights, steps } = await averageCheckpoints(ck, 3);
    assert.deepEqual(steps, [10, 15, 20]);
    const each = await Promise.all(steps.map((s) => loadSafetensors(join(ck, `step-${String(s).padStart(7, '0')}`, 'model.safetensors'))));
    const mean = each[0]!.weight!.dataSync().map((_, i) => (each[0]!.weight!.dataSync()[i]! + each[1]!.weight!.dataSync()[i]! + each[2]!.weight!.dataSync()[i]!) / 3);
    Array.from(weights.weight!.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - mean[i]!) < 1e-7));
    await assert.rejects(averageCheckpoints(ck, 4), /holds 3 step checkpoint\(s\), fewer than the 4 to average/);
    // The scripted metric (0.5 again) does not beat the best (0.5): the best checkpoint is kept.
    const r = await t.averageLast(3);
    assert.equal(r.kept, 'best');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadFinal at the end of run(): the kept weights\' metric is the result\'s bestMetric, averaged or best', async () => {
  // Five evaluations (steps 0, 5, 10, 15, 20) score 0.1 … 0.5; the sixth scores the averaged weights.
  for (const [averagedScore, kept, expected] of [[0.9, 'averaged', 0.9], [0.3, 'best', 0.5]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'tlm-final-'));
    try {
      const model = new nn.Linear(3, 1);
      const t = new Trainer(model, new ScriptedTask([0.1, 0.2, 0.3, 0.4, 0.5, averagedScore]), args({ maxIters: 20, keepCheckpoints: 3 }), dir);
      let note: string | null = null;
      const res = await t.run({ quiet: true, onEnd: async () => { note = await t.loadFinal(3); } });
      assert.match(note ?? '', new RegExp(`steps 10, 15, 20: score ${averagedScore.toFixed(4)} against the best's 0\\.5000; keeping the ${kept}$`));
      assert.equal(res.bestMetric, expected);
      const ck = join(dir, 'checkpoints');
      const want = kept === 'averaged' ? (await averageCheckpoints(ck, 3)).weights : await loadSafetensors(join(ck, 'best', 'model.safetensors'));
      assert.deepEqual(Array.from(model.weight.dataSync()), Array.from(want.weight!.dataSync()), `the model holds the ${kept} weights`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
