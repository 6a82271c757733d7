// Running a translation or summarization model: texts in, texts out, in input order, batched (many
// sources decoded at once, each with its beams).

import { InputError } from '../errors.js';
import type { Tokenizer } from '../tokenizers/index.js';
import { asTask, type PreTrainedModel, type Seq2SeqLMModel } from '../models/index.js';
import { loadModelDir } from './model_dir.js';
import { encodePairs } from '../tasks/seq2seq_task.js';
import { seq2seqMetrics, type Seq2SeqMetric } from '../tasks/seq2seq_task.js';
import type { TextPair } from './finetune_data.js';

export interface Seq2SeqPipeline { model: PreTrainedModel & Seq2SeqLMModel; tokenizer: Tokenizer }

export async function loadSeq2Seq(dir: string, command = 'tlm'): Promise<Seq2SeqPipeline> {
  const { model, tokenizer } = await loadModelDir(dir, command);
  return { model: asTask(model, 'seq2seq-lm', `${command}: ${dir}`) as PreTrainedModel & Seq2SeqLMModel, tokenizer };
}

export interface DecodeOptions {
  numBeams?: number;
  batchSize?: number;
  /** Longest input in tokens (EOS included); longer ones are an error unless truncate. */
  maxSourceLength?: number;
  truncate?: boolean;
  /** New tokens at most: the source's length + 50 by default (the rule). */
  maxNewTokens?: number;
  minNewTokens?: number;
  noRepeatNgramSize?: number;
  lengthPenalty?: number;
  /** Called after each batch with the outputs so far (for streaming and progress). */
  onBatch?: (done: string[], total: number) => void;
}

/** Outputs for inputs, in order. */
export async function runSeq2Seq(p: Seq2SeqPipeline, inputs: readonly string[], o: DecodeOptions = {}): Promise<string[]> {
  const cfg = p.model.config as { eos_token_id?: number; pad_token_id?: number; max_position_embeddings?: number };
  const eos = cfg.eos_token_id ?? 1, pad = cfg.pad_token_id ?? 0;
  const maxSrc = o.maxSourceLength ?? cfg.max_position_embeddings ?? 512;
  const ids = (text: string) => p.tokenizer.encode(text, { addSpecialTokens: false }).ids;
  const pairs = inputs.map((source, i) => ({ source: source.trim() === '' ? ' ' : source, target: 'x', line: i + 1 }));
  let encoded;
  try {
    encoded = encodePairs(pairs, { encodeSource: ids, encodeTarget: () => [], eosId: eos, maxSourceLength: maxSrc, maxTargetLength: 2, truncate: o.truncate, source: 'input' });
  } catch (err) {
    throw new InputError((err as Error).message.replace('--max-source-length', '--max-length'));
  }
  const out: string[] = [];
  const B = o.batchSize ?? 16;
  for (let i = 0; i < encoded.length; i += B) {
    const rows = encoded.slice(i, i + B).map((e) => e.src);
    // Each source may get its length + 50 new tokens (capped by the decoder's positions), unless told otherwise.
    const res = await p.model.generate(rows, {
      ...(o.maxNewTokens !== undefined ? { maxNewTokens: o.maxNewTokens } : { maxNewTokensOverSource: 50 }), numBeams: o.numBeams ?? 1, eosTokenId: eos, padTokenId: pad,
      ...(o.minNewTokens !== undefined ? { minNewTokens: o.minNewTokens } : {}),
      ...(o.noRepeatNgramSize !== undefined ? { noRepeatNgramSize: o.noRepeatNgramSize } : {}),
      ...(o.lengthPenalty !== undefined && (o.numBeams ?? 1) > 1 ? { lengthPenalty: o.lengthPenalty } : {}),
    });
    for (const r of res) out.push(p.tokenizer.decode(r.slice(1).filter((t) => t !== eos && t !== pad), { skipSpecialTokens: true }).trim());
    o.onBatch?.(out, inputs.length);
  }
  return out;
}

/** BLEU and chrF (translate) or ROUGE (summarize) of the model's outputs against references. */
export async function evaluateSeq2Seq(p: Seq2SeqPipeline, pairs: readonly TextPair[], metric: Seq2SeqMetric, o: DecodeOptions = {}): Promise<Record<string, number>> {
  const hyps = await runSeq2Seq(p, pairs.map((x) => x.source), o);
  const refs = pairs.map((x) => x.target);
  const m = seq2seqMetrics(metric, hyps, refs);
  if (metric === 'bleu') {
    // The older Multi30k results: BLEU on tokenized, lower-cased text.
    const { bleu } = await import('../tasks/metrics/bleu.js');
    m.bleu_tok_lc = bleu(hyps, refs, { tokenize: '13a', lowercase: true }).score;
  }
  return { ...m, examples: pairs.length };
}
