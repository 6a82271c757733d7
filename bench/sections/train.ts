// Training throughput: nanoGPT's CPU "baby GPT" step (character-level, 4 layers, 4 heads, 128 wide,
// context 64, batch 12, AdamW, grad clip 1.0) in tlm, next to the same model in PyTorch
// (bench/torch_train.py, Debian torch on OpenBLAS, same thread count) measured in the same run.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import type { BenchRow, BenchSection } from '../run.js';
import { GPT2LMHeadModel, gpt2Config } from '../../src/models/index.js';
import { TokenStream, trainValSplit } from '../../src/train/data.js';
import { Trainer, defaultTrainerConfig } from '../../src/train/trainer.js';
import { getCpuNative, setCpuNative } from '../../src/backend/cpu/index.js';

const dims = { nLayer: 4, nHead: 4, nEmbd: 128, block: 64, batch: 12, vocab: 65 };

function torchTokensPerSecond(threads: number, steps: number): { value: number | null; note?: string } {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { value: null, note: 'no /usr/bin/python3' };
  const r = spawnSync(py, [join(process.cwd(), 'bench', 'torch_train.py'), '--n-layer', String(dims.nLayer), '--n-head', String(dims.nHead),
    '--n-embd', String(dims.nEmbd), '--block-size', String(dims.block), '--batch-size', String(dims.batch), '--vocab', String(dims.vocab),
    '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) return { value: null, note: `torch failed: ${r.stderr.trim().split('\n').pop()}` };
  return { value: (JSON.parse(r.stdout) as { tokens_per_s: number }).tokens_per_s };
}

const section: BenchSection = {
  name: 'train',
  async run({ quick }): Promise<BenchRow[]> {
    const steps = quick ? 10 : 30;
    const threads = Number(process.env.TLM_NUM_THREADS) || os.availableParallelism();
    const ids = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7919 + (i >> 3)) % dims.vocab);
    const data = trainValSplit(TokenStream.fromArray(ids));
    const model = new GPT2LMHeadModel(gpt2Config({ vocab_size: dims.vocab, n_positions: dims.block, n_embd: dims.nEmbd, n_layer: dims.nLayer,
      n_head: dims.nHead, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: null, eos_token_id: null }));
    const trainer = new Trainer(model as never, data, { ...defaultTrainerConfig, batchSize: dims.batch, blockSize: dims.block,
      maxIters: 2 * steps + 10, evalInterval: 0 });
    for (let i = 0; i < 5; i++) await trainer.trainStep(); // warm-up: JIT, pools, worker start
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    const seconds = (performance.now() - t0) / 1000;
    const tlmRate = steps * dims.batch * dims.block / seconds;
    // The same steps on the WebAssembly kernels alone, where the native addon is in use.
    let wasmRate: number | null = null;
    if (getCpuNative() !== null) {
      setCpuNative(false);
      try {
        for (let i = 0; i < 2; i++) await trainer.trainStep();
        const w0 = performance.now();
        for (let i = 0; i < steps; i++) await trainer.trainStep();
        wasmRate = steps * dims.batch * dims.block / ((performance.now() - w0) / 1000);
      } finally {
        setCpuNative(true);
      }
    }
    const torch = torchTokensPerSecond(threads, steps);
    model.dispose();
    trainer.optimizer.dispose();
    return [{
      section: 'train', name: `baby GPT step (L4 H4 C128 T64 B12), ${threads} threads`, value: tlmRate, unit: 'tokens/s',
      peers: { torch: torch.value, ...(wasmRate !== null ? { 'tlm-wasm': wasmRate } : {}) }, higherIsBetter: true, note: torch.note,
    }];
  },
};

export default section;
