// One command buffer per training step on webgpu (issue #13): a step's dispatches, however many,
// are recorded into one encoder and submitted once; uniform data rotates through several buffers
// instead of forcing a submit when one fills. Skips, printing why, where Dawn finds no adapter.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, setBackend } from '../src/index.js';
import { findBackend } from '../src/tensor/engine.js';
import type { WebGPUBackend } from '../src/backend/webgpu/index.js';
import { GPT2LMHeadModel, gpt2Config } from '../src/models/index.js';
import { TokenStream, trainValSplit } from '../src/train/data.js';
import { defaultTrainerConfig, Trainer } from '../src/train/trainer.js';
import { startWebgpu } from './helpers/backends.js';

const reason = await startWebgpu();
if (reason) console.log(`# ${reason}`);

test('a GPT-2 training step on webgpu is one submit, past a uniform buffer\'s worth of dispatches', { skip: reason ?? false, timeout: 120_000 }, async () => {
  await setBackend('webgpu');
  try {
    const b = findBackend('webgpu') as WebGPUBackend;
    const ids = Int32Array.from({ length: 2000 }, (_, i) => (i * 5 + (i >> 3)) % 31);
    manualSeed(1);
    const model = new GPT2LMHeadModel(gpt2Config({ vocab_size: 31, n_positions: 16, n_embd: 32, n_layer: 4, n_head: 4,
      resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: null, eos_token_id: null }));
    const trainer = new Trainer(model, trainValSplit(TokenStream.fromArray(ids)), { ...defaultTrainerConfig, batchSize: 2, blockSize: 16,
      maxIters: 10, evalInterval: 1000, evalIters: 1, logInterval: 1000, warmupIters: 0, lrDecayIters: 10 });
    await trainer.trainStep(); // compiles the pipelines
    await b.sync();
    for (let step = 0; step < 3; step++) {
      const [submits, dispatches] = [b.submits, b.dispatches];
      await trainer.trainStep();
      await b.sync();
      const stepDispatches = b.dispatches - dispatches;
      assert.ok(stepDispatches > 300, `enough dispatches to fill one uniform arena (got ${stepDispatches})`);
      assert.equal(b.submits - submits, 1, `submits in step ${step} (${stepDispatches} dispatches)`);
    }
    const losses = await trainer.readLosses();
    assert.ok(losses.every((l) => Number.isFinite(l.loss)), JSON.stringify(losses));
    model.dispose();
    trainer.optimizer.dispose();
  } finally {
    await setBackend('cpu');
  }
});
