// fromPretrained holds one copy of a model: each parameter is filled in place from its tensor as
// read from model.safetensors, so the peak of live tensor bytes while loading stays near the
// parameters' own bytes (the old way decoded the whole file into tensors first: twice that).

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, memory, models, noGrad, resetPeakMemory, type Tensor } from '../src/index.js';

// ≈ 1.8M parameters (7.4 MB) in 17 tensors; the biggest (embeddings, LM head) are 1 MB each.
const CONFIG = { vocab_size: 1024, hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 4, max_position_embeddings: 64, bos_token_id: null, eos_token_id: null };
const IDS = [[1, 5, 900, 17, 3]];

const bytesOf = (sd: Record<string, Tensor>) => [...new Set(Object.values(sd))].reduce((n, t) => n + t.numel * 4, 0);

test('fromPretrained of a single model.safetensors peaks below 1.3x the parameter bytes, with identical outputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-load-mem-'));
  try {
    manualSeed(0);
    const original = new models.LlamaForCausalLM(CONFIG);
    await original.savePretrained(dir);
    const want = noGrad(() => original.forward({ inputIds: IDS }).logits.dataSync());
    const paramBytes = bytesOf(original.stateDict());
    assert.ok(paramBytes > 7e6, `${paramBytes} bytes of parameters`);
    original.dispose();

    const before = memory().numBytes;
    resetPeakMemory();
    assert.equal(memory().peakBytes, before);
    const loaded = await models.fromPretrained(dir, { strict: true }) as models.LlamaForCausalLM;
    const peak = memory().peakBytes - before;
    assert.ok(memory().numBytes - before >= paramBytes, 'the parameters are live');
    assert.ok(peak < 1.3 * paramBytes, `peak ${peak} bytes while loading ${paramBytes} bytes of parameters (${(peak / paramBytes).toFixed(2)}x)`);
    assert.deepEqual(noGrad(() => loaded.forward({ inputIds: IDS }).logits.dataSync()), want);
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint whose shapes differ from the config is refused before any weight is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-load-shape-'));
  try {
    manualSeed(1);
    const small = new models.LlamaForCausalLM({ ...CONFIG, intermediate_size: 128 });
    await small.savePretrained(dir);
    small.dispose();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...CONFIG, model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    await assert.rejects(models.fromPretrained(dir), /model\.layers\.0\.mlp\.gate_proj\.weight: checkpoint \[128, ?256\] vs model \[512, ?256\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
