// Knowledge distillation's teacher side: fine-tuned classifiers (one, or an ensemble) label the
// training rows with their class distributions at the distillation temperature, once before training;
// the student then learns from these soft targets beside the gold labels (see distillationLoss).

import { InputError } from '../errors.js';
import { labelNames, labelOrder } from '../models/index.js';
import type { TableRow } from '../tasks/table.js';
import { classifyTexts, loadTaskModel } from './apply.js';

export interface TeacherOptions {
  /** The student's labels, in its label-id order: each teacher's distribution is reordered to it. */
  labels: readonly string[];
  maxLength: number;
  temperature: number;
  command?: string;
  log?: (s: string) => void;
}

/**
 * The mean over the teachers of each row's class distribution softened at the temperature
 * (softmax(logits / T)), in the student's label order. Each teacher reads the rows with its own
 * tokenizer, so teachers of another vocabulary or size may teach.
 */
export async function teacherDistributions(dirs: readonly string[], rows: readonly TableRow[], o: TeacherOptions): Promise<Float32Array[]> {
  const command = o.command ?? 'tlm finetune';
  if (dirs.length === 0) throw new InputError(`${command}: distillation needs at least one --teacher`);
  if (!(o.temperature > 0)) throw new InputError(`${command}: --distill-temperature must be > 0, got ${o.temperature}`);
  const C = o.labels.length;
  const sum = rows.map(() => new Float64Array(C));
  for (const dir of dirs) {
    const t0 = Date.now();
    const p = await loadTaskModel(dir, 'sequence-classification', { command: `${command} --teacher` });
    try {
      // The labels first: a teacher of other labels is refused before it reads anything.
      const order = labelOrder(labelNames(p.model.config as never), o.labels, `${command}: teacher ${dir}`);
      const { results } = await classifyTexts(p, rows, { maxLength: o.maxLength, batchSize: 64 });
      results.forEach(({ probs: pr }, i) => {
        // softmax(logits / T) from softmax(logits): p^(1/T), renormalised (log-space, so confident rows stay finite).
        const l = order.map((j) => Math.log(Math.max(pr[j]!, 1e-30)) / o.temperature);
        const top = Math.max(...l), e = l.map((x) => Math.exp(x - top)), z = e.reduce((a, b) => a + b, 0);
        e.forEach((x, c) => { sum[i]![c]! += x / z; });
      });
    } finally {
      p.model.dispose();
    }
    o.log?.(`teacher ${dir}: labelled ${rows.length.toLocaleString()} rows in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  return sum.map((s) => Float32Array.from(s, (x) => x / dirs.length));
}
