// Cloze prompts with a verbalizer (PET: Schick & Schütze 2021): a masked LM classifies text by
// filling a template's mask, "{text} It was [MASK].", and comparing the log-probabilities of each
// label's words there ({ positive: ['great'], negative: ['terrible'] }). Zero-shot it needs no
// training; few-shot, ClozeClassifier.loss (cross-entropy over the label scores, PET's loss) trains
// the masked LM, or a soft prompt over it, on a handful of labelled examples.
//
// A label's score is the mean log-probability of its words at the mask. Each word must be one
// token of the vocabulary: a word that splits into several tokens is an error, or, with
// multiTokenWords: 'first', is scored by its first token (an approximation, stated here).

import { noGrad, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/creation.js';
import { crossEntropy } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ModelInputs, ModelOutput } from './modeling.js';

/** What the classifier needs of a tokenizer (tlm's Tokenizer has it). */
export interface ClozeTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): { ids: number[] };
  tokenToId(token: string): number | undefined;
  readonly unkToken?: string | null;
}

/** A masked LM (BertForMaskedLM), or a prompt-tuned one: logits [B, T (+ prompt), V]. */
export interface ClozeModel { forward(inputs: ModelInputs): ModelOutput }

export interface ClozeOptions {
  /** The prompt, with {text} (or {field} for object inputs) and the mask token once: "{text} It was [MASK]." */
  template: string;
  /** label → its words (the label order is the class order of scores and labels). */
  verbalizer: Record<string, string | string[]>;
  /** Default '[MASK]' (BERT). */
  maskToken?: string;
  /** 'error' (default): every verbalizer word must be one token; 'first': score a longer word by its first token. */
  multiTokenWords?: 'error' | 'first';
  /** Padding id for batches (default the tokenizer's [PAD], else 0); padded positions are masked out. */
  padTokenId?: number;
}

/** A text, or named fields for templates such as "{premise}? [MASK], {hypothesis}". */
export type ClozeInput = string | Record<string, string>;

/** Encoded prompts: ids and mask [B, T] (padded right), each row's mask position, labels [B] when given. */
export interface ClozeBatch { inputIds: Tensor; attentionMask: Tensor; maskPositions: number[]; labels?: Tensor }

export class ClozeClassifier {
  readonly labels: string[];
  /** Per label, the token id scored for each of its words. */
  readonly wordIds: number[][];
  readonly maskToken: string;
  readonly maskTokenId: number;
  private readonly padTokenId: number;

  constructor(readonly model: ClozeModel, readonly tokenizer: ClozeTokenizer, readonly opts: ClozeOptions) {
    const where = 'ClozeClassifier';
    if (typeof opts?.template !== 'string') throw new Error(`${where}: template must be a string such as "{text} It was [MASK]."`);
    this.maskToken = opts.maskToken ?? '[MASK]';
    const id = tokenizer.tokenToId(this.maskToken);
    if (id === undefined) throw new Error(`${where}: the tokenizer has no mask token '${this.maskToken}' (set maskToken)`);
    this.maskTokenId = id;
    const masks = opts.template.split(this.maskToken).length - 1;
    if (masks !== 1) throw new Error(`${where}: template must contain ${this.maskToken} exactly once, found ${masks}: ${JSON.stringify(opts.template)}`);
    if (!/\{[A-Za-z_]\w*\}/.test(opts.template)) throw new Error(`${where}: template has no placeholder such as {text}: ${JSON.stringify(opts.template)}`);
    const entries = Object.entries(opts.verbalizer ?? {});
    if (entries.length < 2) throw new Error(`${where}: verbalizer needs at least two labels, got ${entries.length}`);
    const mode = opts.multiTokenWords ?? 'error';
    if (mode !== 'error' && mode !== 'first') throw new Error(`${where}: multiTokenWords must be 'error' or 'first', got ${JSON.stringify(mode)}`);
    const unk = tokenizer.unkToken ? tokenizer.tokenToId(tokenizer.unkToken) : undefined;
    this.labels = entries.map(([label]) => label);
    this.wordIds = entries.map(([label, words]) => {
      const list = typeof words === 'string' ? [words] : words;
      if (!Array.isArray(list) || list.length === 0) throw new Error(`${where}: verbalizer label '${label}' has no words`);
      return list.map((word) => {
        const ids = tokenizer.encode(word, { addSpecialTokens: false }).ids;
        if (ids.length === 0 || (unk !== undefined && ids.includes(unk))) throw new Error(`${where}: verbalizer word '${word}' (label '${label}') is not in the vocabulary`);
        if (ids.length > 1 && mode === 'error') {
          throw new Error(`${where}: verbalizer word '${word}' (label '${label}') is ${ids.length} tokens; use one-token words or multiTokenWords: 'first'`);
        }
        return ids[0]!;
      });
    });
    this.padTokenId = opts.padTokenId ?? tokenizer.tokenToId('[PAD]') ?? 0;
  }

  /** The template with the input filled in. */
  fill(input: ClozeInput, index = 0): string {
    const fields: Record<string, string> = typeof input === 'string' ? { text: input } : input;
    return this.opts.template.replace(/\{([A-Za-z_]\w*)\}/g, (_, name: string) => {
      const v = fields[name];
      if (typeof v !== 'string') throw new Error(`ClozeClassifier: input ${index} has no ${typeof input === 'string' ? 'field' : `field '${name}'`} for the template's {${name}}${typeof input === 'string' ? ' (a string input fills {text})' : ''}`);
      if (v.includes(this.maskToken)) throw new Error(`ClozeClassifier: input ${index} contains the mask token ${this.maskToken}`);
      return v;
    });
  }

  /** Fills, tokenizes and pads the inputs; labels are names of the verbalizer or class indices. */
  encode(inputs: ClozeInput[], labels?: (string | number)[]): ClozeBatch {
    if (!Array.isArray(inputs) || inputs.length === 0) throw new Error('ClozeClassifier: expected a non-empty array of inputs');
    if (labels !== undefined && labels.length !== inputs.length) throw new Error(`ClozeClassifier: ${inputs.length} inputs but ${labels.length} labels`);
    const rows = inputs.map((x, i) => this.tokenizer.encode(this.fill(x, i)).ids);
    const maskPositions = rows.map((ids, i) => {
      const at = ids.indexOf(this.maskTokenId);
      if (at < 0) throw new Error(`ClozeClassifier: input ${i} lost its ${this.maskToken} in tokenization (truncated at ${ids.length} tokens?)`);
      return at;
    });
    const B = rows.length, T = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(B * T).fill(this.padTokenId), mask = new Int32Array(B * T);
    rows.forEach((r, b) => { ids.set(r, b * T); mask.fill(1, b * T, b * T + r.length); });
    const batch: ClozeBatch = { inputIds: tensor(ids, { shape: [B, T] }), attentionMask: tensor(mask, { shape: [B, T] }), maskPositions };
    if (labels !== undefined) batch.labels = tensor(Int32Array.from(labels.map((l, i) => this.labelIndex(l, i))), { shape: [B] });
    return batch;
  }

  private labelIndex(label: string | number, i: number): number {
    const k = typeof label === 'number' ? label : this.labels.indexOf(label);
    if (!Number.isInteger(k) || k < 0 || k >= this.labels.length) throw new Error(`ClozeClassifier: label ${JSON.stringify(label)} of input ${i} is not one of ${this.labels.join(', ')}`);
    return k;
  }

  /**
   * Label scores [B, numLabels]: the mean log-probability of each label's words at the mask, with a
   * graph to the model's weights (wrap in noGrad for inference). Soft-prompt models put P positions
   * before the text; the mask is found at its position plus P.
   */
  scores(batch: ClozeBatch, model: ClozeModel = this.model): Tensor {
    const { inputIds, attentionMask, maskPositions } = batch;
    const [B, T] = inputIds.shape as [number, number];
    const logits = model.forward({ inputIds, attentionMask }).logits;
    if (!logits || logits.ndim !== 3 || logits.shape[0] !== B || logits.shape[1]! < T) {
      throw new Error(`ClozeClassifier: the model must return masked-LM logits [${B}, ${T}, vocab], got ${logits ? `[${logits.shape.join(',')}]` : 'none'}`);
    }
    const [, S, V] = logits.shape as [number, number, number];
    const rows = tensor(Int32Array.from(maskPositions, (p, b) => b * S + (S - T) + p), { shape: [B] });
    const logp = logits.reshape(B * S, V).indexSelect(0, rows).logSoftmax(-1);
    const flat = this.wordIds.flat();
    // Averaging matrix [words, labels]: column l holds 1/n_l on label l's words.
    const avg = new Float32Array(flat.length * this.labels.length);
    let w = 0;
    this.wordIds.forEach((ws, l) => { for (let i = 0; i < ws.length; i++) avg[(w++) * this.labels.length + l] = 1 / ws.length; });
    return logp.indexSelect(1, tensor(Int32Array.from(flat), { shape: [flat.length] })).matmul(tensor(avg, { shape: [flat.length, this.labels.length] }));
  }

  /** PET's loss: cross-entropy of the label scores against batch.labels; fits TrainingTask.loss (model, inputs). */
  readonly loss = (model: ClozeModel, batch: ClozeBatch): Tensor => {
    if (!batch.labels) throw new Error('ClozeClassifier.loss: the batch has no labels (encode(inputs, labels))');
    return crossEntropy(this.scores(batch, model), batch.labels);
  };

  /** Zero-shot (or trained) predictions: the best label and every label's score. */
  async predict(inputs: ClozeInput[]): Promise<{ label: string; scores: Record<string, number> }[]> {
    const s = noGrad(() => tidy(() => this.scores(this.encode(inputs))));
    const values = await s.data();
    s.dispose();
    const L = this.labels.length;
    return inputs.map((_, b) => {
      const row = Array.from(values.subarray(b * L, (b + 1) * L));
      const best = row.indexOf(Math.max(...row));
      return { label: this.labels[best]!, scores: Object.fromEntries(this.labels.map((l, i) => [l, row[i]!])) };
    });
  }
}
