// QuantizedLinear: a Linear layer whose weight is held quantized — int8 with one scale per output
// channel, or 4-bit in groups of 32 inputs (layout: backend/quant_format.ts) — and multiplied in
// that form by the backend's quantMatmul kernel. It takes the place of a Linear (or a GPT-2
// Conv1D, whose [in, out] weight is transposed once while quantizing) in a model for inference.
//
// State-dict keys: `qweight` (int32 words), `scales` (float32) and `bias` when the layer has one —
// the names and shapes a quantized model directory stores (models/quantize).

import { quantizedLinear } from '../tensor/ops/quantized.js';
import { empty } from '../tensor/ops/core.js';
import { tensor, writeData_ } from '../tensor/ops/creation.js';
import { noGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { dequantizeWeight, quantizeWeight, quantLayout, quantShapes, type QuantBits, type QuantLayout } from '../backend/quant_format.js';
import { Module } from './module.js';
import { zeros_ } from './init.js';

export interface QuantizedLinearOptions {
  bits: QuantBits;
  bias?: boolean;
}

export class QuantizedLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: QuantLayout;
  qweight: Tensor;
  scales: Tensor;
  bias: Tensor | null;

  /** An empty layer (zeros) of this shape, for a loader to fill; quantize() makes one from a weight. */
  constructor(inFeatures: number, outFeatures: number, opts: QuantizedLinearOptions) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.layout = quantLayout(opts.bits, outFeatures, inFeatures);
    const shapes = quantShapes(this.layout);
    this.qweight = this.registerBuffer('qweight', zeros_(empty(shapes.qweight, 'int32')))!;
    this.scales = this.registerBuffer('scales', zeros_(empty(shapes.scales)))!;
    this.bias = this.registerParameter('bias', opts.bias ? zeros_(empty([outFeatures])) : null);
  }

  get bits(): QuantBits { return this.layout.bits; }

  /**
   * The layer of a float32 weight: [out, in] as nn.Linear's, or [in, out] with `transposed` (GPT-2's
   * Conv1D). The bias, if any, is copied.
   */
  static quantize(weight: Tensor, bias: Tensor | null, opts: { bits: QuantBits; transposed?: boolean }): QuantizedLinear {
    if (weight.ndim !== 2 || weight.dtype !== 'float32') throw new Error(`QuantizedLinear.quantize: weight must be a float32 matrix, got ${weight.dtype} [${weight.shape.join(',')}]`);
    const [rows, cols] = weight.shape as [number, number];
    const [outF, inF] = opts.transposed ? [cols, rows] : [rows, cols];
    const layer = new QuantizedLinear(inF, outF, { bits: opts.bits, bias: bias !== null });
    const q = quantizeWeight(weight.contiguous().dataSync() as Float32Array, layer.layout, opts.transposed);
    noGrad(() => {
      writeData_(layer.qweight, q.qweight);
      writeData_(layer.scales, q.scales);
      if (bias) layer.bias!.copy_(bias);
    });
    return layer;
  }

  forward(x: Tensor): Tensor {
    return quantizedLinear(x, this.qweight, this.scales, this.bias, this.layout);
  }

  /** The weight the layer computes with, q · scale, as float32 [out, in] (tests, inspection). */
  dequantize(): Tensor {
    const w = dequantizeWeight(this.qweight.dataSync() as Int32Array, this.scales.dataSync() as Float32Array, this.layout);
    return tensor(w, { shape: [this.outFeatures, this.inFeatures] });
  }

  override setParameter(name: string, t: Tensor): void {
    super.setParameter(name, t);
    if (name === 'bias') this.bias = t;
  }
}
