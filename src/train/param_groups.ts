// Which parameters weight decay applies to, chosen by each module's role (a norm, an embedding) and
// the parameter's rank — never by class name, so a new layer only has to declare its role.

import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

export type DecayRule = 'matrices' | 'matrices+embeddings' | 'all';

/**
 * Two AdamW groups: decayed, and not decayed. 'matrices' (default, HF's rule): ≥2-D weights except
 * embeddings; 'matrices+embeddings' (nanoGPT's): every ≥2-D tensor; 'all'. Norm parameters and
 * biases are never decayed but under 'all'. Frozen parameters (requiresGrad false) are left out.
 */
export function decayGroups(model: Module, weightDecay: number, rule: DecayRule = 'matrices'): { params: Tensor[]; weightDecay: number }[] {
  const noDecay = new Set<Tensor>();
  if (rule !== 'all') {
    for (const [, m] of model.namedModules()) {
      const skip = m.role === 'norm' || (m.role === 'embedding' && rule === 'matrices');
      if (skip) for (const p of m.parameters()) noDecay.add(p);
    }
    for (const p of model.parameters()) if (p.ndim < 2) noDecay.add(p);
  }
  const params = model.parameters().filter((p) => p.requiresGrad);
  return [
    { params: params.filter((p) => !noDecay.has(p)), weightDecay },
    { params: params.filter((p) => noDecay.has(p)), weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}
