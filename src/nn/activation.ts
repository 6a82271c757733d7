// Activation functions by the names configs use (torch's 'relu'/'gelu', HF's 'gelu_new', ...).

import type { Tensor } from '../tensor/tensor.js';

export type ActivationName = 'relu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'tanh' | 'silu' | 'swish' | 'sigmoid' | 'linear';
export type Activation = (x: Tensor) => Tensor;

const ACTIVATIONS: Record<ActivationName, Activation> = {
  relu: (x) => x.relu(),
  gelu: (x) => x.gelu(),
  // GPT-2's gelu: the tanh approximation, which HF calls gelu_new (and gelu_pytorch_tanh, same formula).
  gelu_new: (x) => x.gelu({ approximate: 'tanh' }),
  gelu_pytorch_tanh: (x) => x.gelu({ approximate: 'tanh' }),
  gelu_fast: (x) => x.gelu({ approximate: 'tanh' }),
  tanh: (x) => x.tanh(),
  silu: (x) => x.mul(x.sigmoid()),
  swish: (x) => x.mul(x.sigmoid()),
  sigmoid: (x) => x.sigmoid(),
  linear: (x) => x,
};

export function getActivation(name: string | Activation): Activation {
  if (typeof name === 'function') return name;
  const fn = ACTIVATIONS[name as ActivationName];
  if (fn === undefined) throw new Error(`unknown activation '${name}': expected one of ${Object.keys(ACTIVATIONS).join(', ')}`);
  return fn;
}
