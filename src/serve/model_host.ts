// The main thread's side of the model worker: starts it, waits for the models, and turns the
// message protocol back into promises and async iterables (one generation stream per sequence).

import { Worker } from 'node:worker_threads';
import type { EngineRequest, SequenceResult, TokenEvent } from '../generate/batch_engine.js';
import { ApiError, queueFull, unsupported } from './errors.js';
import type { EngineStats, ErrorKind, FromWorker, ModelInfo, ModelSpec, ToWorker, WorkerInit, WorkerOp } from './protocol.js';

/** One sequence in the worker's engine: its tokens as they come, then its result. */
export interface GenerationStream {
  events: AsyncIterable<TokenEvent>;
  done: Promise<SequenceResult>;
  cancel(): void;
}

interface Pending {
  // A call's or a submit's answer.
  resolve(v: unknown): void;
  reject(e: Error): void;
  // A sequence's stream, once accepted.
  stream?: StreamState;
}

interface StreamState {
  queue: TokenEvent[];
  ended: boolean;
  failure: Error | null;
  wake: (() => void) | null;
  finish(r: SequenceResult): void;
  fail(e: Error): void;
}

function toError(kind: ErrorKind, message: string): Error {
  if (kind === 'queue_full') return queueFull();
  if (kind === 'unsupported') return unsupported(message);
  if (kind === 'input') return new ApiError(400, message);
  return new ApiError(500, `model worker: ${message}`, 'server_error');
}

export class ModelHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The engines' latest gauges, by model name (the worker reports them). */
  stats: Record<string, EngineStats> = {};
  /** Set when the worker died: every later request fails with this. */
  dead: Error | null = null;

  private constructor(private readonly worker: Worker, readonly models: ModelInfo[]) {}

  /** Starts the worker and resolves once every model is loaded (rejects with the load error). */
  static async start(models: ModelSpec[], o: { maxBatch: number; maxQueue: number; device?: 'cpu' | 'webgpu' }): Promise<ModelHost> {
    const init: WorkerInit = { models, maxBatch: o.maxBatch, maxQueue: o.maxQueue, device: o.device ?? 'cpu' };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const infos = await new Promise<ModelInfo[]>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'ready') { worker.off('message', onMessage); resolve(m.models); }
        if (m.type === 'fatal') { void worker.terminate(); reject(new Error(m.message)); }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    const host = new ModelHost(worker, infos);
    worker.on('message', (m: FromWorker) => host.onMessage(m));
    const die = (err: Error) => {
      host.dead = err;
      for (const p of host.pending.values()) { p.reject(err); p.stream?.fail(err); }
      host.pending.clear();
    };
    worker.on('error', (err) => die(new ApiError(500, `model worker failed: ${err.message}`, 'server_error')));
    worker.on('exit', (code) => die(new ApiError(503, `model worker exited (code ${code})`, 'server_error')));
    return host;
  }

  info(name: string): ModelInfo | undefined { return this.models.find((m) => m.name === name); }

  private send(m: ToWorker): void { this.worker.postMessage(m); }

  private onMessage(m: FromWorker): void {
    if (m.type === 'stats') { this.stats = m.stats; return; }
    if (m.type === 'ready' || m.type === 'fatal') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    switch (m.type) {
      case 'accepted': p.resolve(undefined); break;
      case 'token': p.stream?.queue.push(m.event); p.stream?.wake?.(); break;
      case 'done': this.pending.delete(m.id); p.stream?.finish(m.result); break;
      case 'result': this.pending.delete(m.id); p.resolve(m.value); break;
      case 'error': {
        this.pending.delete(m.id);
        const err = toError(m.kind, m.message);
        // Mid-stream: the events iterator throws; refused at submit: the accept promise rejects.
        p.stream?.fail(err);
        p.reject(err);
        break;
      }
    }
  }

  /**
   * Submits sequences (a request's choices) in one message, which the engine admits all or none;
   * resolves once it took them (rejects 429 when its queue cannot hold them all).
   */
  async generate(model: string, reqs: EngineRequest[]): Promise<GenerationStream[]> {
    if (this.dead) throw this.dead;
    const ids = reqs.map(() => this.nextId++);
    const accepted = ids.map((id) => this.expect(id));
    this.send({ type: 'generate', ids, model, reqs });
    // The worker accepts every id or refuses every id, so there is never a part to cancel.
    return Promise.all(accepted);
  }

  /** The stream of sequence `id`, once the worker accepts it. */
  private async expect(id: number): Promise<GenerationStream> {
    let finish!: (r: SequenceResult) => void, fail!: (e: Error) => void;
    const done = new Promise<SequenceResult>((res, rej) => { finish = res; fail = rej; });
    done.catch(() => {}); // the events iterator reports the failure; done is read after it
    const s: StreamState = {
      queue: [], ended: false, failure: null, wake: null,
      finish: (r) => { s.ended = true; s.wake?.(); finish(r); },
      fail: (e) => { s.failure = e; s.ended = true; s.wake?.(); fail(e); },
    };
    await new Promise<void>((resolve, reject) => this.pending.set(id, { resolve: () => resolve(), reject, stream: s }));
    const events: AsyncIterable<TokenEvent> = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (s.queue.length > 0) { yield s.queue.shift()!; continue; }
          if (s.failure) throw s.failure;
          if (s.ended) return;
          await new Promise<void>((r) => { s.wake = r; });
          s.wake = null;
        }
      },
    };
    return { events, done, cancel: () => { if (this.pending.has(id)) this.send({ type: 'cancel', id }); } };
  }

  /** A one-shot operation on a model (embeddings, attention, a task pipeline). */
  call<T>(model: string, op: WorkerOp, args: unknown): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ type: 'call', id, model, op, args });
    });
  }

  async close(): Promise<void> {
    this.dead ??= new ApiError(503, 'the server is closing', 'server_error');
    await this.worker.terminate();
  }
}
