// Continuous batching (Orca, vLLM): concurrent requests share each decode step. The running
// sequences form one batch over one KV cache; a step feeds every row its newest token and reads
// every row's next-token logits in a single forward. New requests join between steps (their
// prompts prefilled together, their cache merged in, rows kept right-aligned with left padding and
// per-row position ids), and finished or cancelled ones leave before the next step. Beyond
// maxBatch running rows, requests wait in a bounded queue; beyond that, submit() refuses.
//
// The engine is the only owner of the model while it runs: steps never overlap, and between steps
// it yields to the event loop so that submits and cancels (from a server's sockets) are heard.

import { tensor } from '../tensor/ops/creation.js';
import type { KeyValue } from '../nn/attention.js';
import type { Generator } from '../tensor/random.js';
import { KVCache } from './cache.js';
import { GrowingKVCache } from './growing_cache.js';
import { int32, lastLogits, leftPad, positionsOf, type CausalLM } from './runner.js';
import { LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper } from './logits_process.js';
import { argmax, generatorFor, sampleFromScores } from './sampling.js';
import { Channel } from './channel.js';
import { logSumExp, topLogprobs, type TokenLogprob } from './logprobs.js';
import { yieldToEventLoop } from '../train/event_loop.js';

export interface EngineRequest {
  /** The prompt, tokenized; not empty. */
  promptIds: number[];
  /** At least 1. The caller checks prompt + maxNewTokens against the model's context. */
  maxNewTokens: number;
  /** 0 or unset (with doSample unset) is greedy decoding. */
  temperature?: number;
  /** Default: temperature > 0. */
  doSample?: boolean;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Generating one of these finishes the sequence with 'stop' (the token is still reported). */
  eosTokenIds?: number[];
  /** Report each token's log-probability (a softmax over the vocabulary per token: off by default). */
  logprobs?: boolean;
  /** How many alternatives to report with each token (0–20); implies logprobs. */
  topLogprobs?: number;
}

export interface TokenEvent {
  token: number;
  /** Log-probability of the token under the model (before temperature and truncation); NaN unless requested. */
  logprob: number;
  top: TokenLogprob[];
  isEos: boolean;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface SequenceResult {
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface SequenceHandle {
  readonly id: number;
  /** Each generated token as the engine produces it; ends when the sequence leaves the batch. */
  readonly events: AsyncIterable<TokenEvent>;
  /** Resolves when the sequence leaves the batch; rejects if a step failed. */
  readonly done: Promise<SequenceResult>;
  /** Leaves the batch at the next step (client gone, or a stop string the caller matched). */
  cancel(): void;
}

export interface BatchEngineOptions {
  /** Sequences decoded together at most (default 16). */
  maxBatch?: number;
  /** Requests waiting for a slot at most (default 64); beyond it submit() throws QueueFullError. */
  maxQueue?: number;
  /** Token id fed at padded positions (masked, so any valid id; default 0). */
  padTokenId?: number;
  device?: string;
}

/** submit() when maxBatch sequences run and maxQueue wait. */
export class QueueFullError extends Error {
  constructor(running: number, queued: number, requested = 1) {
    super(requested > 1
      ? `the server is busy: ${running} sequences running and ${queued} waiting leave no room for the ${requested} sequences of this request; retry later`
      : `the server is busy: ${running} sequences running and ${queued} waiting (the queue is full); retry later`);
    this.name = 'QueueFullError';
  }
}

/** submit() after drain(): the engine is shutting down. */
export class EngineClosedError extends Error {
  constructor() { super('the engine is shutting down and accepts no new requests'); this.name = 'EngineClosedError'; }
}

/** One request's state while it waits or runs. */
class Sequence implements SequenceHandle {
  readonly channel = new Channel<TokenEvent>();
  readonly done: Promise<SequenceResult>;
  /** Prompt and generated tokens (what repetition-style processors would read). */
  readonly tokens: number[];
  generated = 0;
  /** The token sampled last, not yet fed to the model. */
  pending = -1;
  cancelled = false;
  finish: FinishReason | null = null;
  readonly generator: Generator | null;
  readonly processors: LogitsProcessorList;
  resolve!: (r: SequenceResult) => void;
  reject!: (e: unknown) => void;

  constructor(readonly id: number, readonly req: EngineRequest) {
    this.tokens = req.promptIds.slice();
    this.done = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
    this.done.catch(() => {}); // a caller reading only events still sees the error there
    const sample = req.doSample ?? (req.temperature ?? 0) > 0;
    this.processors = new LogitsProcessorList();
    if (sample) {
      if (req.temperature !== undefined && req.temperature !== 1) this.processors.push(new TemperatureLogitsWarper(req.temperature));
      if (req.topK !== undefined && req.topK > 0) this.processors.push(new TopKLogitsWarper(req.topK));
      if (req.topP !== undefined && req.topP < 1) this.processors.push(new TopPLogitsWarper(req.topP));
    }
    this.generator = sample ? generatorFor({ seed: req.seed }) : null;
  }

  get events(): AsyncIterable<TokenEvent> { return this.channel; }
  cancel(): void { this.cancelled = true; }

  /** Picks the next token from this row's logits, reports it, and notes whether the sequence is done. */
  take(row: Float32Array): void {
    const k = this.req.topLogprobs ?? 0, wanted = k > 0 || this.req.logprobs === true;
    // The reported log-probability is the model's: taken before processors edit the row in place.
    // (A softmax over 50k entries per row is a visible share of a batched step: only on request.)
    const lse = wanted ? logSumExp(row) : NaN;
    const top = k > 0 ? topLogprobs(row, k, lse) : [];
    const raw = this.generator === null || !wanted ? row : row.slice();
    let token: number;
    if (this.generator === null) token = argmax(row);
    else {
      this.processors.process([this.tokens], [row]);
      token = sampleFromScores(row, this.generator);
    }
    const isEos = this.req.eosTokenIds?.includes(token) ?? false;
    this.tokens.push(token);
    this.pending = token;
    this.generated++;
    this.channel.push({ token, logprob: raw[token]! - lse, top, isEos });
    if (isEos) this.finish = 'stop';
    else if (this.generated >= this.req.maxNewTokens) this.finish = 'length';
  }

  end(reason: FinishReason): void {
    this.channel.close();
    this.resolve({ finishReason: reason, promptTokens: this.req.promptIds.length, completionTokens: this.generated });
  }

  fail(err: unknown): void {
    this.channel.fail(err);
    this.reject(err);
  }
}

export class BatchEngine {
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly padTokenId: number;
  private readonly device: string | undefined;
  private readonly waiting: Sequence[] = [];
  /** The running sequences, in the order of the cache's rows. */
  private rows: Sequence[] = [];
  /** Sequences being prefilled (out of the queue, not yet in the batch). */
  private joining: Sequence[] = [];
  private cache: KVCache = new GrowingKVCache(0);
  private nextId = 1;
  private loop: Promise<void> | null = null;
  private closed = false;
  /** Rows in the last decode step (a gauge for /metrics). */
  lastBatchSize = 0;
  /** Decode steps and tokens so far. */
  steps = 0;
  tokens = 0;

  constructor(readonly model: CausalLM, opts: BatchEngineOptions = {}) {
    this.maxBatch = positiveInt('maxBatch', opts.maxBatch ?? 16);
    this.maxQueue = nonNegativeInt('maxQueue', opts.maxQueue ?? 64);
    this.padTokenId = opts.padTokenId ?? 0;
    this.device = opts.device;
    // The engine owns the model while it runs: inference mode (no dropout), as generate() uses.
    (model as { eval?: () => unknown }).eval?.();
  }

  /** Sequences in the batch (or being prefilled into it); a cancelled one no longer counts (it leaves at the next step). */
  get running(): number { return live(this.rows) + live(this.joining); }
  get queued(): number { return live(this.waiting); }

  submit(req: EngineRequest): SequenceHandle {
    return this.submitAll([req])[0]!;
  }

  /**
   * Admits every request or none: one capacity check for all of them (a server's n choices of one
   * request), so that a short one finishing cannot make room for the rest of a set that did not fit.
   */
  submitAll(reqs: readonly EngineRequest[]): SequenceHandle[] {
    if (this.closed) throw new EngineClosedError();
    for (const req of reqs) checkRequest(req);
    // maxBatch may run and maxQueue more may wait for a slot (waiting counts those about to start).
    if (this.running + this.queued + reqs.length > this.maxBatch + this.maxQueue) throw new QueueFullError(this.running, this.queued, reqs.length);
    const seqs = reqs.map((req) => new Sequence(this.nextId++, req));
    this.waiting.push(...seqs);
    this.loop ??= this.run().finally(() => { this.loop = null; });
    return seqs;
  }

  /** Stops admitting requests; resolves once every running and waiting sequence has finished. */
  async drain(): Promise<void> {
    this.closed = true;
    while (this.loop) await this.loop;
  }

  dispose(): void {
    this.closed = true;
    for (const s of [...this.rows, ...this.joining, ...this.waiting]) s.cancel();
    this.cache.dispose();
  }

  private async run(): Promise<void> {
    await yieldToEventLoop(); // requests that arrive together are prefilled together
    while (this.rows.length > 0 || this.waiting.length > 0) {
      try {
        this.leave();
        await this.admit();
        this.leave();
        if (this.rows.length > 0) await this.decode();
      } catch (err) {
        // A failed forward leaves the cache in an unknown state: fail every sequence it held.
        for (const s of this.rows) s.fail(err);
        this.rows = [];
        this.cache.dispose();
        this.cache = new GrowingKVCache(0);
      }
      await yieldToEventLoop();
    }
  }

  /** Removes finished and cancelled rows (from the batch and the cache) and waiting cancelled ones. */
  private leave(): void {
    for (const s of this.waiting.filter((s) => s.cancelled)) s.end('cancelled');
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((s) => !s.cancelled));
    const keep: number[] = [];
    this.rows.forEach((s, r) => {
      if (s.finish === null && s.cancelled) s.finish = 'cancelled';
      if (s.finish !== null) s.end(s.finish);
      else keep.push(r);
    });
    if (keep.length === this.rows.length) return;
    this.rows = keep.map((r) => this.rows[r]!);
    if (keep.length === 0) {
      this.cache.dispose();
      this.cache = new GrowingKVCache(0);
      return;
    }
    this.cache.reorder(keep, { sameMemory: true });
    this.cache.trimPadding();
  }

  /** Prefills the waiting requests that fit, together, and merges their cache into the batch. */
  private async admit(): Promise<void> {
    const n = Math.min(this.maxBatch - this.rows.length, this.waiting.length);
    if (n <= 0) return;
    const joining = this.joining = this.waiting.splice(0, n);
    const { ids, mask } = leftPad(joining.map((s) => s.req.promptIds), this.padTokenId);
    const group = new KVCache(joining.length);
    group.extend(mask);
    const padding = group.hasPadding, S = group.length, device = this.device;
    try {
      const { rows, extra } = await lastLogits(() => {
        const out = this.model.forward({
          inputIds: int32(ids, device),
          attentionMask: padding ? group.maskTensor(device) : null,
          positionIds: padding ? int32(group.mask.map((m) => positionsOf(m, 0, S)), device) : null,
          useCache: true, logitsToKeep: 1,
        });
        return { logits: out.logits, extra: out.presentKeyValues ?? null };
      });
      if (extra === null) throw new Error('BatchEngine: the model returned no presentKeyValues (it cannot decode with a cache)');
      group.update(extra as KeyValue[]);
      // Inside the try: take() throws on NaN scores, and these sequences are in no row yet to be failed by run().
      joining.forEach((s, r) => s.take(rows[r]!));
    } catch (err) {
      group.dispose();
      for (const s of joining) s.fail(err);
      return;
    } finally {
      this.joining = [];
    }
    this.tokens += joining.length;
    this.cache.merge(group);
    this.rows.push(...joining);
  }

  /** One decode step: every running row's pending token in, every row's next token out. */
  private async decode(): Promise<void> {
    const device = this.device;
    const B = this.rows.length;
    this.cache.extend(this.rows.map(() => [1]));
    const S = this.cache.length;
    const padding = this.cache.hasPadding;
    const { rows, extra } = await lastLogits(() => {
      const out = this.model.forward({
        inputIds: tensor(Int32Array.from(this.rows, (s) => s.pending), { shape: [B, 1], device }),
        attentionMask: padding ? this.cache.maskTensor(device) : null,
        positionIds: padding ? int32(this.cache.mask.map((m) => positionsOf(m, S - 1, S)), device) : null,
        pastKeyValues: this.cache.self, useCache: true, logitsToKeep: 1,
      });
      return { logits: out.logits, extra: out.presentKeyValues ?? null };
    });
    if (extra === null) throw new Error('BatchEngine: the model returned no presentKeyValues');
    this.cache.update(extra as KeyValue[]);
    this.lastBatchSize = B;
    this.steps++;
    this.tokens += B;
    this.rows.forEach((s, r) => { if (!s.cancelled) s.take(rows[r]!); });
  }
}

const live = (seqs: readonly Sequence[]) => seqs.reduce((n, s) => n + (s.cancelled ? 0 : 1), 0);

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`BatchEngine: ${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new Error(`BatchEngine: ${name} must be a non-negative integer, got ${v}`);
  return v;
}

function checkRequest(req: EngineRequest): void {
  if (!Array.isArray(req.promptIds) || req.promptIds.length === 0) throw new Error('BatchEngine: promptIds must be a non-empty array of token ids');
  if (!req.promptIds.every((t) => Number.isInteger(t) && t >= 0)) throw new Error('BatchEngine: promptIds must hold non-negative integer token ids');
  positiveInt('maxNewTokens', req.maxNewTokens);
  const k = req.topLogprobs ?? 0;
  if (!Number.isInteger(k) || k < 0 || k > 20) throw new Error(`BatchEngine: topLogprobs must be an integer in 0..20, got ${k}`);
  if (req.temperature !== undefined && !(req.temperature >= 0 && Number.isFinite(req.temperature))) throw new Error(`BatchEngine: temperature must be >= 0, got ${req.temperature}`);
  if (req.topP !== undefined && !(req.topP > 0 && req.topP <= 1)) throw new Error(`BatchEngine: topP must be in (0, 1], got ${req.topP}`);
  if ((req.doSample ?? false) && req.temperature === 0) throw new Error('BatchEngine: doSample with temperature 0; use greedy decoding (doSample false)');
}
