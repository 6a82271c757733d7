// What every causal-LM head does after its body (GPT-2, Llama): the vocabulary projection of the
// positions asked for, and the next-token loss when labels are given.

import { crossEntropy } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Linear } from '../nn/linear.js';
import type { QuantizedLinear } from '../nn/quantized.js';
import { optionalIds, type ModelInputs, type ModelOutput } from './modeling.js';

/** The body's output with logits (and loss) added: lmHead over the last logitsToKeep positions, or all. */
export function causalLmOutput<O extends { lastHiddenState: Tensor }>(out: O, lmHead: Linear | QuantizedLinear, inputs: ModelInputs): O & ModelOutput & { logits: Tensor } {
  // logitsToKeep: generation reads only the last position; the head is a V × hidden matmul per position.
  const h = out.lastHiddenState, T = h.shape[1]!, k = inputs.logitsToKeep ?? 0;
  const logits = lmHead.forward(k > 0 && k < T ? h.narrow(1, T - k, k) : h);
  const result: O & ModelOutput & { logits: Tensor } = { ...out, logits };
  const labels = optionalIds(inputs.labels, 'labels');
  if (labels) result.loss = causalLmLoss(logits, labels);
  return result;
}

/** Mean next-token cross-entropy: logits at t predict labels at t+1; -100 labels are ignored. */
export function causalLmLoss(logits: Tensor, labels: Tensor): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  if (labels.shape[0] !== B || labels.shape[1] !== T) throw new Error(`labels [${labels.shape.join(',')}] must match inputIds [${B},${T}]`);
  const l = logits.narrow(1, 0, T - 1).reshape(-1, V);
  return crossEntropy(l, labels.narrow(1, 1, T - 1).reshape(-1), { ignoreIndex: -100 });
}
