// Generation speed: a GPT-2-small-shaped model (12 layers, 12 heads, 768 wide, vocab 50257,
// random weights), batch 1, greedy with the KV cache — a 32-token prompt and 128 new tokens
// (tokens/s over the whole call, prefill included), the time to the first token of a 128-token
// prompt, and whether a token costs the same at the end of the 1,024-position context as at its
// start (issue 14: within 20%; the cache is written in place, so only attention grows). Beside it, PyTorch on the CPU doing the same with its own cache (bench/torch_generate.py,
// plain PyTorch, Debian's torch on OpenBLAS) with the same thread count, in the same run.
//
// Decoding at batch 1 is a chain of matrix-vector products [1×768]·[768×N]: every weight is read
// once per token (≈ 500 MB for GPT-2 small in float32), so both sides are bound by memory bandwidth.
// Hence the quantized rows: the same model with int8 and 4-bit weights (tlm quantize), whose ratio
// column is against tlm's own float32 row.

import type { BenchRow, BenchSection } from '../run.js';
import type { Streamer } from '../../src/generate/streamers.js';
import { runTorchPeer } from '../torch_peer.js';
import { Generator } from '../../src/index.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2/index.js';
import { generate } from '../../src/generate/index.js';
import { getCpuThreads, getCpuKernels, getCpuNative } from '../../src/backend/cpu/index.js';
import { nativeKernels } from '../../src/backend/cpu/native.js';
import { quantizeModel } from '../../src/models/index.js';

interface TorchResult { tokens_per_s: number; ttft_ms: number; threads: number; torch: string }

const runTorch = (args: string[]) => runTorchPeer<TorchResult>('generate', 'torch_generate.py', args);

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const threads = getCpuThreads();
  const P = 32, NEW = 128, TTFT_P = 128, repeats = quick ? 1 : 3;
  const model = new GPT2LMHeadModel({ n_layer: 12, n_head: 12, n_embd: 768, vocab_size: 50257, n_positions: 1024 });
  model.eval();
  const g = new Generator(0);
  const prompt = Array.from({ length: P }, () => g.int(0, 50257));
  const longPrompt = Array.from({ length: TTFT_P }, () => g.int(0, 50257));
  const opts = { eosTokenId: null, doSample: false };

  /** Tokens/s of a greedy 128-token continuation of the prompt, prefill included (best of `repeats`). */
  const tokensPerSecond = async (m: GPT2LMHeadModel): Promise<number> => {
    await generate(m, [prompt], { ...opts, maxNewTokens: 4 }); // warm up: threads, pools
    let best = Infinity;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const out = await generate(m, [prompt], { ...opts, maxNewTokens: NEW });
      best = Math.min(best, performance.now() - t0);
      if (out[0]!.length !== P + NEW) throw new Error(`bench generate: expected ${P + NEW} tokens, got ${out[0]!.length}`);
    }
    return NEW / (best / 1000);
  };
  const tps = await tokensPerSecond(model);
  const quantized: [number, number][] = [];
  for (const bits of [8, 4] as const) {
    const q = model.deepCopy();
    quantizeModel(q, { bits });
    quantized.push([bits, await tokensPerSecond(q)]);
    q.dispose();
  }
  let ttft = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await generate(model, [longPrompt], { ...opts, maxNewTokens: 1 });
    ttft = Math.min(ttft, performance.now() - t0);
  }

  // Two PyTorch peers: 'torch' computes the projections as HF's GPT-2 does (Conv1D addmm, nn.Linear
  // head), 'torch-mv' with torch.mv for single rows (PyTorch's fastest batch-1 path on this build).
  const args = ['--threads', String(threads), '--prompt', String(P), '--new', String(NEW), '--ttft-prompt', String(TTFT_P), '--repeats', String(repeats)];
  const torch = runTorch([...args, '--matvec', 'hf']);
  const torchMv = runTorch([...args, '--matvec', 'mv']);
  const note = `${threads} thread(s), cpu kernels: ${getCpuKernels()}${torch ? `; torch ${torch.torch}, ${torch.threads} thread(s)` : ''}`;
  const flat = await flatCost(model, prompt.slice(0, 4), threads);
  return [
    { section: 'generate', name: `GPT-2 small greedy, KV cache, batch 1: ${P}-token prompt + ${NEW} new`, value: tps, unit: 'tokens/s',
      peers: { torch: torch?.tokens_per_s ?? null, 'torch-mv': torchMv?.tokens_per_s ?? null }, higherIsBetter: true, note },
    { section: 'generate', name: `GPT-2 small time to first token, ${TTFT_P}-token prompt`, value: ttft, unit: 'ms',
      peers: { torch: torch?.ttft_ms ?? null, 'torch-mv': torchMv?.ttft_ms ?? null }, higherIsBetter: false, note },
    flat,
    ...quantized.map(([bits, v]): BenchRow => ({
      section: 'generate', name: `GPT-2 small greedy, batch 1: ${P}-token prompt + ${NEW} new, ${bits === 8 ? 'int8' : '4-bit'} weights (tlm quantize)`,
      value: v, unit: 'tokens/s', peers: { 'tlm fp32': tps }, higherIsBetter: true,
      note: `${note}${bits === 4 && getCpuNative() !== null && nativeKernels()?.quantVnni() ? '; 4-bit on AVX-512 VNNI (x rounded to int8 per row)' : ''}`,
    })),
  ];
}

const WINDOW = 64;

/**
 * One greedy generation that fills the model's whole context (a short prompt + the rest new) and
 * the ratio of the mean per-token time over the last 64 tokens to that over the first 64 after the
 * first (which carries the prefill). Each token's time runs from the streamer's previous put().
 */
export async function flatCost(model: GPT2LMHeadModel, prompt: number[], threads: number): Promise<BenchRow> {
  const positions = model.config.n_positions, maxNewTokens = positions - prompt.length;
  const times: number[] = [];
  let last: number | null = null;
  const streamer: Streamer = {
    put: () => { const now = performance.now(); if (last !== null) times.push(now - last); last = now; },
    end: () => {},
  };
  await generate(model, [prompt], { eosTokenId: null, doSample: false, maxNewTokens, streamer });
  if (times.length !== maxNewTokens) throw new Error(`bench generate: expected ${maxNewTokens} token times, got ${times.length}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const first = times.slice(1, 1 + WINDOW), end = times.slice(-WINDOW);
  const ms = (x: number) => x.toFixed(1);
  return {
    section: 'generate', name: `GPT-2 small greedy, ${prompt.length}-token prompt + ${maxNewTokens} new: per-token time, last ${WINDOW} / first ${WINDOW}`,
    value: mean(end) / mean(first), unit: 'ratio', peers: {}, higherIsBetter: false,
    note: `mean ms/token ${ms(mean(first))} → ${ms(mean(end))} (medians ${ms(median(first))} → ${ms(median(end))}, ratio ${(median(end) / median(first)).toFixed(2)}); `
      + `whole generation ${(times.reduce((a, b) => a + b, 0) / 1e3).toFixed(1)} s; ${threads} thread(s), cpu kernels: ${getCpuNative() ?? getCpuKernels()}`,
  };
}

const section: BenchSection = { name: 'generate', run };
export default section;
