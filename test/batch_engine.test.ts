// Continuous batching against generation alone: the HF gpt2-tiny fixture decodes concurrent
// requests that join and leave at different steps, and each must get exactly the tokens it gets
// alone; cancellation, queue limits, log-probabilities and memory.

import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { noGrad, tensor, tidy } from '../src/index.js';
import { fromPretrained, type PreTrainedModel } from '../src/models/index.js';
import { BatchEngine, EngineClosedError, GrowingKVCache, KVCache, QueueFullError, generate, leftPad, logSumExp, topLogprobs, type CausalLM, type TokenEvent } from '../src/generate/index.js';
import { liveTensors } from './helpers/live.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
let cached: PreTrainedModel | null = null;
async function model(): Promise<PreTrainedModel & CausalLM> {
  cached ??= await fromPretrained(dir);
  return cached as PreTrainedModel & CausalLM;
}

/** Deterministic pseudo-random prompts of varied lengths. */
function prompt(i: number, len: number): number[] {
  return Array.from({ length: len }, (_, j) => (i * 131 + j * 37 + 7) % 1000);
}

async function collect(events: AsyncIterable<TokenEvent>): Promise<TokenEvent[]> {
  const out: TokenEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('16 concurrent greedy requests, joining at different steps, each get the tokens they get alone', async () => {
  const m = await model();
  const reqs = Array.from({ length: 16 }, (_, i) => ({ promptIds: prompt(i, 1 + (i * 5) % 13), maxNewTokens: 3 + (i * 7) % 11 }));
  const alone: number[][] = [];
  for (const r of reqs) alone.push((await generate(m, [r.promptIds], { maxNewTokens: r.maxNewTokens, doSample: false }))[0]!.slice(r.promptIds.length));
  const engine = new BatchEngine(m, { maxBatch: 6, maxQueue: 16 });
  const results = await Promise.all(reqs.map(async (r, i) => {
    await sleep(i % 4 === 0 ? 0 : i * 3); // some arrive while others decode
    const h = engine.submit(r);
    const events = await collect(h.events);
    const done = await h.done;
    assert.ok(events.every((e) => Number.isNaN(e.logprob) && e.top.length === 0), 'no log-probabilities unless asked for');
    return { tokens: events.map((e) => e.token), done };
  }));
  results.forEach((res, i) => {
    assert.deepEqual(res.tokens, alone[i], `request ${i}`);
    assert.deepEqual(res.done, { finishReason: 'length', promptTokens: reqs[i]!.promptIds.length, completionTokens: reqs[i]!.maxNewTokens });
  });
  assert.ok(engine.steps < reqs.reduce((a, r) => a + r.maxNewTokens, 0), 'requests shared decode steps');
  assert.equal(engine.running, 0);
  engine.dispose();
});

test('an eos token finishes with stop; a cancelled sequence leaves the batch and the others are unaffected', async () => {
  const m = await model();
  const p = prompt(3, 6);
  const [full] = await generate(m, [p], { maxNewTokens: 12, doSample: false });
  const gen = full!.slice(p.length);
  const engine = new BatchEngine(m, { maxBatch: 4 });
  const eos = gen[4]!;
  const first = gen.indexOf(eos);
  const stopped = engine.submit({ promptIds: p, maxNewTokens: 12, eosTokenIds: [eos] });
  const cancelled = engine.submit({ promptIds: prompt(5, 9), maxNewTokens: 1000 });
  const other = engine.submit({ promptIds: prompt(8, 2), maxNewTokens: 10 });
  let seen = 0;
  for await (const _ of cancelled.events) { if (++seen === 3) cancelled.cancel(); }
  const c = await cancelled.done;
  assert.equal(c.finishReason, 'cancelled');
  assert.ok(c.completionTokens >= 3 && c.completionTokens <= 4, `left within a step (${c.completionTokens} tokens)`);
  const s = await collect(stopped.events);
  assert.deepEqual(s.map((e) => e.token), gen.slice(0, first + 1));
  assert.equal(s.at(-1)!.isEos, true);
  assert.equal((await stopped.done).finishReason, 'stop');
  const [alone] = await generate(m, [prompt(8, 2)], { maxNewTokens: 10, doSample: false });
  assert.deepEqual((await collect(other.events)).map((e) => e.token), alone!.slice(2));
  engine.dispose();
});

test('submitAll admits a set of sequences whole or refuses it whole', async () => {
  const m = await model();
  const engine = new BatchEngine(m, { maxBatch: 1, maxQueue: 2 });
  const first = engine.submit({ promptIds: [1, 2, 3], maxNewTokens: 4 });
  // Two places left: a set of three is refused and takes none of them.
  assert.throws(() => engine.submitAll([1, 2, 3].map((t) => ({ promptIds: [t], maxNewTokens: 2 }))),
    (err: Error) => err instanceof QueueFullError && /0 sequences running and 1 waiting leave no room for the 3 sequences of this request/.test(err.message));
  assert.equal(engine.running + engine.queued, 1);
  // One bad request refuses the set too, before anything is queued.
  assert.throws(() => engine.submitAll([{ promptIds: [4], maxNewTokens: 2 }, { promptIds: [], maxNewTokens: 2 }]), /promptIds must be a non-empty array/);
  assert.equal(engine.running + engine.queued, 1);
  const pair = engine.submitAll([{ promptIds: [5], maxNewTokens: 2 }, { promptIds: [6, 7], maxNewTokens: 3 }]);
  assert.equal(engine.running + engine.queued, 3);
  assert.deepEqual(await Promise.all([first, ...pair].map(async (h) => (await h.done).completionTokens)), [4, 2, 3]);
  engine.dispose();
});

test('a full queue refuses with QueueFullError; a drained engine refuses with EngineClosedError', async () => {
  const m = await model();
  const engine = new BatchEngine(m, { maxBatch: 1, maxQueue: 1 });
  const a = engine.submit({ promptIds: [1, 2, 3], maxNewTokens: 5 });
  const b = engine.submit({ promptIds: [4, 5], maxNewTokens: 5 });
  assert.throws(() => engine.submit({ promptIds: [6], maxNewTokens: 5 }), QueueFullError);
  assert.equal(engine.running + engine.queued, 2);
  // A cancelled sequence frees its place at once (it leaves the batch at the next step).
  b.cancel();
  assert.equal(engine.running + engine.queued, 1);
  const c = engine.submit({ promptIds: [7, 8], maxNewTokens: 5 });
  assert.throws(() => engine.submit({ promptIds: [6], maxNewTokens: 5 }), QueueFullError);
  const drained = engine.drain();
  assert.throws(() => engine.submit({ promptIds: [6], maxNewTokens: 5 }), EngineClosedError);
  await drained;
  assert.equal((await a.done).completionTokens, 5);
  assert.equal((await b.done).finishReason, 'cancelled');
  assert.equal((await c.done).completionTokens, 5);
  assert.throws(() => new BatchEngine(m, { maxBatch: 0 }), /maxBatch must be a positive integer, got 0/);
  assert.throws(() => engine.submit({ promptIds: [], maxNewTokens: 1 }), /EngineClosedError|shutting down/);
  const e2 = new BatchEngine(m);
  assert.throws(() => e2.submit({ promptIds: [], maxNewTokens: 1 }), /promptIds must be a non-empty array/);
  assert.throws(() => e2.submit({ promptIds: [1], maxNewTokens: 0 }), /maxNewTokens must be a positive integer, got 0/);
  assert.throws(() => e2.submit({ promptIds: [1], maxNewTokens: 1, topLogprobs: 21 }), /topLogprobs must be an integer in 0..20, got 21/);
  e2.dispose();
  engine.dispose();
});

test('log-probabilities are the model\'s log-softmax; top alternatives are the k best in order', async () => {
  const m = await model();
  const p = prompt(2, 5);
  const engine = new BatchEngine(m);
  const h = engine.submit({ promptIds: p, maxNewTokens: 3, topLogprobs: 4 });
  // A second request of another length runs beside it, so these come from a padded batch.
  engine.submit({ promptIds: prompt(9, 11), maxNewTokens: 3 });
  const events = await collect(h.events);
  const seq = [...p];
  for (const e of events) {
    const logits = noGrad(() => m.forward({ inputIds: tensor(Int32Array.from(seq), { shape: [1, seq.length] }) }).logits!);
    const all = logits.dataSync() as Float32Array;
    const V = logits.shape[2]!;
    const row = all.slice((seq.length - 1) * V, seq.length * V);
    logits.dispose();
    const lse = logSumExp(row);
    assert.ok(Math.abs(e.logprob - (row[e.token]! - lse)) < 1e-4, `logprob ${e.logprob} vs ${row[e.token]! - lse}`);
    const sorted = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, 4);
    assert.deepEqual(e.top.map((t) => t.token), sorted);
    assert.equal(e.top[0]!.token, e.token, 'greedy picks the most likely');
    seq.push(e.token);
  }
  assert.deepEqual(topLogprobs(Float32Array.from([0, 2, 2, 1]), 3).map((t) => t.token), [1, 2, 3]);
  engine.dispose();
});

test('seeded sampling gives the same tokens alone and in a batch; memory is flat over many requests', async () => {
  const m = await model();
  const engine = new BatchEngine(m, { maxBatch: 8 });
  const req = { promptIds: prompt(4, 7), maxNewTokens: 8, temperature: 0.9, topP: 0.95, topK: 50, seed: 11 };
  const alone = (await collect(engine.submit(req).events)).map((e) => e.token);
  const together = await Promise.all([req, { ...req, seed: 12 }, { ...req, promptIds: prompt(1, 3) }].map(async (r) => (await collect(engine.submit(r).events)).map((e) => e.token)));
  assert.deepEqual(together[0], alone);
  assert.notDeepEqual(together[1], alone);
  const before = liveTensors();
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => collect(engine.submit({ promptIds: prompt(i + round, 1 + i), maxNewTokens: 1 + i % 4 }).events)));
  }
  assert.equal(liveTensors(), before, 'no tensor outlives its sequences');
  engine.dispose();
});

test('GrowingKVCache: steps appended in place (past its capacity, through merges and reorders) give the logits of a full forward', async () => {
  const m = await model();
  const before = liveTensors();
  const cache = new GrowingKVCache(0, 1); // headroom 1: every other step outgrows the buffers
  const seqs = [prompt(1, 4), prompt(2, 2)];
  const join = (rows: number[][]) => {
    const group = new KVCache(rows.length);
    const { ids, mask } = leftPad(rows, 0);
    group.extend(mask);
    const presents = noGrad(() => tidy(() => m.forward({ inputIds: tensor(Int32Array.from(ids.flat()), { shape: [rows.length, ids[0]!.length] }),
      attentionMask: group.hasPadding ? group.maskTensor() : null, useCache: true }).presentKeyValues!));
    group.update(presents);
    cache.merge(group);
  };
  join([seqs[0]!]);
  join([seqs[1]!]); // a shorter row joins: left padding
  const lastRow = (s: number[]) => {
    return noGrad(() => tidy(() => {
      const out = m.forward({ inputIds: tensor(Int32Array.from(s), { shape: [1, s.length] }) }).logits!;
      return (out.dataSync() as Float32Array).slice((s.length - 1) * out.shape[2]!);
    }));
  };
  for (let step = 0; step < 5; step++) {
    if (step === 3) { cache.reorder([1, 0]); seqs.reverse(); }
    const next = seqs.map((s, i) => (s.length * 31 + i * 7) % 1000);
    cache.extend(next.map(() => [1]));
    const S = cache.length;
    const out = noGrad(() => tidy(() => {
      const o = m.forward({
        inputIds: tensor(Int32Array.from(next), { shape: [2, 1] }), attentionMask: cache.maskTensor(),
        positionIds: tensor(Int32Array.from(cache.mask.map((row) => row.reduce((a, v) => a + v, 0) - 1)), { shape: [2, 1] }),
        pastKeyValues: cache.self, useCache: true,
      });
      return { logits: o.logits!, presents: o.presentKeyValues! };
    }));
    cache.update(out.presents);
    assert.equal(cache.self![0]!.key.shape[2], S);
    assert.ok(cache.self!.every((kv) => kv.append !== undefined), 'the model appended in place');
    const logits = out.logits.dataSync() as Float32Array, V = out.logits.shape[2]!;
    out.logits.dispose();
    seqs.forEach((s, r) => {
      s.push(next[r]!);
      const want = lastRow(s);
      const got = logits.slice(r * V, (r + 1) * V);
      for (let v = 0; v < V; v += 97) assert.ok(Math.abs(got[v]! - want[v]!) < 1e-4, `step ${step} row ${r} logit ${v}: ${got[v]} vs ${want[v]}`);
    });
  }
  cache.dispose();
  assert.equal(liveTensors(), before, 'the cache frees its buffers and views');
});

test('GrowingKVCache without a recorded mask (as an encoder-decoder runner uses it): layers grow as they append, results equal a full forward', async () => {
  const m = await model();
  const before = liveTensors();
  const cache = new GrowingKVCache(1, 1);
  const seq = prompt(6, 3);
  const step = (ids: number[]) => noGrad(() => tidy(() => {
    const o = m.forward({ inputIds: tensor(Int32Array.from(ids), { shape: [1, ids.length] }), pastKeyValues: cache.self, useCache: true });
    return { logits: o.logits!, presents: o.presentKeyValues! };
  }));
  const first = step(seq);
  first.logits.dispose();
  cache.update(first.presents);
  for (let i = 0; i < 6; i++) {
    const next = (seq.length * 53) % 1000;
    const out = step([next]);
    cache.update(out.presents);
    seq.push(next);
    const got = out.logits.dataSync() as Float32Array;
    out.logits.dispose();
    const want = noGrad(() => tidy(() => {
      const l = m.forward({ inputIds: tensor(Int32Array.from(seq), { shape: [1, seq.length] }) }).logits!;
      return (l.dataSync() as Float32Array).slice((seq.length - 1) * l.shape[2]!);
    }));
    for (let v = 0; v < want.length; v += 101) assert.ok(Math.abs(got[v]! - want[v]!) < 1e-4, `step ${i} logit ${v}`);
    assert.equal(cache.self![0]!.key.shape[2], seq.length);
  }
  cache.dispose();
  assert.equal(liveTensors(), before, 'grown buffers are freed');
});
