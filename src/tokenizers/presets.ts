// Ready-made pipelines: GPT-2's byte-level BPE, BERT's WordPiece, a character-level vocabulary and
// SentencePiece's Unigram,
// both for wrapping an existing vocabulary and for training a new one.

import { byteLevelAlphabet } from './byte-level.js';
import { ByteLevelDecoder, FuseDecoder, WordPieceDecoder } from './decoders.js';
import { BPE } from './models/bpe.js';
import type { TokenModel } from './models/model.js';
import { MetaspaceDecoder, Metaspace } from './metaspace.js';
import { Unigram } from './models/unigram.js';
import { BertNormalizer, Nmt, NormalizerSequence, Replace, UnicodeNormalizer } from './normalizers.js';
import { TemplateProcessing } from './post-processors.js';
import { BertPreTokenizer, ByteLevel } from './pre-tokenizers.js';
import { Tokenizer } from './tokenizer.js';
import { BpeTrainer } from './trainers/bpe-trainer.js';
import { CharTrainer } from './trainers/char-trainer.js';
import { UnigramTrainer, type UnigramTrainerOptions } from './trainers/unigram-trainer.js';
import type { TrainProgress } from './trainers/trainer.js';
import { BERT_SPECIAL_TOKENS, WordPieceTrainer } from './trainers/wordpiece-trainer.js';

/** GPT-2's pipeline: byte-level split and alphabet, no special tokens around sequences. */
export function byteLevelTokenizer(model: TokenModel, opts: { addPrefixSpace?: boolean } = {}): Tokenizer {
  const tok = new Tokenizer(model);
  tok.preTokenizer = new ByteLevel(opts.addPrefixSpace ?? false, true, true);
  tok.postProcessor = TemplateProcessing.fromStrings('$A', '$A $B:1', {});
  tok.decoder = new ByteLevelDecoder();
  return tok;
}

export interface BertOptions {
  lowercase?: boolean;
  /** null: strip accents exactly when lowercasing (BERT uncased). */
  stripAccents?: boolean | null;
  handleChineseChars?: boolean;
}

/** BERT's pipeline around a WordPiece model: [CLS] A [SEP] B [SEP] with type ids 0 then 1. */
export function bertTokenizer(model: TokenModel, opts: BertOptions = {}): Tokenizer {
  const tok = new Tokenizer(model);
  tok.normalizer = new BertNormalizer({
    cleanText: true, handleChineseChars: opts.handleChineseChars ?? true, stripAccents: opts.stripAccents ?? null, lowercase: opts.lowercase ?? true,
  });
  tok.preTokenizer = new BertPreTokenizer();
  tok.decoder = new WordPieceDecoder('##', true);
  for (const t of BERT_SPECIAL_TOKENS) if (model.tokenToId(t) !== undefined) tok.addSpecialTokens([t]);
  const cls = model.tokenToId('[CLS]');
  const sep = model.tokenToId('[SEP]');
  if (cls !== undefined && sep !== undefined) {
    tok.postProcessor = TemplateProcessing.fromStrings('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', { '[CLS]': cls, '[SEP]': sep });
  }
  return tok;
}

/** One token per character, concatenated back on decode. */
export function charTokenizer(model: TokenModel): Tokenizer {
  const tok = new Tokenizer(model);
  tok.postProcessor = TemplateProcessing.fromStrings('$A', '$A $B:1', {});
  tok.decoder = new FuseDecoder();
  return tok;
}

export interface TrainOptions {
  vocabSize: number;
  minFrequency?: number;
  specialTokens?: string[];
  onProgress?: (p: TrainProgress) => void;
}

/** Trains GPT-2-style byte-level BPE (all 256 bytes in the alphabet; '<|endoftext|>' by default). */
export function trainByteLevelBpe(texts: Iterable<string>, opts: TrainOptions & { addPrefixSpace?: boolean }): Tokenizer {
  const tok = byteLevelTokenizer(new BPE(new Map(), []), opts);
  return tok.train(texts, new BpeTrainer({
    vocabSize: opts.vocabSize, minFrequency: opts.minFrequency ?? 0, specialTokens: opts.specialTokens ?? ['<|endoftext|>'],
    initialAlphabet: byteLevelAlphabet(), onProgress: opts.onProgress,
  }));
}

/** Trains BERT-style WordPiece ([PAD] [UNK] [CLS] [SEP] [MASK] by default; uncased by default). */
export function trainWordPiece(texts: Iterable<string>, opts: TrainOptions & BertOptions & { limitAlphabet?: number }): Tokenizer {
  const pipeline = bertTokenizer(new BPE(new Map(), []), opts);
  pipeline.train(texts, new WordPieceTrainer({
    vocabSize: opts.vocabSize, minFrequency: opts.minFrequency ?? 0, specialTokens: opts.specialTokens ?? BERT_SPECIAL_TOKENS,
    limitAlphabet: opts.limitAlphabet ?? 1000, onProgress: opts.onProgress,
  }));
  // Rebuild around the trained model so the template knows the ids of [CLS] and [SEP].
  const tok = bertTokenizer(pipeline.model, opts);
  for (const t of pipeline.addedTokens.all()) tok.addedTokens.add(t);
  return tok;
}

/** Builds a character vocabulary (at most vocabSize entries; '[UNK]' for the rest). */
export function trainCharLevel(texts: Iterable<string>, opts: Partial<TrainOptions> = {}): Tokenizer {
  const tok = charTokenizer(new BPE(new Map(), []));
  return tok.train(texts, new CharTrainer({ vocabSize: opts.vocabSize, specialTokens: opts.specialTokens, onProgress: opts.onProgress }));
}

/**
 * SentencePiece's Unigram pipeline, as HF's SentencePieceUnigramTokenizer: NMT cleanup, NFKC,
 * runs of spaces collapsed, Metaspace words ('▁' before each), Metaspace decoding.
 */
export function sentencePieceUnigramTokenizer(model: TokenModel, opts: { addPrefixSpace?: boolean } = {}): Tokenizer {
  const tok = new Tokenizer(model);
  const scheme = opts.addPrefixSpace ?? true ? 'always' : 'never';
  tok.normalizer = new NormalizerSequence([new Nmt(), new UnicodeNormalizer('NFKC'), new Replace(/ {2,}/, ' ')]);
  tok.preTokenizer = new Metaspace('\u2581', scheme);
  tok.decoder = new MetaspaceDecoder('\u2581', scheme);
  return tok;
}

/** Trains a SentencePiece-style Unigram model (no special tokens and no unknown token by default). */
export function trainSentencePieceUnigram(texts: Iterable<string>, opts: TrainOptions & Omit<UnigramTrainerOptions, 'vocabSize' | 'specialTokens' | 'onProgress'> & { addPrefixSpace?: boolean }): Tokenizer {
  const tok = sentencePieceUnigramTokenizer(new Unigram([['<unk>', 0]], 0), opts);
  const { addPrefixSpace: _unused, minFrequency: _ignored, ...trainerOpts } = opts;
  return tok.train(texts, new UnigramTrainer(trainerOpts));
}
