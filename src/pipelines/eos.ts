// Which tokens end a generated text, resolved once for every surface (tlm chat, tlm serve): the
// union of generation_config.json's eos_token_id (what HF's generate() stops at), config.json's,
// and the tokenizer config's eos_token (chat models often end a turn with a token that neither
// JSON file names, e.g. Qwen2's <|im_end|>). Order: that one, first ids first, duplicates dropped.

import type { Tokenizer } from '../tokenizers/index.js';

/** What the resolution reads of a model: its config.json and generation_config.json fields. */
export interface EosSource {
  config?: unknown;
  generationConfig?: unknown;
}

const idList = (v: unknown): number[] => (v === null || v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(Number).filter(Number.isInteger));

/** The end-of-sequence token ids of a loaded model and its tokenizer (empty: nothing stops generation but length). */
export function eosTokenIds(model: EosSource, tok: Pick<Tokenizer, 'config' | 'tokenToId'>): number[] {
  const gen = (model.generationConfig ?? {}) as Record<string, unknown>, cfg = (model.config ?? {}) as Record<string, unknown>;
  const fromTok = tok.config?.eosToken ? tok.tokenToId(tok.config.eosToken) : undefined;
  return [...new Set([...idList(gen.eos_token_id), ...idList(cfg.eos_token_id), ...(fromTok !== undefined ? [fromTok] : [])])];
}
