// Which parameters weight decay applies to, chosen by each module's role (a norm, an embedding) and
// the parameter's rank — never by class name, so a new layer only has to declare its role. And how
// fast each parameter learns under layer-wise learning-rate decay, chosen by where it sits in the stack.

import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

export type DecayRule = 'matrices' | 'matrices+embeddings' | 'all';

/** An AdamW parameter group: its weight decay, and its share of the schedule's learning rate. */
export type TrainGroup = { params: Tensor[]; weightDecay: number; lrScale?: number };

/**
 * Where a parameter sits, from its name in HF's layouts: 'embeddings' (BERT's embeddings, GPT-2's
 * wte/wpe, Llama's embed_tokens), the index of its transformer block (BERT's encoder.layer.i, GPT-2's
 * h.i, Llama's model.layers.i), or null (heads, poolers, final norms).
 */
export function parameterDepth(name: string): 'embeddings' | number | null {
  if (/(^|\.)(embeddings|wte|wpe|embed_tokens)\./.test(name)) return 'embeddings';
  const m = /(?:(?:^|\.)encoder\.layer|(?:^|\.)h|(?:^|\.)layers)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Layer-wise learning-rate decay (ELECTRA's, as in Clark et al. 2020): block i of L learns at
 * decay^(L − i) of the rate, the embeddings at decay^(L + 1), everything above the blocks (the task
 * head, a pooler, a final norm) at the full rate. The lower layers, which hold the most general
 * features, move least. decay = 1 gives every parameter the full rate.
 */
export function layerLrScales(model: Module, decay: number): Map<Tensor, number> {
  const named = model.namedParameters();
  const depths = named.map(([name]) => parameterDepth(name));
  const layers = 1 + Math.max(-1, ...depths.map((d) => (typeof d === 'number' ? d : -1)));
  const scales = new Map<Tensor, number>();
  named.forEach(([, p], i) => {
    const d = depths[i]!;
    scales.set(p, d === null ? 1 : decay ** (d === 'embeddings' ? layers + 1 : layers - d));
  });
  return scales;
}

/**
 * LoRA+ (Hayou et al. 2024; PEFT's loraplus_lr_ratio): an adapter's B matrices learn `ratio` times as
 * fast as the rest. B starts at zero and A at random, so at one rate B's updates are too small to
 * use the rank well. An embedding adapter keeps the base rate: PEFT gives those a rate of their own,
 * and its init is the other way round (A at zero, B random).
 */
export function loraPlusScales(model: Module, ratio: number): Map<Tensor, number> {
  const scales = new Map<Tensor, number>();
  for (const [name, p] of model.namedParameters()) scales.set(p, /(^|\.)lora_B\./.test(name) ? ratio : 1);
  return scales;
}

/** How the learning rate differs between parameters: both are off at 1. */
export interface LrScaling {
  /** Layer-wise decay (layerLrScales). */
  layerLrDecay?: number;
  /** LoRA+'s ratio for the adapters' B matrices (loraPlusScales). */
  loraPlusRatio?: number;
}

/**
 * AdamW groups: decayed, and not decayed. 'matrices' (default, HF's rule): ≥2-D weights except
 * embeddings; 'matrices+embeddings' (nanoGPT's): every ≥2-D tensor; 'all'. Norm parameters and
 * biases are never decayed but under 'all'. Frozen parameters (requiresGrad false) are left out.
 * With a layer-wise decay below 1 or a LoRA+ ratio, each group splits further by learning-rate scale
 * (lrScale: the product of the two).
 */
export function decayGroups(model: Module, weightDecay: number, rule: DecayRule = 'matrices', { layerLrDecay = 1, loraPlusRatio = 1 }: LrScaling = {}): TrainGroup[] {
  const noDecay = new Set<Tensor>();
  if (rule !== 'all') {
    for (const [, m] of model.namedModules()) {
      const skip = m.role === 'norm' || (m.role === 'embedding' && rule === 'matrices');
      if (skip) for (const p of m.parameters()) noDecay.add(p);
    }
    for (const p of model.parameters()) if (p.ndim < 2) noDecay.add(p);
  }
  const params = model.parameters().filter((p) => p.requiresGrad);
  const groups: TrainGroup[] = [
    { params: params.filter((p) => !noDecay.has(p)), weightDecay },
    { params: params.filter((p) => noDecay.has(p)), weightDecay: 0 },
  ];
  if (layerLrDecay === 1 && loraPlusRatio === 1) return groups.filter((g) => g.params.length > 0);
  const layer = layerLrScales(model, layerLrDecay), lora = loraPlusScales(model, loraPlusRatio);
  return groups.flatMap((g) => {
    const byScale = new Map<number, Tensor[]>();
    for (const p of g.params) {
      const s = (layer.get(p) ?? 1) * (lora.get(p) ?? 1);
      const same = byScale.get(s);
      if (same) same.push(p); else byScale.set(s, [p]);
    }
    return [...byScale].sort((a, b) => a[0] - b[0]).map(([lrScale, ps]) => ({ params: ps, weightDecay: g.weightDecay, lrScale }));
  });
}

/**
 * The token-embedding tables (BERT's word_embeddings, GPT-2's wte, Llama's embed_tokens, a seq2seq
 * model's shared table, or the base table under a LoRA adapter): the embedding-role modules that map
 * token ids, not positions or segments.
 */
export function tokenEmbeddingTables(model: Module): Tensor[] {
  const tables = new Set<Tensor>();
  for (const [name, m] of model.namedModules()) {
    if (m.role === 'embedding' && /(^|\.)(word_embeddings|wte|embed_tokens|shared)(\.base_layer)?$/.test(name)) for (const p of m.parameters()) tables.add(p);
  }
  return [...tables];
}
