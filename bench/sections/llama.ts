// Llama generation speed: a SmolLM2-135M-shaped LlamaForCausalLM (30 layers, 576 wide, 9 heads,
// 3 key/value heads, intermediate 1536, vocab 49152, tied embeddings; random weights), batch 1,
// greedy with the KV cache — a 32-token prompt and 128 new tokens (tokens/s over the whole call,
// prefill included), and the time to the first token of a 128-token prompt. Beside it, PyTorch on
// the CPU running the same architecture with its own cache (bench/torch_llama_generate.py, plain
// PyTorch) with the same thread count, in the same run.
//
// 8-bit weights: the quantization issue has not landed, so there is no int8 row yet.

import type { BenchRow, BenchSection } from '../run.js';
import { runTorchPeer } from '../torch_peer.js';
import { Generator, manualSeed } from '../../src/index.js';
import { LlamaForCausalLM } from '../../src/models/llama/index.js';
import { generate } from '../../src/generate/index.js';
import { getCpuThreads, getCpuKernels } from '../../src/backend/cpu/index.js';

/** SmolLM2-135M's config.json, less its weights. */
export const SMOLLM2_135M = {
  vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
  max_position_embeddings: 8192, rope_theta: 100000, rms_norm_eps: 1e-5, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0,
};

interface TorchResult { tokens_per_s: number; ttft_ms: number; threads: number; torch: string }

const runTorch = (args: string[]) => runTorchPeer<TorchResult>('llama', 'torch_llama_generate.py', args);

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const threads = getCpuThreads();
  const P = 32, NEW = 128, TTFT_P = 128, repeats = quick ? 1 : 3;
  manualSeed(0);
  const model = new LlamaForCausalLM(SMOLLM2_135M);
  model.eval();
  const V = SMOLLM2_135M.vocab_size;
  const g = new Generator(0);
  const prompt = Array.from({ length: P }, () => g.int(0, V));
  const longPrompt = Array.from({ length: TTFT_P }, () => g.int(0, V));
  const opts = { eosTokenId: null, doSample: false };

  await generate(model, [prompt], { ...opts, maxNewTokens: 4 }); // warm up: threads, pools
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const out = await generate(model, [prompt], { ...opts, maxNewTokens: NEW });
    best = Math.min(best, performance.now() - t0);
    if (out[0]!.length !== P + NEW) throw new Error(`bench llama: expected ${P + NEW} tokens, got ${out[0]!.length}`);
  }
  let ttft = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await generate(model, [longPrompt], { ...opts, maxNewTokens: 1 });
    ttft = Math.min(ttft, performance.now() - t0);
  }
  const tps = NEW / (best / 1000);

  // Two PyTorch peers: 'torch' computes the projections as HF's Llama does (nn.Linear), 'torch-mv'
  // with torch.mv for single rows (PyTorch's fastest batch-1 path on this build).
  const args = ['--threads', String(threads), '--prompt', String(P), '--new', String(NEW), '--ttft-prompt', String(TTFT_P), '--repeats', String(repeats)];
  const torch = runTorch([...args, '--matvec', 'hf']);
  const torchMv = runTorch([...args, '--matvec', 'mv']);
  const note = `${threads} thread(s), cpu kernels: ${getCpuKernels()}${torch ? `; torch ${torch.torch}, ${torch.threads} thread(s)` : ''}; `
    + 'float32 weights (8-bit weights: the quantization issue has not landed)';
  const shape = 'SmolLM2-135M-shaped Llama (GQA 9/3)';
  return [
    { section: 'llama', name: `${shape} greedy, KV cache, batch 1: ${P}-token prompt + ${NEW} new`, value: tps, unit: 'tokens/s',
      peers: { torch: torch?.tokens_per_s ?? null, 'torch-mv': torchMv?.tokens_per_s ?? null }, higherIsBetter: true, note },
    { section: 'llama', name: `${shape} time to first token, ${TTFT_P}-token prompt`, value: ttft, unit: 'ms',
      peers: { torch: torch?.ttft_ms ?? null, 'torch-mv': torchMv?.ttft_ms ?? null }, higherIsBetter: false, note },
  ];
}

const section: BenchSection = { name: 'llama', run };
export default section;
