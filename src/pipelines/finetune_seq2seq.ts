// Translation and summarization training as a library call: parallel text → an encoder-decoder in
// HF's MarianMT layout (or further training of a tlm-seq2seq / Marian checkpoint). One joint
// byte-level BPE vocabulary for source and target (shared, tied embeddings), token-budget batches,
// label smoothing, inverse-square-root (Noam) or linear schedules, and validation by loss and by
// BLEU (translation) or ROUGE (summaries) on a greedy decode — on the general Trainer.

import { join } from 'node:path';
import { InputError, withFsContext } from '../errors.js';
import { manualSeed } from '../tensor/random.js';
import { Tokenizer, trainByteLevelBpe } from '../tokenizers/index.js';
import { asTask, fromPretrained, taskClass, type PreTrainedModel, type Seq2SeqLMModel } from '../models/index.js';
import { Trainer, type TrainingArguments } from '../train/trainer.js';
import { encodePairs, Seq2SeqTask, type Seq2SeqMetric } from '../tasks/seq2seq_task.js';
import { openRunDir, type RunSettings } from './run_dir.js';
import { checkTrainingArguments } from './pretrain.js';
import { readParallelFiles, readPairsFile, type TextPair } from './finetune_data.js';

/** Where pairs come from: two line-aligned files, or one JSONL/TSV file with two fields. */
export type PairSource = { source: string; target: string } | { file: string; sourceField: string; targetField: string; format?: string };

export interface ScratchSeq2Seq {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  ffnDim: number;
  vocabSize: number;
  dropout: number;
}

export interface Seq2SeqFinetuneOptions extends RunSettings {
  task: 'translate' | 'summarize';
  model?: string;
  fromScratch?: ScratchSeq2Seq;
  train: PairSource;
  eval: PairSource;
  maxSourceLength: number;
  maxTargetLength: number;
  truncate?: boolean;
  /** Leave out pairs with an empty source or target (with a warning) instead of refusing them. */
  skipEmpty?: boolean;
  /** Tokens per batch (rows × longest side), fairseq's --max-tokens. */
  maxTokens: number;
  labelSmoothing: number;
  /** Validation pairs decoded for the metric (default 500). */
  evalExamples?: number;
  /** Average the last k checkpoints at the end (fairseq's checkpoint averaging), kept if it beats the best. */
  averageLast?: number;
  epochs?: number;
  args: Omit<TrainingArguments, 'maxIters' | 'lrDecayIters' | 'evalInterval'> & { maxIters?: number; evalInterval?: number };
}

function readPairs(s: PairSource, o: { lossyUtf8?: boolean }): { pairs: TextPair[]; name: string } {
  if ('file' in s) return { pairs: readPairsFile(s.file, { source: s.sourceField, target: s.targetField }, { format: s.format, ...o }), name: s.file };
  return { pairs: readParallelFiles(s.source, s.target, o), name: s.target };
}

/** Marian's special tokens, first: pad 0 (also the decoder's start), EOS 1, unknown 2. */
const SPECIALS = ['<pad>', '</s>', '<unk>'];

export async function finetuneSeq2Seq(o: Seq2SeqFinetuneOptions): Promise<{ outDir: string; metrics: Record<string, number>; bestMetric: number; metricName: string; steps: number; seconds: number; parameters: number }> {
  const command = o.command ?? 'tlm finetune';
  const log = o.log ?? ((s: string) => console.error(s));
  if (!o.model === !o.fromScratch) throw new InputError(`${command}: give --model DIR or --from-scratch (one of them)`);
  const run = openRunDir(o.out, { resume: o.resume, overwrite: o.overwrite, command, log });
  try {
    manualSeed(o.args.seed);
    const train = readPairs(o.train, o), val = readPairs(o.eval, o);
    let tok: Tokenizer, model: PreTrainedModel & Seq2SeqLMModel;
    if (o.model) {
      tok = await Tokenizer.fromPretrained(o.model);
      model = asTask(await fromPretrained(o.model, { warn: log }), 'seq2seq-lm', `${command}: ${o.model}`) as PreTrainedModel & Seq2SeqLMModel;
    } else {
      const s = o.fromScratch!;
      const t0 = Date.now();
      tok = trainByteLevelBpe(train.pairs.flatMap((p) => [p.source, p.target]), { vocabSize: s.vocabSize, specialTokens: SPECIALS });
      log(`tokenizer: joint byte-level BPE, ${tok.vocabSize} tokens, trained in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      const cls = taskClass('marian', 'seq2seq-lm');
      model = new cls({
        vocab_size: tok.vocabSize, d_model: s.nEmbd, encoder_layers: s.nLayer, decoder_layers: s.nLayer, encoder_attention_heads: s.nHead,
        decoder_attention_heads: s.nHead, encoder_ffn_dim: s.ffnDim, decoder_ffn_dim: s.ffnDim, activation_function: 'relu',
        dropout: s.dropout, attention_dropout: 0, activation_dropout: 0, max_position_embeddings: Math.max(o.maxSourceLength, o.maxTargetLength) + 2,
        scale_embedding: true, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0, forced_eos_token_id: 1,
        share_encoder_decoder_embeddings: true, tie_word_embeddings: true,
      } as never) as PreTrainedModel & Seq2SeqLMModel;
    }
    const cfg = model.config as { pad_token_id?: number; eos_token_id?: number; decoder_start_token_id?: number };
    const padId = cfg.pad_token_id ?? 0, eosId = cfg.eos_token_id ?? 1;
    const ids = (text: string) => tok.encode(text, { addSpecialTokens: false }).ids;
    const common = { encodeSource: ids, encodeTarget: ids, eosId, maxSourceLength: o.maxSourceLength, maxTargetLength: o.maxTargetLength, truncate: o.truncate, skipEmpty: o.skipEmpty ?? false, warn: log };
    const trainPairs = encodePairs(train.pairs, { ...common, source: train.name });
    const valPairs = encodePairs(val.pairs, { ...common, source: val.name });
    const metric: Seq2SeqMetric = o.task === 'translate' ? 'bleu' : 'rouge';
    const decode = async (m: Seq2SeqLMModel, sources: number[][]): Promise<number[][]> => {
      const gm = m as unknown as PreTrainedModel;
      const out: number[][] = [];
      for (let i = 0; i < sources.length; i += 64) {
        const rows = await gm.generate(sources.slice(i, i + 64), { maxNewTokens: o.maxTargetLength, eosTokenId: eosId, padTokenId: padId });
        out.push(...rows.map((r) => r.slice(1).filter((t) => t !== eosId && t !== padId)));
      }
      return out;
    };
    const task = new Seq2SeqTask(trainPairs, valPairs, {
      maxTokens: o.maxTokens, padId, decoderStartId: cfg.decoder_start_token_id ?? padId, labelSmoothing: o.labelSmoothing, metric, metricExamples: o.evalExamples ?? 500, decode,
      detokenize: (t) => tok.decode(t, { skipSpecialTokens: true }).trim(), references: val.pairs.map((p) => p.target),
    });
    const steps = task.stepsPerEpoch;
    const maxIters = o.args.maxIters ?? Math.ceil((o.epochs ?? 10) * steps / o.args.gradAccum);
    const args: TrainingArguments = { ...o.args, maxIters, lrDecayIters: maxIters, evalInterval: o.args.evalInterval ?? Math.max(1, Math.ceil(steps / o.args.gradAccum)),
      ...(o.averageLast && o.averageLast > 1 ? { keepCheckpoints: o.averageLast } : {}) };
    checkTrainingArguments(args, command);
    log(`model: ${model.architecture}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters; ${trainPairs.length} training pairs in ${steps} batches of ≤${o.maxTokens} tokens; ${maxIters} steps`);
    const save = () => withFsContext('save the model to', o.out, async () => { await model.savePretrained(o.out); await tok.save(join(o.out, 'tokenizer.json')); });
    const trainer = new Trainer(model, task as never, args, o.out, { architecture: { task: o.task, type: model.architecture } });
    if (o.resume && await trainer.resume()) log(`resumed from step ${trainer.step}`);
    const finalSave = async () => {
      const note = await trainer.loadFinal(o.averageLast);
      if (note !== null) log(note);
      await save();
    };
    const res = await trainer.run({ quiet: o.quiet, stop: o.stop, onBest: save, onEnd: finalSave });
    log(`${res.interrupted ? 'interrupted' : 'done'}: ${res.step} steps in ${res.seconds.toFixed(1)}s; best ${trainer.metricName} ${res.bestMetric.toFixed(2)}; saved to ${o.out}`);
    return { outDir: o.out, metrics: res.lastMetrics, bestMetric: res.bestMetric, metricName: trainer.metricName, steps: res.step, seconds: res.seconds, parameters: model.numParameters() };
  } finally {
    run.release();
  }
}
