// Causal sequence classifiers (GPT2/Llama/Qwen2/MistralForSequenceClassification, as HF) score
// every position and keep one per row: its last token that is not padding, the only position a
// causal model has read the whole sequence from.

import { arange, full } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Each row's flat index (b·T + t) of its last real token, computed on the device: as HF, the
 * rightmost token that is not padTokenId; without a pad id, the last 1 of the attention mask; with
 * neither, the last token (and then, as HF, only one row at a time). Given inputsEmbeds (ids null),
 * the attention mask decides. A mask longer than T (a prefix's columns first) is read over its
 * last T columns.
 */
export function lastTokenRows(ids: Tensor | null, mask: Tensor | null, padTokenId: number | null | undefined, B: number, T: number, where: string): Tensor {
  const hasPad = padTokenId !== null && padTokenId !== undefined;
  if (mask !== null && mask.shape[1]! > T) mask = mask.narrow(1, mask.shape[1]! - T, T);
  const real = ids !== null && hasPad ? ids.ne(padTokenId) : mask;
  if (real === null && B > 1 && !hasPad) {
    throw new Error(`${where}: a batch of more than one row needs pad_token_id in the config (or an attentionMask) to find each row's last token`);
  }
  const last = real === null ? full([B], T - 1, { dtype: 'int32' })
    : real.float().mul(arange(T).float()).argmax(-1).to('int32');
  return last.add(arange(B).mul(T)).to('int32');
}

/** The rows of per-position scores [B, T, n] at each row's last real token: [B, n]. */
export function lastTokenLogits(all: Tensor, ids: Tensor | null, mask: Tensor | null, padTokenId: number | null | undefined, where: string): Tensor {
  const [B, T, n] = all.shape as [number, number, number];
  return all.reshape(B * T, n).indexSelect(0, lastTokenRows(ids, mask, padTokenId, B, T, where));
}
