// The training worker: loads tlm's kernels, trains the baby GPT of `tlm demo` on Tiny Shakespeare
// with the library's Trainer, streams each step's loss to the page, then samples from the model.
// A worker keeps the page responsive, and may block in Atomics.wait where the page may not.

import * as tlm from '../../../src/browser.js';
import type { StartMessage, WorkerMessage } from './protocol.js';

const post = (m: WorkerMessage): void => postMessage(m);
const stop = { requested: false };

async function train(m: StartMessage): Promise<void> {
  await tlm.loadCpuKernels(m.kernels);
  if (m.device === 'webgpu' && !(await tlm.setBackend('webgpu'))) throw new Error(`webgpu: ${tlm.lastBackendError || 'no adapter'}`);
  tlm.manualSeed(1337);
  const text = await (await fetch(m.corpusUrl)).text();
  const tok = tlm.tokenizers.trainCharLevel([text]);
  const ids = tok.encode(text).ids;
  const split = tlm.train.trainValSplit(tlm.train.TokenStream.fromArray(ids));
  const { layers, heads, width, context: blockSize, batch } = m.model;
  const model = new tlm.models.GPT2LMHeadModel(tlm.models.gpt2Config({ vocab_size: tok.vocabSize, n_positions: blockSize,
    n_embd: width, n_layer: layers, n_head: heads, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: null, eos_token_id: null }));
  post({ type: 'ready', kernels: tlm.getCpuKernels(), threads: tlm.getCpuThreads(), isolated: globalThis.crossOriginIsolated === true,
    device: tlm.getBackend(), params: model.numParameters(), vocab: tok.vocabSize });
  const evalInterval = Math.max(10, Math.floor(m.steps / 5));
  const trainer = new tlm.train.Trainer(model, split, { ...tlm.train.defaultTrainerConfig, blockSize, batchSize: batch, maxIters: m.steps,
    lrDecayIters: m.steps, warmupIters: Math.min(100, Math.floor(m.steps / 10)), maxSeconds: m.seconds, evalInterval, evalIters: 4, logInterval: 1 });
  const res = await trainer.run({ quiet: true, stop, onLog: (r) => {
    if (r.train_loss !== null) post({ type: 'loss', step: r.step, loss: r.train_loss, valLoss: r.val_loss ?? null, tokensPerSecond: r.tokens_per_s });
  } });
  post({ type: 'done', steps: res.step, seconds: res.seconds, trainLoss: res.lastTrainLoss, valLoss: res.lastValLoss, tokensPerSecond: res.tokensPerSecond });
  model.eval();
  // As `tlm demo`: the model sees at most blockSize characters, so it samples in sliding windows.
  const lm = tlm.models.asTask(model, 'causal-lm', 'train page');
  let sample = '';
  await tlm.generation.generateInWindows(lm, Array.from(tok.encode('\n').ids),
    { maxNewTokens: 200, context: blockSize, doSample: true, temperature: 0.8, topK: 200, seed: 1337 }, tok,
    (piece) => { sample += piece; post({ type: 'text', text: piece }); });
  post({ type: 'sample', text: sample });
}

onmessage = (ev: MessageEvent<StartMessage | { type: 'stop' }>) => {
  if (ev.data.type === 'stop') { stop.requested = true; return; }
  train(ev.data).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
