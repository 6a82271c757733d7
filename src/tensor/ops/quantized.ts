// y = x·Wᵀ + b with W held quantized (backend/quant_format.ts): the op of QuantizedLinear. Inference
// only: the kernel reads the quantized words in place, and no gradient flows through it.

import { hasKernel } from '../../backend/registry.js';
import { quantShapes, type QuantLayout } from '../../backend/quant_format.js';
import { isGradEnabled, noGrad, tidy } from '../engine.js';
import { fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { deviceOf, empty, kernel, requireFloat } from './core.js';
import { contiguous, reshape } from './view.js';

/** x [..., K] → [..., N] through the quantized weight (qweight int32, scales float32) and an optional bias [N]. */
export function quantizedLinear(x: Tensor, qweight: Tensor, scales: Tensor, bias: Tensor | null, layout: QuantLayout): Tensor {
  requireFloat('quantizedLinear', x);
  const { N, K } = layout, want = quantShapes(layout);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== K) throw new Error(`quantizedLinear: input ${fmtShape(x.shape)} must end in in_features ${K}`);
  if (qweight.dtype !== 'int32' || !shapesEqual(qweight.shape, want.qweight)) {
    throw new Error(`quantizedLinear: qweight must be int32 ${fmtShape(want.qweight)}, got ${qweight.dtype} ${fmtShape(qweight.shape)}`);
  }
  if (scales.dtype !== 'float32' || !shapesEqual(scales.shape, want.scales)) {
    throw new Error(`quantizedLinear: scales must be float32 ${fmtShape(want.scales)}, got ${scales.dtype} ${fmtShape(scales.shape)}`);
  }
  if (bias && (bias.dtype !== 'float32' || !shapesEqual(bias.shape, [N]))) throw new Error(`quantizedLinear: bias must be float32 [${N}], got ${bias.dtype} ${fmtShape(bias.shape)}`);
  if (isGradEnabled() && x.requiresGrad) {
    throw new Error('quantizedLinear: quantized layers are for inference; no gradient flows through them (run under noGrad, or train the float32 model)');
  }
  const b = deviceOf('quantizedLinear', x, qweight, scales, ...(bias ? [bias] : []));
  if (!hasKernel('quantMatmul', b.name)) {
    // The registry's wording, so that the op suite counts it as not yet there.
    throw new Error(`quantizedLinear (load the float32 model on ${b.name}): kernel 'quantMatmul' is not implemented on backend '${b.name}'`);
  }
  return noGrad(() => tidy(() => {
    const xc = contiguous(x);
    const out = empty([...x.shape.slice(0, -1), N], 'float32', b);
    kernel('quantMatmul', b)(b, reshape(xc, [x.numel / K, K]), contiguous(qweight), contiguous(scales), bias ? contiguous(bias) : null, layout, out);
    return out;
  }));
}
