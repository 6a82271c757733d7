// Classification metrics with scikit-learn's semantics: the label set is the sorted union of the
// labels seen in preds and labels (np.unique), an undefined precision/recall/MCC counts as 0.
// Argument order is (preds, labels), as in HF evaluate's compute(predictions, references).

export type Label = string | number;

export interface ConfusionMatrix {
  /** The classes, sorted; row i / column j of `matrix` is classes[i] / classes[j]. */
  classes: Label[];
  /** matrix[i][j] = how many examples of true class i were predicted as class j (sklearn layout). */
  matrix: number[][];
}

function checkPair(preds: readonly Label[], labels: readonly Label[], fn: string): void {
  if (!Array.isArray(preds)) throw new Error(`${fn}: preds must be an array, got ${typeof preds}`);
  if (!Array.isArray(labels)) throw new Error(`${fn}: labels must be an array, got ${typeof labels}`);
  if (preds.length !== labels.length) throw new Error(`${fn}: preds has ${preds.length} entries but labels has ${labels.length}`);
  if (preds.length === 0) throw new Error(`${fn}: preds and labels are empty`);
  let kind: string | undefined;
  for (const [what, arr] of [['preds', preds], ['labels', labels]] as const) {
    for (let i = 0; i < arr.length; i++) {
      const t = typeof arr[i];
      if (t !== 'string' && t !== 'number') throw new Error(`${fn}: ${what}[${i}] must be a string or a number, got ${arr[i] === null ? 'null' : t}`);
      if (t === 'number' && Number.isNaN(arr[i])) throw new Error(`${fn}: ${what}[${i}] is NaN`);
      kind ??= t;
      if (t !== kind) throw new Error(`${fn}: ${what}[${i}] is a ${t} but earlier labels are ${kind}s; use one type`);
    }
  }
}

/** Sorted, as numpy sorts: numbers by value, strings by code point. */
export function sortLabels<T extends Label>(values: Iterable<T>): T[] {
  return [...new Set(values)].sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return compareCodePoints(String(a), String(b));
  });
}

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a), y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Fraction of positions where preds[i] === labels[i] (sklearn accuracy_score). */
export function accuracy(preds: readonly Label[], labels: readonly Label[]): number {
  checkPair(preds, labels, 'accuracy');
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return hit / preds.length;
}

/**
 * sklearn confusion_matrix(y_true=labels, y_pred=preds). `classes` fixes the rows/columns
 * (and their order); by default the sorted union of both arrays.
 */
export function confusionMatrix(preds: readonly Label[], labels: readonly Label[], options: { classes?: readonly Label[] } = {}): ConfusionMatrix {
  checkPair(preds, labels, 'confusionMatrix');
  const classes = options.classes ? [...options.classes] : sortLabels([...labels, ...preds]);
  if (classes.length === 0) throw new Error('confusionMatrix: classes is empty');
  const index = new Map<Label, number>();
  classes.forEach((c, i) => {
    if (index.has(c)) throw new Error(`confusionMatrix: classes lists ${JSON.stringify(c)} twice`);
    index.set(c, i);
  });
  const matrix = classes.map(() => new Array<number>(classes.length).fill(0));
  for (let k = 0; k < preds.length; k++) {
    // As sklearn: examples whose true or predicted label is not among `classes` are left out.
    const i = index.get(labels[k]!), j = index.get(preds[k]!);
    if (i !== undefined && j !== undefined) matrix[i]![j]!++;
  }
  return { classes, matrix };
}

/** Per-class F1 (sklearn f1_score(average=None)); 0 where precision + recall is 0. */
export function f1PerClass(preds: readonly Label[], labels: readonly Label[]): { classes: Label[]; f1: number[] } {
  checkPair(preds, labels, 'f1PerClass');
  const { classes, matrix } = confusionMatrix(preds, labels);
  const f1 = classes.map((_, c) => {
    const tp = matrix[c]![c]!;
    let predicted = 0, actual = 0;
    for (let k = 0; k < classes.length; k++) { predicted += matrix[k]![c]!; actual += matrix[c]![k]!; }
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = actual === 0 ? 0 : tp / actual;
    return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  });
  return { classes, f1 };
}

/** Unweighted mean of the per-class F1 over every class seen in preds or labels (sklearn average='macro'). */
export function macroF1(preds: readonly Label[], labels: readonly Label[]): number {
  checkPair(preds, labels, 'macroF1');
  const { f1 } = f1PerClass(preds, labels);
  return f1.reduce((a, b) => a + b, 0) / f1.length;
}

/**
 * Matthews correlation coefficient, multiclass form (Gorodkin's R_K, as sklearn computes it):
 * (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)), with c correct, s samples, t_k / p_k the
 * true / predicted counts of class k. 0 when the denominator is 0 (a constant prediction or label).
 */
export function matthewsCorrcoef(preds: readonly Label[], labels: readonly Label[]): number {
  checkPair(preds, labels, 'matthewsCorrcoef');
  const { classes, matrix } = confusionMatrix(preds, labels);
  const n = classes.length;
  const trueSum = new Array<number>(n).fill(0), predSum = new Array<number>(n).fill(0);
  let correct = 0, samples = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) { trueSum[i]! += matrix[i]![j]!; predSum[j]! += matrix[i]![j]!; samples += matrix[i]![j]!; }
    correct += matrix[i]![i]!;
  }
  let tp = 0, pp = 0, tt = 0;
  for (let k = 0; k < n; k++) { tp += trueSum[k]! * predSum[k]!; pp += predSum[k]! ** 2; tt += trueSum[k]! ** 2; }
  const covYtYp = correct * samples - tp;
  const covYpYp = samples * samples - pp;
  const covYtYt = samples * samples - tt;
  if (covYpYp === 0 || covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}
