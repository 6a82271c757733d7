import { asObject, getType } from '../json.js';
import { BPE } from './bpe.js';
import type { TokenModel } from './model.js';
import { Unigram } from './unigram.js';
import { WordLevel, WordPiece } from './wordpiece.js';

export { BPE, type BpeOptions } from './bpe.js';
export { WordPiece, WordLevel, type WordPieceOptions } from './wordpiece.js';
export { Unigram } from './unigram.js';
export type { TokenModel, TokenSink } from './model.js';

const TYPES = ['BPE', 'WordPiece', 'WordLevel', 'Unigram'] as const;

export function modelFromJSON(json: unknown, path = 'model'): TokenModel {
  const o = asObject(json, path);
  // Files written by old versions of HF tokenizers omit the model type; infer it like HF does.
  if (o.type === undefined) {
    if (o.merges !== undefined) return BPE.fromJSON(o, path);
    if (o.continuing_subword_prefix !== undefined || o.max_input_chars_per_word !== undefined) return WordPiece.fromJSON(o, path);
    if (Array.isArray(o.vocab)) return Unigram.fromJSON(o, path);
  }
  switch (getType(o, path, 'model', TYPES)) {
    case 'BPE': return BPE.fromJSON(o, path);
    case 'WordPiece': return WordPiece.fromJSON(o, path);
    case 'Unigram': return Unigram.fromJSON(o, path);
    default: return WordLevel.fromJSON(o, path);
  }
}
