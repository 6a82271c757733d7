// Sequence-to-sequence (translation, summarization) as a TrainingTask: source/target pairs encoded
// with EOS, batched by a token budget (sentences of similar length together, about N tokens a batch,
// as fairseq's --max-tokens), trained with label-smoothed cross-entropy, and evaluated by loss and by
// the task's metric (BLEU, chrF or ROUGE) on a greedy decode of the validation pairs.

import { tensor } from '../tensor/ops/creation.js';
import { crossEntropy } from '../tensor/ops/nn.js';
import { noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import type { Seq2SeqLMModel } from '../models/tasks.js';
import type { ModelOutput } from '../models/modeling.js';
import type { TrainingTask } from '../train/task.js';
import { EpochBatcher } from '../train/batching.js';
import { readScalarsAndDispose } from '../train/readback.js';
import { InputError } from '../errors.js';
import { bleu } from './metrics/bleu.js';
import { chrf } from './metrics/chrf.js';
import { rouge } from './metrics/rouge.js';

export interface EncodedPair { src: number[]; tgt: number[] }

export interface PairEncodeOptions {
  encodeSource(text: string): number[];
  encodeTarget(text: string): number[];
  eosId: number;
  maxSourceLength: number;
  maxTargetLength: number;
  /** Cut longer inputs to the limits (said once, with a count); default: an error naming the line. */
  truncate?: boolean;
  /** Leave out pairs with an empty side (said once, with a count and the first line); default: an error naming the line. */
  skipEmpty?: boolean;
  source?: string;
  warn?: (m: string) => void;
}

/**
 * Pairs of texts → ids ending with EOS; an empty side or an over-long one is an error naming its
 * line (unless skipEmpty, or truncate).
 */
export function encodePairs(pairs: readonly { source: string; target: string; line: number }[], o: PairEncodeOptions): EncodedPair[] {
  let cut = 0;
  const where = (line: number) => `${o.source ?? 'data'}: line ${line}`;
  const isEmpty = (p: { source: string; target: string }) => p.source.trim() === '' || p.target.trim() === '';
  const empty = pairs.filter(isEmpty);
  if (empty.length > 0 && o.skipEmpty) {
    o.warn?.(`${o.source ?? 'data'}: ${empty.length} pair(s) with an empty source or target left out (the first at line ${empty[0]!.line})`);
    pairs = pairs.filter((p) => !isEmpty(p));
  }
  const out = pairs.map((p) => {
    if (isEmpty(p)) {
      // skipEmpty false (not undefined): the caller is a command that has the flag.
      throw new InputError(`${where(p.line)}: the ${p.source.trim() === '' ? 'source' : 'target'} is empty${o.skipEmpty === false ? ' (remove the line, or pass --skip-empty)' : ''}`);
    }
    let src = o.encodeSource(p.source), tgt = o.encodeTarget(p.target);
    for (const [side, ids, max] of [['source', src, o.maxSourceLength], ['target', tgt, o.maxTargetLength]] as const) {
      if (ids.length + 1 > max && !o.truncate) {
        throw new InputError(`${where(p.line)}: the ${side} has ${ids.length + 1} tokens (with EOS), more than --max-${side}-length ${max}; raise it, or pass --truncate`);
      }
    }
    if (src.length + 1 > o.maxSourceLength || tgt.length + 1 > o.maxTargetLength) cut++;
    src = [...src.slice(0, o.maxSourceLength - 1), o.eosId];
    tgt = [...tgt.slice(0, o.maxTargetLength - 1), o.eosId];
    return { src, tgt };
  });
  if (cut > 0) o.warn?.(`${o.source ?? 'data'}: ${cut} pair(s) longer than the limits were truncated`);
  return out;
}

interface Batch { inputIds: Tensor; attentionMask: Tensor; decoderInputIds: Tensor; decoderAttentionMask: Tensor; labels: Tensor }

/**
 * Sources padded with their mask; targets as labels (padding -100) and as the decoder's input, the
 * labels shifted right after the start token (HF's shift_tokens_right, done here on the host so the
 * model is not also asked for a loss of its own).
 */
function collate(pairs: readonly EncodedPair[], padId: number, startId: number): Batch {
  const B = pairs.length, S = Math.max(...pairs.map((p) => p.src.length)), T = Math.max(...pairs.map((p) => p.tgt.length));
  const ids = new Int32Array(B * S).fill(padId), mask = new Int32Array(B * S), labels = new Int32Array(B * T).fill(-100);
  const dec = new Int32Array(B * T).fill(padId), decMask = new Int32Array(B * T);
  pairs.forEach((p, b) => {
    ids.set(p.src, b * S);
    mask.fill(1, b * S, b * S + p.src.length);
    labels.set(p.tgt, b * T);
    dec[b * T] = startId;
    dec.set(p.tgt.slice(0, T - 1), b * T + 1);
    decMask.fill(1, b * T, b * T + p.tgt.length);
  });
  const t = (a: Int32Array, shape: number[]) => tensor(a, { shape });
  return { inputIds: t(ids, [B, S]), attentionMask: t(mask, [B, S]), decoderInputIds: t(dec, [B, T]), decoderAttentionMask: t(decMask, [B, T]), labels: t(labels, [B, T]) };
}

/** Teacher-forced forward of a seq2seq model: logits for the decoder inputs. */
interface Seq2SeqForward extends Seq2SeqLMModel {
  forward(inputs: { inputIds: Tensor; attentionMask: Tensor; decoderInputIds: Tensor; decoderAttentionMask: Tensor }): ModelOutput & { logits: Tensor };
}

export type Seq2SeqMetric = 'bleu' | 'chrf' | 'rouge';

export interface Seq2SeqTaskOptions {
  maxTokens: number;
  padId: number;
  /** The decoder's first input (config decoder_start_token_id: Marian's pad, the original Transformer's BOS). */
  decoderStartId: number;
  labelSmoothing: number;
  /** The metric on a greedy decode of the validation pairs (BLEU for translation, ROUGE for summaries). */
  metric: Seq2SeqMetric;
  /** Validation pairs decoded for the metric (the first N; all by default). */
  metricExamples?: number;
  /** Greedy decoding of source id rows → target id rows (the pipeline passes generation here). */
  decode(model: Seq2SeqLMModel, sources: number[][]): Promise<number[][]>;
  detokenize(ids: number[]): string;
  /** Reference texts of the validation pairs, as written. */
  references: string[];
}

export class Seq2SeqTask implements TrainingTask<Seq2SeqForward, Batch> {
  readonly metricForBest: string;
  readonly greaterIsBetter = true;
  private readonly batcher: EpochBatcher;

  constructor(readonly train: readonly EncodedPair[], readonly val: readonly EncodedPair[], readonly o: Seq2SeqTaskOptions) {
    if (val.length === 0) throw new InputError('the validation data is empty');
    if (o.references.length !== val.length) throw new Error('Seq2SeqTask: one reference per validation pair');
    this.metricForBest = o.metric === 'rouge' ? 'rouge2' : o.metric;
    if (train.length === 0) throw new InputError('the training data is empty');
    this.batcher = EpochBatcher.byTokens(train.map((p) => Math.max(p.src.length, p.tgt.length)), o.maxTokens);
  }

  get stepsPerEpoch(): number { return this.batcher.batchesPerEpoch; }

  trainBatch(gen: Generator): { inputs: Batch; tokens: number } {
    const rows = this.batcher.next(gen).map((i) => this.train[i]!);
    return { inputs: collate(rows, this.o.padId, this.o.decoderStartId), tokens: rows.reduce((n, p) => n + p.tgt.length, 0) };
  }

  /** Label-smoothed cross-entropy over the target tokens (padding ignored). */
  loss(model: Seq2SeqForward, b: Batch, smoothing = this.o.labelSmoothing): Tensor {
    const { logits } = model.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, decoderInputIds: b.decoderInputIds, decoderAttentionMask: b.decoderAttentionMask });
    const V = logits.shape[2]!;
    return crossEntropy(logits.reshape(-1, V), b.labels.reshape(-1), { ignoreIndex: -100, labelSmoothing: smoothing });
  }

  async evaluate(model: Seq2SeqForward): Promise<Record<string, number>> {
    // Loss without smoothing (comparable across runs), token-weighted over the validation set.
    // The chunks' mean losses stay on the device and are read back together.
    const chunkLosses: Tensor[] = [], chunkTokens: number[] = [];
    for (let i = 0; i < this.val.length; i += 64) {
      const part = this.val.slice(i, i + 64);
      chunkTokens.push(part.reduce((k, p) => k + p.tgt.length, 0));
      chunkLosses.push(noGrad(() => tidy(() => this.loss(model, collate(part, this.o.padId, this.o.decoderStartId), 0))));
    }
    let nll = 0, tokens = 0;
    (await readScalarsAndDispose(chunkLosses)).forEach((loss, c) => { nll += loss * chunkTokens[c]!; tokens += chunkTokens[c]!; });
    const count = Math.min(this.o.metricExamples ?? this.val.length, this.val.length);
    const hyps = (await this.o.decode(model, this.val.slice(0, count).map((p) => p.src))).map((ids) => this.o.detokenize(ids));
    const refs = this.o.references.slice(0, count);
    return { eval_loss: nll / tokens, ...seq2seqMetrics(this.o.metric, hyps, refs) };
  }

  state(): unknown { return this.batcher.getState(); }
  setState(s: unknown): void { this.batcher.setState(s); }
}

/** The metric's numbers: BLEU (with chrF beside it), chrF, or ROUGE-1/2/L/Lsum (as percentages). */
export function seq2seqMetrics(metric: Seq2SeqMetric, hyps: string[], refs: string[]): Record<string, number> {
  if (metric === 'rouge') {
    const r = rouge(hyps, refs);
    return { rouge1: 100 * r.rouge1, rouge2: 100 * r.rouge2, rougeL: 100 * r.rougeL, rougeLsum: 100 * r.rougeLsum };
  }
  const c = chrf(hyps, refs).score;
  return metric === 'bleu' ? { bleu: bleu(hyps, refs).score, chrf: c } : { chrf: c };
}
