// Labels of classification heads, as HF's PretrainedConfig keeps them: id2label ({"0": "negative"})
// and label2id, num_labels being the size of id2label (2 when absent); and the head's loss by
// problem_type (regression with one output, single-label cross-entropy otherwise).

import { crossEntropy } from '../tensor/ops/nn.js';
import { tensor } from '../tensor/ops/creation.js';
import { isTensor, type Tensor } from '../tensor/tensor.js';
import { asIds, type Ids } from './modeling.js';
import { InputError } from '../errors.js';

export interface LabelConfig {
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
  problem_type?: string | null;
  [key: string]: unknown;
}

/** id2label / label2id for `labels` (names, or a count: LABEL_0, LABEL_1, ... as HF). */
export function labelMaps(labels: readonly string[] | number): { id2label: Record<string, string>; label2id: Record<string, number> } {
  const names = typeof labels === 'number' ? Array.from({ length: labels }, (_, i) => `LABEL_${i}`) : labels;
  if (names.length === 0) throw new Error('labelMaps: at least one label is needed');
  if (new Set(names).size !== names.length) throw new Error(`labelMaps: label names repeat: ${names.join(', ')}`);
  return {
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
  };
}

/** HF's num_labels: the size of id2label, 2 by default. */
export function numLabelsOf(c: LabelConfig): number {
  return c.id2label ? Object.keys(c.id2label).length : 2;
}

/** Label names in id order. */
export function labelNames(c: LabelConfig): string[] {
  const n = numLabelsOf(c);
  return Array.from({ length: n }, (_, i) => c.id2label?.[String(i)] ?? `LABEL_${i}`);
}

/**
 * For each wanted label, its class id in a head whose labels are `have`: by name, or by position
 * when the head has HF's default LABEL_i names. A head of another size, or one without a wanted
 * label, is an InputError that starts with `who`.
 */
export function labelOrder(have: readonly string[], want: readonly string[], who: string): number[] {
  if (have.length !== want.length) {
    throw new InputError(`${who} has a head for ${have.length} labels (${have.join(', ')}), but the training data has ${want.length} (${want.join(', ')})`);
  }
  if (have.every((n, i) => n === `LABEL_${i}`)) return want.map((_, i) => i);
  return want.map((name) => {
    const j = have.indexOf(name);
    if (j < 0) throw new InputError(`${who}'s labels (${have.join(', ')}) are not the training data's (${want.join(', ')})`);
    return j;
  });
}

/** HF's loss for sequence classification heads: MSE for one output (regression), else cross-entropy. */
export function classificationLoss(logits: Tensor, labels: Ids, c: LabelConfig): Tensor {
  const n = logits.shape[logits.ndim - 1]!;
  if (n === 1 || c.problem_type === 'regression') {
    const target = (isTensor(labels) ? labels.float() : tensor((labels as number[]).flat())).reshape(logits.shape);
    return logits.sub(target).square().mean();
  }
  const ids = asIds(labels, 'labels').reshape(-1);
  if (ids.shape[0] !== logits.shape[0]) throw new Error(`labels: ${ids.shape[0]} labels for a batch of ${logits.shape[0]}`);
  return crossEntropy(logits, ids);
}
