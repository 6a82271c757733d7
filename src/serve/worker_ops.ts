// The worker's one-shot operations on a loaded model: embeddings, attention maps and the task
// pipelines (classify, answer, translate, summarize). Each runs between the engines' steps.

import { noGrad, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { asTask, supportsTask, tasksOf, type PreTrainedModel, type Seq2SeqLMModel } from '../models/index.js';
import type { Tokenizer } from '../tokenizers/index.js';
import { answer, classifyTexts, type TaskPipeline } from '../pipelines/apply.js';
import { runSeq2Seq } from '../pipelines/seq2seq_apply.js';
import { InputError } from '../errors.js';
import type { AnswerArgs, AnswerResult, AttentionArgs, AttentionResult, ClassifyArgs, ClassifyResult, EmbedArgs, Seq2SeqArgs, WorkerOp } from './protocol.js';

export interface LoadedEntry { name: string; dir: string; model: PreTrainedModel; tokenizer: Tokenizer; padId: number }

type Forward = (inputs: { inputIds: Tensor; attentionMask?: Tensor | null; outputAttentions?: boolean }) => { lastHiddenState?: Tensor; attentions?: Tensor[] };
type Encode = (inputs: { inputIds: Tensor; attentionMask?: Tensor | null }) => Tensor;

const EMBED_BATCH = 16;

function int32(rows: number[][]): Tensor {
  const T = rows[0]!.length;
  const flat = new Int32Array(rows.length * T);
  rows.forEach((r, i) => flat.set(r, i * T));
  return tensor(flat, { shape: [rows.length, T] });
}

/** The last hidden states [B, T, D] of right-padded rows: the encoder's for seq2seq models. */
function hiddenStates(model: PreTrainedModel, ids: Tensor, mask: Tensor): Tensor {
  const m = model as unknown as { encode?: Encode; forward: Forward };
  if (supportsTask(model, 'seq2seq-lm') && m.encode) return m.encode({ inputIds: ids, attentionMask: mask });
  const h = m.forward({ inputIds: ids, attentionMask: mask }).lastHiddenState;
  if (h === undefined) throw new InputError(`${model.architecture} returns no hidden states to embed`);
  return h;
}

/**
 * Mean of the last hidden state over each input's tokens (padding excluded). Rows are right-padded
 * within a batch of EMBED_BATCH; with the attention mask the real tokens see only real tokens.
 */
async function embed(e: LoadedEntry, { inputs }: EmbedArgs): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < inputs.length; i += EMBED_BATCH) {
    const rows = inputs.slice(i, i + EMBED_BATCH), T = Math.max(...rows.map((r) => r.length));
    const padded = rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(e.padId)]);
    const mask = rows.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(T - r.length).fill(0)]);
    const h = noGrad(() => tidy(() => hiddenStates(e.model, int32(padded), int32(mask))));
    const data = (await h.data()) as Float32Array, D = h.shape[2]!;
    h.dispose();
    rows.forEach((r, b) => {
      const v = new Array<number>(D).fill(0);
      for (let t = 0; t < r.length; t++) for (let d = 0; d < D; d++) v[d]! += data[(b * T + t) * D + d]!;
      out.push(v.map((x) => x / r.length));
    });
  }
  return out;
}

/** Every layer's attention probabilities for one text: weights[layer][head][query][key]. */
async function attention(e: LoadedEntry, { ids }: AttentionArgs): Promise<AttentionResult> {
  if (supportsTask(e.model, 'seq2seq-lm')) throw new UnsupportedError(`model '${e.name}' is a ${e.model.architecture} (encoder-decoder); attention maps are served for GPT-2 and BERT models`);
  const maps = noGrad(() => tidy(() => (e.model as unknown as { forward: Forward }).forward({ inputIds: int32([ids]), outputAttentions: true }).attentions ?? []));
  if (maps.length === 0) throw new UnsupportedError(`model '${e.name}' (${e.model.architecture}) does not return attention weights`);
  const weights: number[][][][] = [];
  for (const a of maps) {
    const [, H, T, S] = a.shape as [number, number, number, number];
    const data = (await a.data()) as Float32Array;
    a.dispose();
    // 4 decimals: the page colours cells, and the JSON stays a fraction of the size.
    weights.push(Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, q) =>
      Array.from(data.subarray((h * T + q) * S, (h * T + q + 1) * S), (x) => Math.round(x * 1e4) / 1e4))));
  }
  return { layers: weights.length, heads: weights[0]!.length, weights };
}

/** A route the model's task does not serve: becomes a 404 with this reason. */
export class UnsupportedError extends Error {}

function pipeline<T extends 'sequence-classification' | 'question-answering'>(e: LoadedEntry, task: T, verb: string): TaskPipeline<T> {
  try {
    return { model: asTask(e.model, task, `model '${e.name}'`) as TaskPipeline<T>['model'], tokenizer: e.tokenizer, padId: e.padId };
  } catch (err) {
    throw new UnsupportedError(`${(err as Error).message} (/v1/${verb} needs a ${task} model)`);
  }
}

function seq2seq(e: LoadedEntry, verb: string): { model: PreTrainedModel & Seq2SeqLMModel; tokenizer: Tokenizer } {
  if (!supportsTask(e.model, 'seq2seq-lm')) {
    throw new UnsupportedError(`model '${e.name}' is a ${e.model.architecture} (${tasksOf(e.model).join(', ')}); /v1/${verb} needs a seq2seq-lm model`);
  }
  return { model: e.model as PreTrainedModel & Seq2SeqLMModel, tokenizer: e.tokenizer };
}

export async function runOp(e: LoadedEntry, op: WorkerOp, args: unknown): Promise<unknown> {
  switch (op) {
    case 'embed': return embed(e, args as EmbedArgs);
    case 'attention': return attention(e, args as AttentionArgs);
    case 'classify': {
      const r = await classifyTexts(pipeline(e, 'sequence-classification', 'classify'), (args as ClassifyArgs).inputs);
      return r satisfies ClassifyResult;
    }
    case 'answer': {
      const ex = (args as AnswerArgs).examples.map((x, i) => ({ id: String(i), ...x }));
      const preds = await answer(pipeline(e, 'question-answering', 'answer'), ex);
      return preds.map((p): AnswerResult => ({ text: p.text, score: p.score, probability: p.probability, start: p.start, end: p.end }));
    }
    case 'translate': case 'summarize': {
      const a = args as Seq2SeqArgs;
      return runSeq2Seq(seq2seq(e, op), a.inputs, { numBeams: a.numBeams, maxNewTokens: a.maxNewTokens });
    }
  }
}
