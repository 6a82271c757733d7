// HF Transformers checkpoint names and layouts, mapped onto tlm's modules (which already use HF's
// attribute names, so most keys pass unchanged). What needs mapping:
//  - old checkpoints (TF-converted BERT) name LayerNorm parameters gamma/beta, not weight/bias;
//  - a base-model checkpoint (BertModel: "embeddings.…") loads into a head model ("bert.embeddings.…")
//    and back, as HF's base_model_prefix allows;
//  - HF saves tied parameters once (lm_head.weight is wte.weight) and older files carry buffers that
//    are no weights (GPT-2's attn.bias causal mask, BERT's position_ids).
// GPT-2's Conv1D stores weights [in, out]; tlm's Conv1D keeps that layout, so no transpose is needed.

import type { Tensor } from '../tensor/tensor.js';

/** The model side of the mapping (PreTrainedModel implements it). */
export interface HfMappable {
  stateDict(): Record<string, Tensor>;
  readonly baseModelPrefix: string;
  tiedKeys(): [string, string][];
  ignoredKeys(): RegExp[];
}

/** Legacy parameter names → current ones (as transformers' _fix_state_dict_key_on_load). */
export function renameLegacyKey(key: string): string {
  if (key.endsWith('.gamma')) return key.slice(0, -'.gamma'.length) + '.weight';
  if (key.endsWith('.beta')) return key.slice(0, -'.beta'.length) + '.bias';
  return key;
}

/**
 * dict's keys renamed to the model's own; tied aliases filled from their sources. The values are
 * only moved: a loader may map checkpoint names (strings) before it reads a single tensor.
 */
export function normalizeStateDict<T = Tensor>(dict: Record<string, T>, model: HfMappable): Record<string, T> {
  const own = model.stateDict();
  const prefix = model.baseModelPrefix ? model.baseModelPrefix + '.' : '';
  const ignored = model.ignoredKeys();
  const out: Record<string, T> = {};
  for (const [rawKey, t] of Object.entries(dict)) {
    let key = renameLegacyKey(rawKey);
    if (ignored.some((re) => re.test(key))) continue;
    if (!(key in own) && prefix) {
      if (prefix + key in own) key = prefix + key;
      else if (key.startsWith(prefix) && key.slice(prefix.length) in own) key = key.slice(prefix.length);
    }
    out[key] = t;
  }
  for (const [alias, source] of model.tiedKeys()) {
    if (own[alias] === undefined || own[alias] !== own[source]) continue; // not tied in this model
    if (!(alias in out) && source in out) out[alias] = out[source]!;
    else if (alias in out && !(source in out)) out[source] = out[alias]!;
  }
  return out;
}

/** HF's large negative for masked scores (torch.finfo(float32).min): finite, so fully padded rows stay finite. */
export const MASK_MIN = -3.4028234663852886e38;
