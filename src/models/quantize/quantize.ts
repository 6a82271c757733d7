// Quantizing a model in place: every Linear layer and GPT-2 Conv1D of a causal LM (its attention
// and MLP projections and its output head) becomes a QuantizedLinear, round-to-nearest, and
// config.quantization_config records which (config.ts). A loader rebuilds that structure from the
// config before reading the weights (prepareQuantizedModel), so a quantized directory loads with
// fromPretrained like any other.

import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Linear } from '../../nn/linear.js';
import { Module, moduleAt, replaceModule } from '../../nn/module.js';
import { QuantizedLinear } from '../../nn/quantized.js';
import { GROUP_SIZE_4BIT, type QuantBits } from '../../backend/quant_format.js';
import { InputError } from '../../errors.js';
import { Conv1D } from '../gpt2/model.js';
import type { PreTrainedModel } from '../modeling.js';
import { quantizationConfig, readQuantizationConfig, type QuantizationConfig } from './config.js';

/** The architectures whose quantized form is built and tested (causal LMs: what decoding speeds up). */
export const QUANTIZABLE_ARCHITECTURES: readonly string[] = ['GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'];

/** A layer y = x·Wᵀ + b that can be quantized: nn.Linear ([out, in]) or GPT-2's Conv1D ([in, out]). */
interface Target { inFeatures: number; outFeatures: number; transposed: boolean; weight: Tensor; bias: Tensor | null }

function targetOf(m: Module): Target | null {
  if (m instanceof Linear) return { inFeatures: m.inFeatures, outFeatures: m.outFeatures, transposed: false, weight: m.weight, bias: m.bias };
  if (m instanceof Conv1D) {
    const [inF, outF] = m.weight.shape as [number, number];
    return { inFeatures: inF, outFeatures: outF, transposed: true, weight: m.weight, bias: m.bias };
  }
  return null;
}

export interface QuantizeOptions {
  bits: QuantBits;
}

export interface QuantizeReport {
  /** Module paths now quantized. */
  modules: string[];
  /** Layers left in float32: 4-bit needs in_features divisible by 32. */
  skipped: string[];
  /** Bytes of the replaced float32 weights, and of their quantized form (qweight + scales). */
  floatBytes: number;
  quantizedBytes: number;
}

/** Frees the tensors of replaced modules that the model no longer holds (a tied weight stays with its other owner). */
function disposeOrphans(model: Module, replaced: Module[]): void {
  const live = new Set(Object.values(model.stateDict()));
  for (const m of replaced) {
    for (const t of [...m.parameters(), ...m.namedBuffers().map(([, b]) => b)]) if (!live.has(t)) t.dispose();
  }
}

function checkArchitecture(model: PreTrainedModel, what: string): void {
  if (!QUANTIZABLE_ARCHITECTURES.includes(model.architecture)) {
    throw new InputError(`${what}: ${model.architecture} cannot be quantized (supported: ${QUANTIZABLE_ARCHITECTURES.join(', ')})`);
  }
}

/**
 * Quantizes model's Linear / Conv1D layers in place to `bits` (8: one scale per output channel;
 * 4: one per 32 inputs), the output head included, and records it in model.config. The model then
 * runs on the cpu backend's quantMatmul kernel, for inference.
 */
export function quantizeModel(model: PreTrainedModel, opts: QuantizeOptions): QuantizeReport {
  if (opts.bits !== 8 && opts.bits !== 4) throw new InputError(`quantize: bits must be 8 or 4, got ${String(opts.bits)}`);
  checkArchitecture(model, 'quantize');
  const already = readQuantizationConfig(model.config);
  if (already !== null) throw new InputError(`quantize: the model is already quantized (${already.format}); quantize its float32 original instead`);
  const report: QuantizeReport = { modules: [], skipped: [], floatBytes: 0, quantizedBytes: 0 };
  const replaced: Module[] = [];
  for (const [path, m] of [...model.namedModules()]) {
    const t = targetOf(m);
    if (t === null || path === '') continue;
    if (opts.bits === 4 && t.inFeatures % GROUP_SIZE_4BIT !== 0) { report.skipped.push(path); continue; }
    const q = noGrad(() => QuantizedLinear.quantize(t.weight, t.bias, { bits: opts.bits, transposed: t.transposed }));
    q.train(m.training);
    replaceModule(model, path, m, q);
    replaced.push(m);
    report.modules.push(path);
    report.floatBytes += t.weight.numel * 4;
    report.quantizedBytes += (q.qweight.numel + q.scales.numel) * 4;
  }
  disposeOrphans(model, replaced);
  (model.config as Record<string, unknown>).quantization_config = quantizationConfig(opts.bits, report.modules);
  return report;
}

/**
 * Gives a freshly built model (weights not loaded yet) the quantized layers its config names, so
 * that loading fills their qweight / scales like any other tensor. Does nothing for a float model.
 */
export function prepareQuantizedModel(model: PreTrainedModel): QuantizationConfig | null {
  const qc = readQuantizationConfig(model.config);
  if (qc === null) return null;
  checkArchitecture(model, 'fromPretrained: quantization_config');
  const replaced: Module[] = [];
  for (const path of qc.modules) {
    let m: Module;
    try {
      m = moduleAt(model, path);
    } catch {
      throw new InputError(`config.json: quantization_config.modules names '${path}', which ${model.architecture} does not have`);
    }
    if (m instanceof QuantizedLinear && m.bits === qc.bits) continue; // prepared already (loading into it again)
    const t = targetOf(m);
    if (t === null) throw new InputError(`config.json: quantization_config.modules names '${path}', a ${m.constructor.name}, not a Linear or Conv1D layer`);
    const q = new QuantizedLinear(t.inFeatures, t.outFeatures, { bits: qc.bits, bias: t.bias !== null });
    replaceModule(model, path, m, q);
    replaced.push(m);
  }
  disposeOrphans(model, replaced);
  return qc;
}
