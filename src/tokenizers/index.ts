// tlm tokenizers: HF-compatible pipelines (tokenizer.json in and out), byte-level BPE, WordPiece
// and character vocabularies, and their trainers.

export { Tokenizer, type EncodeOptions, type DecodeOptions, type AddedTokenInput } from './tokenizer.js';
export { Encoding, type Offsets, type PaddingOptions, type TruncationOptions } from './encoding.js';
export { TokenizerConfigError } from './json.js';
export { AlignedText } from './aligned.js';
export { parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
export type { AddedToken } from './added-tokens.js';

export * as normalizers from './normalizers.js';
export * as preTokenizers from './pre-tokenizers.js';
export * as postProcessors from './post-processors.js';
export * as decoders from './decoders.js';
export { BPE, WordPiece, WordLevel, Unigram, type TokenModel, type BpeOptions, type WordPieceOptions } from './models/index.js';

export { BpeTrainer, type BpeTrainerOptions } from './trainers/bpe-trainer.js';
export { WordPieceTrainer, BERT_SPECIAL_TOKENS, type WordPieceTrainerOptions } from './trainers/wordpiece-trainer.js';
export { CharTrainer, type CharTrainerOptions } from './trainers/char-trainer.js';
export { UnigramTrainer, type UnigramTrainerOptions } from './trainers/unigram-trainer.js';
export type { Trainer, TrainProgress } from './trainers/trainer.js';

export {
  byteLevelTokenizer, bertTokenizer, charTokenizer, sentencePieceUnigramTokenizer, trainByteLevelBpe, trainWordPiece, trainCharLevel, trainSentencePieceUnigram,
  type TrainOptions, type BertOptions,
} from './presets.js';
export { fromTiktoken, parseTiktokenRanks, GPT2_PATTERN, type TiktokenRanks } from './tiktoken.js';
export { byteLevelAlphabet, toByteLevel } from './byte-level.js';
export { gpt2Split } from './gpt2-split.js';
export {
  applyChatTemplate, renderChatTemplate, chatTemplateOf, compileChatTemplate, specialTokenVariables, ChatTemplateError, DEFAULT_CHAT_TEMPLATE,
  type ChatMessage, type ChatTemplateOptions,
} from './chat_template.js';
