// quantization_config, the entry of config.json that marks a quantized model directory: which
// format its weights are in and which modules hold quantized weights. Layout of the weights
// themselves: src/backend/quant_format.ts.
//
//   "quantization_config": {
//     "quant_method": "tlm",            tlm's own weight-only format (HF's key for the method)
//     "format": "tlm-rtn-int8",         or "tlm-rtn-int4": round-to-nearest, symmetric
//     "bits": 8,                        8 or 4
//     "group_size": -1,                 inputs per scale: -1 = the whole row (8 bits), 32 (4 bits)
//     "modules": ["transformer.h.0.attn.c_attn", …, "lm_head"]
//   }
//
// Each listed module is stored as `<module>.qweight` (int32 words), `<module>.scales` (float32) and,
// when it has one, `<module>.bias` (float32), always as y = x·Wᵀ with W [out, in] — GPT-2's Conv1D
// weights ([in, out]) are transposed when quantized. Every other tensor stays as it was (float32),
// the token embeddings included: a head tied to them is quantized as a copy, the lookup keeps them.

import { InputError } from '../../errors.js';
import { GROUP_SIZE_4BIT, type QuantBits } from '../../backend/quant_format.js';

export const QUANT_METHOD = 'tlm';

export interface QuantizationConfig {
  quant_method: typeof QUANT_METHOD;
  format: string;
  bits: QuantBits;
  group_size: number;
  modules: string[];
}

export const formatName = (bits: QuantBits): string => `tlm-rtn-int${bits}`;

export function quantizationConfig(bits: QuantBits, modules: string[]): QuantizationConfig {
  return { quant_method: QUANT_METHOD, format: formatName(bits), bits, group_size: bits === 8 ? -1 : GROUP_SIZE_4BIT, modules };
}

/** config.json's quantization_config checked (null when the model is not quantized); one-line errors naming the field. */
export function readQuantizationConfig(config: Record<string, unknown>): QuantizationConfig | null {
  const q = config.quantization_config;
  if (q === undefined || q === null) return null;
  const bad = (what: string) => new InputError(`config.json: quantization_config.${what}`);
  if (typeof q !== 'object' || Array.isArray(q)) throw new InputError('config.json: quantization_config must be an object');
  const c = q as Record<string, unknown>;
  if (c.quant_method !== QUANT_METHOD) throw bad(`quant_method ${JSON.stringify(c.quant_method)} is not supported (tlm reads its own format, "${QUANT_METHOD}", made by tlm quantize)`);
  if (c.bits !== 8 && c.bits !== 4) throw bad(`bits must be 8 or 4, got ${JSON.stringify(c.bits)}`);
  const bits = c.bits;
  const group = bits === 8 ? -1 : GROUP_SIZE_4BIT;
  if (c.group_size !== group) throw bad(`group_size must be ${group} for ${bits} bits, got ${JSON.stringify(c.group_size)}`);
  if (c.format !== formatName(bits)) throw bad(`format must be "${formatName(bits)}" for ${bits} bits, got ${JSON.stringify(c.format)}`);
  if (!Array.isArray(c.modules) || !c.modules.every((m) => typeof m === 'string' && m !== '')) throw bad('modules must be a list of module names');
  return { quant_method: QUANT_METHOD, format: c.format, bits, group_size: group, modules: c.modules as string[] };
}
