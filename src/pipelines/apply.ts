// Running a fine-tuned model on new input, and scoring it on labelled data: what `tlm classify`,
// `tlm answer`, `tlm eval --task` and a server share. Models load from HF-layout directories, with
// an optional PEFT adapter on top.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { Tokenizer } from '../tokenizers/index.js';
import {
  asTask, fromPretrainedForTask, loadPeftAdapter, PromptLearningModel, ClozeClassifier, labelNames, type PreTrainedModel, type SequenceClassificationModel,
  type QuestionAnsweringModel, type TaskName, type TaskModels,
} from '../models/index.js';
import { argmax, classificationMetrics, classifyEncoded, encodeRows } from '../tasks/classify_task.js';
import { answerQuestions } from '../tasks/qa_task.js';
import { prepareQaFeatures, questionMatchTypeOf } from '../tasks/qa_features.js';
import { QaFeatureError, type QaExample, type QaPrediction } from '../tasks/qa.js';
import { squad } from '../tasks/metrics/squad.js';
import { loadModelDir } from './model_dir.js';
import type { TableRow } from '../tasks/table.js';

/** Beside a classifier's PEFT adapter: the labels of its head ({ id2label, label2id }), which PEFT's files do not hold. */
export const ADAPTER_LABELS = 'labels.json';

export interface TaskPipeline<T extends TaskName> {
  model: TaskModels[T] & PreTrainedModel;
  tokenizer: Tokenizer;
  padId: number;
}

/**
 * The model in dir as a model of `task`, in eval mode. With adapterDir, dir is the base model and the
 * PEFT adapter there is applied on top (its tokenizer.json, when it has one, is used).
 */
export async function loadTaskModel<T extends TaskName>(dir: string, task: T, o: { adapter?: string; command?: string } = {}): Promise<TaskPipeline<T>> {
  const command = o.command ?? 'tlm';
  let model: PreTrainedModel, tokenizer: Tokenizer;
  if (o.adapter) {
    if (!existsSync(join(o.adapter, 'adapter_config.json'))) throw new InputError(`${command}: no adapter in ${o.adapter}: adapter_config.json is missing`);
    const loaded = await loadModelDir(dir, command);
    tokenizer = existsSync(join(o.adapter, 'tokenizer.json')) ? await Tokenizer.fromFile(join(o.adapter, 'tokenizer.json')) : loaded.tokenizer;
    // The base as the task's head (a masked-LM base becomes a classifier), labels (and pooling) from the adapter's labels.json.
    const labelsFile = join(o.adapter, ADAPTER_LABELS);
    const overrides = existsSync(labelsFile) ? JSON.parse(readFileSync(labelsFile, 'utf8')) as Record<string, unknown> : {};
    if (!(loaded.tasks as string[]).includes(task)) {
      loaded.model.dispose();
      loaded.model = await fromPretrainedForTask(dir, task, { configOverrides: overrides, warn: () => {} });
    }
    model = loaded.model;
    let handle;
    try {
      handle = await loadPeftAdapter(model, o.adapter);
    } catch (err) {
      throw new InputError(`${command}: cannot apply the adapter in ${o.adapter}: ${(err as Error).message}`);
    }
    // LoRA changes the model in place; a prompt runs through its handle, which takes the model's inputs.
    if (handle instanceof PromptLearningModel) {
      asTask(model, task, `${command}: ${dir}`);
      handle.eval();
      const cfg = model.config as { pad_token_id?: number | null };
      return { model: handle as unknown as TaskModels[T] & PreTrainedModel, tokenizer, padId: cfg.pad_token_id ?? tokenizer.tokenToId('[PAD]') ?? 0 };
    }
  } else {
    const loaded = await loadModelDir(dir, command);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
  }
  model.eval();
  const m = asTask(model, task, `${command}: ${dir}`) as TaskModels[T] & PreTrainedModel;
  const cfg = model.config as { pad_token_id?: number | null };
  const padId = cfg.pad_token_id ?? tokenizer.tokenToId('[PAD]') ?? 0;
  return { model: m, tokenizer, padId };
}

export interface Classification {
  label: string;
  /** Probability of each label, in label-id order (see labels). */
  probs: number[];
}

/** Labels and probabilities of texts (or text pairs), in input order. */
export async function classifyTexts(p: TaskPipeline<'sequence-classification'>, inputs: readonly (string | { text: string; textPair?: string })[],
                                    o: { maxLength?: number; batchSize?: number } = {}): Promise<{ labels: string[]; results: Classification[] }> {
  const rows: TableRow[] = inputs.map((x, i) => (typeof x === 'string' ? { text: x, line: i + 1 } : { ...x, line: i + 1 }));
  const maxLength = o.maxLength ?? maxPositions(p.model);
  const enc = encodeRows(p.tokenizer, rows, { maxLength });
  const { probs } = await classifyEncoded(p.model as SequenceClassificationModel, enc, p.padId, o.batchSize ?? 32);
  const labels = labelNames(p.model.config as never);
  return { labels, results: probs.map((pr) => ({ label: labels[argmax(pr)] ?? String(argmax(pr)), probs: Array.from(pr) })) };
}

/** Accuracy, macro-F1 and MCC of the model on labelled rows; labels must be the model's. */
export async function evaluateClassifier(p: TaskPipeline<'sequence-classification'>, rows: readonly TableRow[], o: { maxLength?: number; source?: string } = {}): Promise<Record<string, number>> {
  const label2id = (p.model.config as { label2id?: Record<string, number> }).label2id
    ?? Object.fromEntries(labelNames(p.model.config as never).map((n, i) => [n, i]));
  const enc = encodeRows(p.tokenizer, rows, { maxLength: o.maxLength ?? maxPositions(p.model), label2id, source: o.source });
  const { probs, loss } = await classifyEncoded(p.model as SequenceClassificationModel, enc, p.padId);
  return { eval_loss: loss, ...classificationMetrics(probs.map(argmax), enc.map((r) => r.label)), examples: enc.length };
}

/** The longest input the model takes: its positions, less a prompt's virtual tokens (which come first). */
function maxPositions(model: PreTrainedModel): number {
  const c = model.config as { max_position_embeddings?: number; n_positions?: number };
  const prompt = (model as unknown as { numVirtualTokens?: number }).numVirtualTokens ?? 0;
  return Math.min(c.max_position_embeddings ?? c.n_positions ?? 512, 512) - prompt;
}

export interface QaAnswerOptions {
  maxLength?: number;
  docStride?: number;
  maxAnswerLength?: number;
  /** Answers of whole words only (default true; false: HF's postprocessing, which may cut a word). */
  wholeWords?: boolean;
}

/** Answers to questions about contexts (any length: read in overlapping windows). */
export async function answer(p: TaskPipeline<'question-answering'>, examples: QaExample[],
                             o: QaAnswerOptions = {}): Promise<QaPrediction[]> {
  const maxLength = o.maxLength ?? Math.min(384, maxPositions(p.model));
  let features;
  try {
    features = prepareQaFeatures(p.tokenizer, examples.map((e) => ({ id: e.id, question: e.question, context: e.context })),
      { maxLength, docStride: o.docStride ?? Math.min(128, Math.floor(maxLength / 3)), questionMatchTypeId: questionMatchTypeOf(p.model.config) });
  } catch (err) {
    if (err instanceof QaFeatureError) throw new InputError(err.message);
    throw err;
  }
  return answerQuestions(p.model as QuestionAnsweringModel, examples, features, p.padId, { maxAnswerLength: o.maxAnswerLength, wholeWords: o.wholeWords ?? true });
}

/** SQuAD v1.1 exact match and F1 of the model on examples with gold answers. */
export async function evaluateQa(p: TaskPipeline<'question-answering'>, examples: QaExample[], o: QaAnswerOptions = {}): Promise<Record<string, number>> {
  const preds = await answer(p, examples, o);
  const s = squad(preds.map((x) => x.text), examples.map((e) => (e.answers ?? []).map((a) => a.text)));
  return { exact_match: s.exactMatch, f1: s.f1, examples: examples.length };
}


/** "1=great,good" flags → { "1": ["great", "good"] }, checked. */
export function parseVerbalizer(specs: readonly string[], command = 'tlm'): Record<string, string[]> {
  const v: Record<string, string[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    if (!m) throw new InputError(`${command}: --verbalizer must be LABEL=word[,word...], got '${spec}'`);
    v[m[1]!] = m[2]!.split(',').map((w) => w.trim()).filter((w) => w !== '');
  }
  if (Object.keys(v).length < 2) throw new InputError(`${command}: give --verbalizer for at least two labels (e.g. --verbalizer 1=great --verbalizer 0=terrible)`);
  return v;
}

/**
 * Zero-shot classification with a masked LM and a cloze prompt (PET): each text fills the template,
 * and the label whose verbalizer words are likeliest at the mask wins. Probabilities are the softmax
 * of the labels' scores.
 */
export async function clozeClassify(dir: string, inputs: readonly string[], template: string, verbalizer: Record<string, string[]>,
                                    command = 'tlm'): Promise<{ labels: string[]; results: Classification[] }> {
  const { model, tokenizer } = await loadModelDir(dir, command);
  const mlm = asTask(model, 'masked-lm', `${command}: ${dir}`);
  let clf: ClozeClassifier;
  try {
    clf = new ClozeClassifier(mlm, tokenizer, { template, verbalizer });
  } catch (err) {
    throw new InputError(`${command}: ${(err as Error).message}`);
  }
  mlm.eval();
  // Texts are cut (at a token boundary) so that the filled template fits the model's positions.
  const positions = maxPositions(model);
  const overhead = tokenizer.encode(template.replace('{text}', ''), { addSpecialTokens: true }).ids.length;
  const fit = inputs.map((t) => {
    const enc = tokenizer.encode(t, { addSpecialTokens: false });
    const room = positions - overhead;
    return enc.ids.length <= room ? t : t.slice(0, room > 0 ? enc.offsets[room - 1]![1] : 0);
  });
  const results: Classification[] = [];
  for (let i = 0; i < fit.length; i += 64) {
    for (const r of await clf.predict(fit.slice(i, i + 64))) {
      const scores = clf.labels.map((l) => r.scores[l]!);
      const top = Math.max(...scores);
      const exp = scores.map((x) => Math.exp(x - top)), sum = exp.reduce((a, b) => a + b, 0);
      results.push({ label: r.label, probs: exp.map((e) => e / sum) });
    }
  }
  return { labels: clf.labels, results };
}

/** Zero-shot cloze metrics on labelled rows (labels must be the verbalizer's). */
export async function evaluateCloze(dir: string, rows: readonly TableRow[], template: string, verbalizer: Record<string, string[]>, command = 'tlm'): Promise<Record<string, number>> {
  const unknown = rows.find((r) => r.label === undefined || !(r.label in verbalizer));
  if (unknown) throw new InputError(`${command}: line ${unknown.line}: label '${unknown.label}' has no --verbalizer (labels: ${Object.keys(verbalizer).join(', ')})`);
  const { labels, results } = await clozeClassify(dir, rows.map((r) => r.text), template, verbalizer, command);
  const gold = rows.map((r) => labels.indexOf(r.label!)), preds = results.map((r) => labels.indexOf(r.label));
  return { ...classificationMetrics(preds, gold), examples: rows.length };
}
