// Runs a model one generation step at a time and hands back each row's next-token logits on the
// host. This is the only place that knows the models' forward() API; the search strategies
// (greedy, sampling, beam search) see rows of numbers.
//
// Decoder-only models get the prompt left-padded to a common length with an attention mask and
// per-row position ids (cumulative count of real tokens), so that every row sees exactly its own
// tokens at the positions it would have alone. With the cache, later steps feed only the new token.

import { keep, noGrad, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/creation.js';
import { logSoftmax } from '../tensor/ops/index.js';
import { isTensor, type Tensor } from '../tensor/tensor.js';
import type { KeyValue } from '../nn/attention.js';
import { KVCache } from './cache.js';
import { GrowingKVCache } from './growing_cache.js';

/** What generation needs of a decoder-only model (GPT-2 family). */
export interface CausalLM {
  forward(inputs: {
    inputIds: Tensor; attentionMask?: Tensor | null; positionIds?: Tensor | null;
    pastKeyValues?: KeyValue[] | null; useCache?: boolean; logitsToKeep?: number;
  }): { logits: Tensor; presentKeyValues?: KeyValue[] };
}

/** One decoder layer's cache in a seq2seq model: self-attention so far, and the memory's keys/values. */
export interface DecoderLayerKV { self: KeyValue | null; cross: KeyValue | null }

/** What generation needs of an encoder-decoder model: encode once, then decode step by step. */
export interface Seq2SeqLM {
  encode(inputs: { inputIds: Tensor; attentionMask?: Tensor | null }): Tensor;
  decode(inputs: {
    decoderInputIds: Tensor; encoderHiddenStates: Tensor;
    /** The source padding mask [B, S] (1 = token). */
    attentionMask?: Tensor | null;
    pastKeyValues?: DecoderLayerKV[] | null; useCache?: boolean;
  }): { logits: Tensor; presentKeyValues?: DecoderLayerKV[] };
  /**
   * True when decode() takes the encoder output of B sources for B·k decoder rows (each source's k
   * consecutive rows read its memory, and the cross-attention cache stays [B, …]). Beam search then
   * shares one memory and one cross-attention cache among a source's beams; other models get the
   * memory copied to every row.
   */
  readonly acceptsGroupedMemory?: boolean;
}

export function isSeq2Seq(model: unknown): model is Seq2SeqLM {
  const m = model as { encode?: unknown; decode?: unknown };
  return typeof m.encode === 'function' && typeof m.decode === 'function';
}

export interface StepRunner {
  readonly batchSize: number;
  /** step() returns log-probabilities (log_softmax of the logits, computed on the device), not logits. */
  readonly logProbs?: boolean;
  /**
   * Runs the model on each row's newest token (on the first call: the prompts) and returns the
   * logits of each row's next token, one vocab-sized Float32Array per row.
   */
  step(newTokens: readonly number[] | null): Promise<Float32Array[]>;
  /** Keeps rows `rows` in that order (beam search). */
  reorder(rows: readonly number[]): void;
  dispose(): void;
}

/** Splits [B, V] host data into row views. */
function rowsOf(data: Float32Array, B: number): Float32Array[] {
  const V = data.length / B;
  return Array.from({ length: B }, (_, r) => data.subarray(r * V, (r + 1) * V));
}

/**
 * The logits of the last position, [B, V], read to the host (the [B, L, V] tensor is freed); with
 * logProbs, their log_softmax, taken on the device (beam search: one kernel instead of an exp per
 * vocabulary entry per beam in JavaScript).
 */
export async function lastLogits(run: () => { logits: Tensor; extra: unknown }, logProbs = false): Promise<{ rows: Float32Array[]; extra: unknown }> {
  const { last, extra } = noGrad(() => tidy(() => {
    const { logits, extra } = run();
    keepAll(extra); // the cache's new tensors outlive this scope, however deep the model nests them
    if (logits.ndim !== 3) throw new Error(`generate: the model returned logits of shape [${logits.shape.join(',')}], expected [B, T, V]`);
    const last = logits.select(1, logits.shape[1]! - 1).contiguous();
    return { last: logProbs ? logSoftmax(last, -1) : last, extra };
  }));
  const B = last.shape[0]!;
  const data = (await last.data()) as Float32Array;
  last.dispose();
  return { rows: rowsOf(data, B), extra };
}

function keepAll(x: unknown): void {
  if (isTensor(x)) { keep(x); return; }
  if (Array.isArray(x)) { for (const v of x) keepAll(v); return; }
  if (x !== null && typeof x === 'object') for (const v of Object.values(x)) keepAll(v);
}

export function int32(rows: readonly (readonly number[])[], device?: string): Tensor {
  const B = rows.length, T = rows[0]?.length ?? 0;
  const flat = new Int32Array(B * T);
  rows.forEach((r, i) => flat.set(r, i * T));
  return tensor(flat, { shape: [B, T], device });
}

/** Left-pads prompts to a common length: tokens and mask (1 = token). */
export function leftPad(prompts: readonly (readonly number[])[], padTokenId: number): { ids: number[][]; mask: number[][] } {
  const T = Math.max(...prompts.map((p) => p.length));
  return {
    ids: prompts.map((p) => [...new Array<number>(T - p.length).fill(padTokenId), ...p]),
    mask: prompts.map((p) => [...new Array<number>(T - p.length).fill(0), ...new Array<number>(p.length).fill(1)]),
  };
}

/** Position ids of a padded row: the count of tokens before each position (padding gets 0). */
export function positionsOf(mask: readonly number[], from: number, to: number): number[] {
  let n = 0;
  for (let i = 0; i < from; i++) n += mask[i]!;
  const out: number[] = [];
  for (let i = from; i < to; i++) { out.push(mask[i] ? n : 0); n += mask[i]!; }
  return out;
}

export class DecoderOnlyRunner implements StepRunner {
  private readonly cache: KVCache;
  /** Each row as the model sees it: left padding, prompt, generated tokens. */
  private readonly padded: number[][];
  private started = false;

  constructor(readonly model: CausalLM, prompts: readonly (readonly number[])[], readonly opts: { useCache: boolean; padTokenId: number; device?: string; logProbs?: boolean }) {
    const { ids, mask } = leftPad(prompts, opts.padTokenId);
    this.padded = ids;
    // With the cache, steps append their keys/values in place (no copy of the whole cache per step).
    this.cache = opts.useCache ? new GrowingKVCache(prompts.length) : new KVCache(prompts.length);
    this.cache.extend(mask);
  }

  get batchSize(): number { return this.padded.length; }
  get logProbs(): boolean { return this.opts.logProbs === true; }

  async step(newTokens: readonly number[] | null): Promise<Float32Array[]> {
    if (this.started) {
      if (newTokens === null || newTokens.length !== this.batchSize) throw new Error('DecoderOnlyRunner.step: one new token per row expected');
      newTokens.forEach((t, r) => this.padded[r]!.push(t));
      this.cache.extend(newTokens.map(() => [1]));
    }
    const useCache = this.opts.useCache;
    const S = this.cache.length;
    // With the cache, only the positions the model has not seen yet; without it, everything.
    const from = useCache && this.started ? S - 1 : 0;
    this.started = true;
    const padding = this.cache.hasPadding;
    const device = this.opts.device;
    const { rows, extra } = await lastLogits(() => {
      const out = this.model.forward({
        inputIds: int32(this.padded.map((r) => r.slice(from)), device),
        // Without padding the model's own causal path and default positions are exact (and faster).
        attentionMask: padding ? this.cache.maskTensor(device) : null,
        positionIds: padding ? int32(this.cache.mask.map((m) => positionsOf(m, from, S)), device) : null,
        pastKeyValues: useCache ? this.cache.self : null,
        useCache,
        logitsToKeep: 1,
      });
      return { logits: out.logits, extra: useCache ? out.presentKeyValues ?? null : null };
    }, this.logProbs);
    if (useCache) {
      if (extra === null) throw new Error('generate: the model returned no presentKeyValues although useCache was set');
      this.cache.update(extra as KeyValue[]);
    }
    return rows;
  }

  reorder(rows: readonly number[]): void {
    const padded = rows.map((r) => this.padded[r]!.slice());
    this.padded.length = 0;
    this.padded.push(...padded);
    this.cache.reorder(rows, { sameMemory: true });
  }

  dispose(): void { this.cache.dispose(); }
}

/**
 * Runs an encoder-decoder model: the sources are encoded once, in one batch (right-padded, with a
 * mask), then each source's rowsPerSource decoder rows (its beams) step together. Rows may be
 * reordered only within their source (beam search keeps every beam with its source).
 */
export class EncoderDecoderRunner implements StepRunner {
  private readonly cache: KVCache;
  private readonly decoded: number[][];
  private memory: Tensor | null = null;
  private memoryMask: Tensor | null = null;
  private started = false;
  readonly rowsPerSource: number;

  /** sources: the encoder inputs; decoderStart: the first decoder token(s) of every row. */
  constructor(readonly model: Seq2SeqLM, readonly sources: readonly (readonly number[])[], decoderStart: readonly number[],
    readonly opts: { useCache: boolean; padTokenId: number; device?: string; rowsPerSource?: number; logProbs?: boolean }) {
    const k = opts.rowsPerSource ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new Error(`EncoderDecoderRunner: rowsPerSource must be a positive integer, got ${k}`);
    if (sources.length === 0) throw new Error('EncoderDecoderRunner: no source to encode');
    this.rowsPerSource = k;
    this.decoded = Array.from({ length: sources.length * k }, () => decoderStart.slice());
    this.cache = opts.useCache ? new GrowingKVCache(this.decoded.length) : new KVCache(this.decoded.length);
  }

  get batchSize(): number { return this.decoded.length; }
  get logProbs(): boolean { return this.opts.logProbs === true; }

  /** Encodes every source once; memory rows are per source, or per decoder row for models that need that. */
  private encode(): void {
    const device = this.opts.device;
    const T = Math.max(...this.sources.map((p) => p.length));
    const ids = this.sources.map((p) => [...p, ...new Array<number>(T - p.length).fill(this.opts.padTokenId)]);
    const mask = this.sources.map((p) => [...new Array<number>(p.length).fill(1), ...new Array<number>(T - p.length).fill(0)]);
    const padding = mask.some((m) => m.includes(0));
    const k = this.rowsPerSource, grouped = k > 1 && this.model.acceptsGroupedMemory === true;
    const { memory, memoryMask } = noGrad(() => tidy(() => {
      let memoryMask = padding ? int32(mask, device) : null;
      let memory = this.model.encode({ inputIds: int32(ids, device), attentionMask: memoryMask });
      if (k > 1 && !grouped) {
        // One encoder pass still; its output is copied to each beam's row for models without grouping.
        const rows = tensor(Int32Array.from(this.decoded, (_, r) => Math.floor(r / k)), { device });
        memory = memory.indexSelect(0, rows);
        memoryMask = memoryMask?.indexSelect(0, rows) ?? null;
      }
      return { memory, memoryMask };
    }));
    this.memory = memory;
    this.memoryMask = memoryMask;
  }

  async step(newTokens: readonly number[] | null): Promise<Float32Array[]> {
    const device = this.opts.device;
    if (!this.started) {
      this.encode();
    } else {
      if (newTokens === null || newTokens.length !== this.batchSize) throw new Error('EncoderDecoderRunner.step: one new token per row expected');
      newTokens.forEach((t, r) => this.decoded[r]!.push(t));
    }
    const useCache = this.opts.useCache;
    const from = useCache && this.started ? this.decoded[0]!.length - 1 : 0;
    this.started = true;
    const { rows, extra } = await lastLogits(() => {
      const out = this.model.decode({
        decoderInputIds: int32(this.decoded.map((r) => r.slice(from)), device),
        encoderHiddenStates: this.memory!,
        attentionMask: this.memoryMask,
        pastKeyValues: useCache && this.cache.self ? this.cache.self.map((kv, i) => ({ self: kv, cross: this.cache.cross?.[i] ?? null })) : null,
        useCache,
      });
      return { logits: out.logits, extra: useCache ? out.presentKeyValues ?? null : null };
    }, this.logProbs);
    if (useCache) {
      if (extra === null) throw new Error('generate: the model returned no presentKeyValues although useCache was set');
      const layers = extra as DecoderLayerKV[];
      if (layers.some((l) => l.self === null || l.cross === null)) throw new Error('generate: the decoder returned an incomplete cache');
      this.cache.update(layers.map((l) => l.self!), layers.map((l) => l.cross!));
    }
    return rows;
  }

  reorder(rows: readonly number[]): void {
    const k = this.rowsPerSource;
    rows.forEach((r, i) => {
      if (Math.floor(r / k) !== Math.floor(i / k)) throw new Error(`EncoderDecoderRunner.reorder: row ${i} cannot take row ${r}, which belongs to another source`);
    });
    const decoded = rows.map((r) => this.decoded[r]!.slice());
    this.decoded.length = 0;
    this.decoded.push(...decoded);
    // Each row keeps a row of its own source, so the memory and the cross-attention cache stay valid.
    this.cache.reorder(rows, { sameMemory: true });
  }

  dispose(): void {
    this.cache.dispose();
    this.memory?.dispose();
    this.memoryMask?.dispose();
  }
}
