// The model worker (a node:worker_threads thread): loads every model, owns a BatchEngine per causal
// LM and runs all tensor work, so that the main thread's event loop (HTTP, /health, /metrics, SSE)
// never waits behind a forward pass. It speaks protocol.ts's messages over parentPort.

import { parentPort, workerData } from 'node:worker_threads';
import { BatchEngine, QueueFullError, type EngineRequest, type SequenceHandle } from '../generate/batch_engine.js';
import type { CausalLM } from '../generate/runner.js';
import { loadModelDir } from '../pipelines/model_dir.js';
import { eosTokenIds } from '../pipelines/eos.js';
import { InputError } from '../errors.js';
import { lastBackendError, setBackend } from '../tensor/engine.js';
import { runOp, UnsupportedError, type LoadedEntry } from './worker_ops.js';
import type { EngineStats, ErrorKind, FromWorker, ModelInfo, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const entries = new Map<string, LoadedEntry>();
const engines = new Map<string, BatchEngine>();
const handles = new Map<number, SequenceHandle>();
const post = (m: FromWorker) => port.postMessage(m);

const ids = (v: unknown): number[] => (v === null || v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(Number).filter(Number.isInteger));

async function load(): Promise<ModelInfo[]> {
  // The models' tensors and every forward pass live on this thread's backend.
  if (init.device !== 'cpu' && !(await setBackend(init.device))) throw new Error(`--device ${init.device} could not start: ${lastBackendError.split('\n')[0]}`);
  const infos: ModelInfo[] = [];
  for (const spec of init.models) {
    const { model, tokenizer, blockSize, tasks } = await loadModelDir(spec.dir, 'tlm serve');
    model.eval();
    const c = model.config as Record<string, unknown>;
    // As `tlm chat`: generation_config.json's, config.json's and the tokenizer config's end tokens.
    const eos = eosTokenIds(model, tokenizer);
    // As generate(): the config's pad, else EOS, else 0 (only ever fills masked positions).
    const padId = (c.pad_token_id as number | null | undefined) ?? tokenizer.tokenToId('[PAD]') ?? eos[0] ?? 0;
    entries.set(spec.name, { name: spec.name, dir: spec.dir, model, tokenizer, padId });
    if (tasks.includes('causal-lm')) engines.set(spec.name, new BatchEngine(model as unknown as CausalLM, { maxBatch: init.maxBatch, maxQueue: init.maxQueue, padTokenId: padId }));
    infos.push({
      name: spec.name, dir: spec.dir, architecture: model.architecture, tasks: [...tasks], contextLength: blockSize, eosTokenIds: eos,
      bosTokenId: ids(c.bos_token_id)[0] ?? null, vocabSize: Number(c.vocab_size ?? c.src_vocab_size ?? tokenizer.vocabSize),
      hiddenSize: Number(c.n_embd ?? c.hidden_size ?? c.d_model ?? 0),
      layers: Number(c.n_layer ?? c.num_hidden_layers ?? c.encoder_layers ?? c.num_encoder_layers ?? 0),
      heads: Number(c.n_head ?? c.num_attention_heads ?? c.encoder_attention_heads ?? c.nhead ?? 0),
    });
  }
  return infos;
}

// Engine gauges go to the main thread (which serves /metrics) whenever one of them changed: checked
// on every submit, token and finish, so a scrape sees the engine as of its latest step.
let lastStats = '';
function postStats(): void {
  const stats: Record<string, EngineStats> = {};
  for (const [name, e] of engines) stats[name] = { running: e.running, queued: e.queued, batchSize: e.lastBatchSize };
  const key = JSON.stringify(stats);
  if (key === lastStats) return;
  lastStats = key;
  post({ type: 'stats', stats });
}

function errorKind(err: unknown): ErrorKind {
  if (err instanceof QueueFullError) return 'queue_full';
  if (err instanceof UnsupportedError) return 'unsupported';
  return err instanceof InputError ? 'input' : 'internal';
}

function generate(ids: number[], model: string, reqs: EngineRequest[]): void {
  const engine = engines.get(model);
  const refuse = (kind: ErrorKind, message: string) => { for (const id of ids) post({ type: 'error', id, kind, message }); };
  if (engine === undefined) { refuse('unsupported', `model '${model}' does not generate text`); return; }
  let hs: SequenceHandle[];
  try {
    hs = engine.submitAll(reqs);
  } catch (err) {
    // submitAll() refuses synchronously and whole: a full queue (429) or a request the engine cannot take (400).
    refuse(err instanceof QueueFullError ? 'queue_full' : 'input', (err as Error).message);
    return;
  }
  hs.forEach((h, i) => pump(ids[i]!, h));
}

/** Accepts sequence `id` and forwards its tokens, then its result, to the main thread. */
function pump(id: number, h: SequenceHandle): void {
  handles.set(id, h);
  post({ type: 'accepted', id });
  postStats();
  void (async () => {
    try {
      for await (const event of h.events) {
        post({ type: 'token', id, event });
        postStats();
      }
      post({ type: 'done', id, result: await h.done });
    } catch (err) {
      post({ type: 'error', id, kind: 'internal', message: (err as Error).message });
    } finally {
      handles.delete(id);
      postStats();
    }
  })();
}

async function call(id: number, model: string, op: ToWorker & { type: 'call' }): Promise<void> {
  const entry = entries.get(model);
  try {
    if (entry === undefined) throw new InputError(`model '${model}' is not loaded`);
    post({ type: 'result', id, value: await runOp(entry, op.op, op.args) });
  } catch (err) {
    post({ type: 'error', id, kind: errorKind(err), message: (err as Error).message });
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'generate') generate(m.ids, m.model, m.reqs);
  else if (m.type === 'cancel') handles.get(m.id)?.cancel();
  else if (m.type === 'call') void call(m.id, m.model, m);
});

load().then((models) => { post({ type: 'ready', models }); postStats(); },
  (err: unknown) => post({ type: 'fatal', message: (err as Error).message }));
