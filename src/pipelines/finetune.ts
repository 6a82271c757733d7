// Fine-tuning as a library call: a pretrained (or fresh) model + a labelled file → a task model.
// Classification (sentiment, sentence pairs) and extractive QA; full fine-tuning, LoRA, or only the
// task head (a linear probe on frozen features). The output directory holds an HF-layout model (or a
// PEFT adapter) rewritten at every new best evaluation, checkpoints for --resume, metrics.jsonl and
// plots, under the same run-directory rules as pretraining (lock, refusal of a used directory).

import { join } from 'node:path';
import { InputError, withFsContext } from '../errors.js';
import { manualSeed } from '../tensor/random.js';
import { Tokenizer } from '../tokenizers/index.js';
import { trainWordPiece } from '../tokenizers/presets.js';
import {
  BertForQuestionAnswering, BertForSequenceClassification, bertConfig, fromPretrainedForTask, labelMaps, labelNames, labelOrder,
  applyLora, freshModules, applyPromptTuning, applyPrefixTuning, saveAdapter, type PreTrainedModel, type SequenceClassificationModel,
} from '../models/index.js';
import type { LoraModel } from '../nn/lora_model.js';
import type { PromptLearningModel } from '../models/prompt_model.js';
import type { PromptInit } from '../models/prompt_init.js';
import { Trainer, type TrainingArguments } from '../train/trainer.js';
import { parameterDepth } from '../train/param_groups.js';
import type { TrainingTask } from '../train/task.js';
import { labelsFrom } from '../tasks/table.js';
import { encodeRows, SequenceClassificationTask } from '../tasks/classify_task.js';
import { QuestionAnsweringTask } from '../tasks/qa_task.js';
import { prepareQaFeatures, questionMatchTypeOf } from '../tasks/qa_features.js';
import { hasPositionTable } from '../models/positions.js';
import { QaFeatureError } from '../tasks/qa_types.js';
import { openRunDir, type RunSettings } from './run_dir.js';
import { ADAPTER_LABELS } from './apply.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSquadFile, readTableFile, parseRange, type TableColumns } from './finetune_data.js';
import { checkTrainingArguments } from './pretrain.js';
import { teacherDistributions } from './distill.js';

export type FinetuneTask = 'classify' | 'qa';
export type FinetuneMethod = 'full' | 'lora' | 'head' | 'prompt' | 'prefix';

export interface ScratchModel {
  arch: 'bert';
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocabSize: number;
  dropout: number;
  /** Pre-norm layers and a final LayerNorm (a tlm extension of BERT). */
  normFirst?: boolean;
  /** Position scheme (default: BERT's learned absolute positions); see BertConfig.position_embedding_type. */
  position?: string;
  /** Keep case and accents in the WordPiece vocabulary trained on the training texts (default: uncased, as BERT's). */
  cased?: boolean;
}

export interface FinetuneOptions extends RunSettings {
  task: FinetuneTask;
  /** An HF-layout model directory (tlm's or HF Transformers'), or fromScratch. */
  model?: string;
  fromScratch?: ScratchModel;
  train: string;
  eval: string;
  format?: string;
  columns?: TableColumns;
  /** SQuAD files: the article ranges ("0:38", "38:") that train and evaluate. */
  trainArticles?: string;
  evalArticles?: string;
  /** Tokens per input, special tokens included (default: 128, or 384 for QA, within the model's positions). */
  maxLength?: number;
  docStride?: number;
  /** Classification with BERT: what the pooler reads, the [CLS] state or the mean of the tokens' (default: the checkpoint's, else cls). */
  pooling?: 'cls' | 'mean';
  /** Classification with BERT: 'none' hands the pooled state to the classifier without the pooler's dense + tanh (default: the checkpoint's, else dense). */
  pooler?: 'dense' | 'none';
  /** QA: give context tokens that occur in the question a token type of their own (a BERT extension; see prepareQaFeatures). */
  questionMatch?: boolean;
  /** QA: evaluation answers of whole words only (default true; false: HF's postprocessing, which may cut a word). */
  wholeWords?: boolean;
  method: FinetuneMethod;
  lora?: { r: number; alpha: number; dropout: number; targets?: string[]; modulesToSave?: string[]; rankPattern?: Record<string, number>; alphaPattern?: Record<string, number> };
  /** Save a LoRA run as a merged full model instead of an adapter. */
  merge?: boolean;
  /** Prompt and prefix tuning: virtual tokens, the prefix's MLP reparameterization, heads trained beside the prompt. */
  /** init: where the virtual tokens start (default: 'vocab' for a prompt, 'random' for a prefix; see PromptInit). */
  prompt?: { numVirtualTokens: number; prefixProjection?: boolean; modulesToSave?: string[]; init?: 'random' | 'vocab' | { text: string } };
  freezeEmbeddings?: boolean;
  freezeLayers?: number;
  batchSize: number;
  /** Passes over the training data; maxIters wins when given. */
  epochs?: number;
  /** Classification: knowledge distillation from fine-tuned classifiers (their mean distribution); see distillationLoss. */
  distill?: { teachers: string[]; alpha: number; temperature: number };
  /** Average the last N step checkpoints at the end (fairseq's), kept if it beats the best checkpoint. */
  averageLast?: number;
  args: Omit<TrainingArguments, 'maxIters' | 'lrDecayIters' | 'evalInterval'> & { maxIters?: number; evalInterval?: number };
}

export interface FinetuneResult {
  outDir: string;
  metrics: Record<string, number>;
  bestMetric: number;
  metricName: string;
  steps: number;
  seconds: number;
  trainableParameters: number;
  totalParameters: number;
  interrupted: boolean;
}

/** The head classes' inputs: token type ids only for models that have segment embeddings. */
function padIdOf(tok: Tokenizer, model: PreTrainedModel): number {
  const cfg = model.config as { pad_token_id?: number | null };
  return cfg.pad_token_id ?? tok.tokenToId('[PAD]') ?? tok.tokenToId('<pad>') ?? tok.tokenToId('<|endoftext|>') ?? 0;
}

/** Freezes parameters by role in the model: embeddings, and the first n transformer layers. */
function freeze(model: PreTrainedModel, o: { embeddings?: boolean; layers?: number }): void {
  for (const [name, p] of model.namedParameters()) {
    const depth = parameterDepth(name);
    if (depth === 'embeddings' ? o.embeddings || o.layers : depth !== null && depth < (o.layers ?? 0)) p.requiresGrad_(false);
  }
}

/** Only the task head trains (a linear probe on the frozen encoder's features). */
function freezeAllButHead(model: PreTrainedModel): void {
  const base = (model as unknown as { baseModelPrefix: string }).baseModelPrefix;
  for (const [name, p] of model.namedParameters()) if (name.startsWith(base + '.')) p.requiresGrad_(false);
}

// PEFT's defaults per model_type (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
const DEFAULT_LORA_TARGETS: Record<string, string[]> = { bert: ['query', 'value'], gpt2: ['c_attn'], llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'], mistral: ['q_proj', 'v_proj'] };

export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const command = o.command ?? 'tlm finetune';
  const log = o.log ?? ((s: string) => console.error(s));
  if (!o.model && !o.fromScratch) throw new InputError(`${command}: --model DIR or --from-scratch is required`);
  if (o.model && o.fromScratch) throw new InputError(`${command}: --model and --from-scratch exclude each other`);
  if (o.method !== 'full' && o.fromScratch) throw new InputError(`${command}: --method ${o.method} trains part of a pretrained model; from scratch, use --method full`);
  const run = openRunDir(o.out, { resume: o.resume, overwrite: o.overwrite, command, log });
  try {
    manualSeed(o.args.seed);
    const setup = await prepare(o, command, log);
    const { model, task, tok, lora, prompt } = setup;
    // What trains and is checkpointed: the prompt handle (which runs the model with its prompt), or the model.
    const trained = prompt ?? model;
    const all = model.numParameters();
    const trainable = trained.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    log(`model: ${model.architecture}, ${(all / 1e6).toFixed(2)}M parameters, ${trainable.toLocaleString()} trainable (${(100 * trainable / all).toFixed(2)}%); method ${o.method}`);

    const stepsPerEpoch = task.stepsPerEpoch;
    const accum = o.args.gradAccum;
    const maxIters = o.args.maxIters ?? Math.ceil((o.epochs ?? 3) * stepsPerEpoch / accum);
    const cfg: TrainingArguments = {
      ...o.args, maxIters, lrDecayIters: maxIters,
      evalInterval: o.args.evalInterval ?? Math.max(1, Math.ceil(stepsPerEpoch / accum)),
      ...(o.averageLast && o.averageLast > 1 ? { keepCheckpoints: o.averageLast } : {}),
    };
    checkTrainingArguments(cfg, command);
    log(`data: ${stepsPerEpoch} batches of ${o.batchSize} per epoch; ${maxIters} steps (${(maxIters * accum / stepsPerEpoch).toFixed(2)} epochs), evaluating every ${cfg.evalInterval}`);

    const save = () => saveOutput(o.out, model, tok, { lora, prompt });
    const trainer = new Trainer(trained, task, cfg, o.out,
      { architecture: { task: o.task, method: o.method, type: model.architecture, labels: (model.config as { id2label?: unknown }).id2label ?? null } });
    if (o.resume) {
      if (await trainer.resume()) log(`resumed from step ${trainer.step}`);
      else log(`no checkpoint in ${join(o.out, 'checkpoints')}: starting from scratch`);
    }
    const finalSave = async () => {
      const note = await trainer.loadFinal(o.averageLast);
      if (note !== null) log(note);
      await save();
      if (lora && o.merge) {
        // The adapter stays; beside it, the base model with the adapter folded into its weights.
        await withFsContext('save the merged model to', o.out, () => lora.mergeAndUnload().savePretrained(o.out));
        log(`merged the adapter into the base weights: ${o.out} also holds the full model`);
      }
    };
    const res = await trainer.run({ quiet: o.quiet, stop: o.stop, onBest: save, onEnd: finalSave });
    const name = trainer.metricName;
    log(res.interrupted
      ? `interrupted at step ${res.step}: checkpoint saved (continue with --resume); ${o.out} holds the best model so far (${name} ${res.bestMetric.toFixed(4)})`
      : `done: ${res.step} steps in ${res.seconds.toFixed(1)}s; best ${name} ${res.bestMetric.toFixed(4)}; saved to ${o.out}`);
    return { outDir: o.out, metrics: res.lastMetrics, bestMetric: res.bestMetric, metricName: name, steps: res.step, seconds: res.seconds,
      trainableParameters: trainable, totalParameters: all, interrupted: res.interrupted };
  } finally {
    run.release();
  }
}

interface Setup {
  model: PreTrainedModel;
  task: TrainingTask & { stepsPerEpoch: number };
  tok: Tokenizer;
  lora: LoraModel<PreTrainedModel> | null;
  /** Prompt or prefix tuning: the handle that runs the model with its prompt (what trains). */
  prompt: PromptLearningModel<PreTrainedModel> | null;
  /** Tokens per input, as resolved against the model's positions. */
  maxLength: number;
}

type Adapters = Pick<Setup, 'lora' | 'prompt'>;

async function prepare(o: FinetuneOptions, command: string, log: (s: string) => void): Promise<Setup> {
  const cols = o.columns ?? { textColumn: 'text', labelColumn: 'label' };
  const text = { lossyUtf8: o.lossyUtf8 };
  if (o.task === 'classify') {
    const trainRows = readTableFile(o.train, cols, { format: o.format, what: 'training file', ...text });
    const evalRows = readTableFile(o.eval, cols, { format: o.format, what: 'evaluation file', ...text });
    if (!cols.labelColumn) throw new InputError(`${command}: --label-column is required for classification`);
    const labels = labelsFrom(trainRows);
    if (labels.length < 2) throw new InputError(`${command}: the training file ${o.train} has only one label (${labels[0]}); classification needs two or more`);
    const tok = o.model ? await loadTokenizer(o.model, command)
      : scratchTokenizer(trainRows.flatMap((r) => r.textPair !== undefined ? [r.text, r.textPair] : [r.text]), o.fromScratch!, log);
    const model = o.model ? await classifierFrom(o.model, labels, command, log, o.pooling, o.pooler) : scratchModel(o, tok, labelMaps(labels));
    const label2id = (model.config as unknown as { label2id: Record<string, number> }).label2id;
    const maxLength = resolveMaxLength(o, model, command);
    const adapters = applyMethod(model, o, tok, log);
    const padId = padIdOf(tok, model);
    const enc = (rows: typeof trainRows, source: string) => encodeRows(tok, rows, { maxLength, label2id, source });
    const train = enc(trainRows, o.train);
    if (o.distill) {
      const soft = await teacherDistributions(o.distill.teachers, trainRows, { labels: labelNames(model.config as never), maxLength, temperature: o.distill.temperature, command, log });
      train.forEach((r, i) => { r.teacher = soft[i]; });
    }
    const task = new SequenceClassificationTask(train, enc(evalRows, o.eval), { batchSize: o.batchSize, padId,
      ...(o.distill ? { distill: { alpha: o.distill.alpha, temperature: o.distill.temperature } } : {}) });
    return { model, task: task as unknown as Setup['task'], tok, ...adapters, maxLength };
  }
  if (o.distill) throw new InputError(`${command}: distillation (--teacher) trains classifiers; it is not implemented for --task ${o.task}`);
  const trainEx = readSquadFile(o.train, parseRange(o.trainArticles, '--train-articles'), { what: 'training file', ...text });
  const evalEx = readSquadFile(o.eval, parseRange(o.evalArticles, '--eval-articles'), { what: 'evaluation file', ...text });
  const tok = o.model ? await loadTokenizer(o.model, command)
    : scratchTokenizer([...new Set(trainEx.map((e) => e.context))].concat(trainEx.map((e) => e.question)), o.fromScratch!, log);
  const model = o.model ? await fromPretrainedForTask(o.model, 'question-answering', { warn: log }) : scratchModel(o, tok, null);
  if (o.questionMatch) {
    if (!(model instanceof BertForQuestionAnswering)) throw new InputError(`${command}: --question-match needs a BERT model, not ${model.architecture}`);
    model.enableQuestionMatch();
  }
  const questionMatchTypeId = questionMatchTypeOf(model.config);
  const maxLength = resolveMaxLength(o, model, command);
  const adapters = applyMethod(model, o, tok, log);
  const padId = padIdOf(tok, model);
  const feats = (ex: typeof trainEx, file: string) => {
    try {
      return prepareQaFeatures(tok, ex, { maxLength, docStride: o.docStride ?? Math.min(128, Math.floor(maxLength / 3)), questionMatchTypeId });
    } catch (err) {
      if (err instanceof QaFeatureError) throw new InputError(`${file}: ${err.message}`);
      throw err;
    }
  };
  const task = new QuestionAnsweringTask(feats(trainEx, o.train), evalEx, feats(evalEx, o.eval), { batchSize: o.batchSize, padId, wholeWords: o.wholeWords });
  log(`data: ${trainEx.length} training questions (${task.trainFeatures.length} windows), ${evalEx.length} evaluation questions`);
  return { model, task: task as unknown as Setup['task'], tok, ...adapters, maxLength };
}

/**
 * Tokens per input: as given, or 128 (QA 384) within what the model takes; a prompt's virtual
 * tokens take positions before the text's (HF's past length), so they count against the model's.
 */
function resolveMaxLength(o: FinetuneOptions, model: PreTrainedModel, command: string): number {
  const c = model.config as { max_position_embeddings?: number; n_positions?: number };
  // Positions without a table (ALiBi, RoPE, clipped relative, none) take inputs longer than pretraining's.
  const positions = hasPositionTable(model.config) ? c.max_position_embeddings ?? c.n_positions ?? Infinity : Infinity;
  const prompt = o.method === 'prompt' || o.method === 'prefix' ? o.prompt?.numVirtualTokens ?? 20 : 0;
  const room = positions - prompt;
  if (o.maxLength === undefined) return Math.min(o.task === 'qa' ? 384 : 128, room);
  if (o.maxLength > room) {
    throw new InputError(`${command}: --max-length ${o.maxLength}${prompt ? ` plus --num-virtual-tokens ${prompt}` : ''} exceeds the model's ${positions} positions; use --max-length ${room} or fewer`);
  }
  return o.maxLength;
}

async function loadTokenizer(dir: string, command: string): Promise<Tokenizer> {
  try {
    return await Tokenizer.fromPretrained(dir);
  } catch (err) {
    throw new InputError(`${command}: no tokenizer in ${dir}: ${(err as Error).message}`);
  }
}

function scratchTokenizer(texts: string[], s: ScratchModel, log: (s: string) => void): Tokenizer {
  const t0 = Date.now();
  const tok = trainWordPiece(texts, { vocabSize: s.vocabSize, lowercase: s.cased !== true });
  log(`tokenizer: WordPiece${s.cased ? ' (cased)' : ''}, ${tok.vocabSize} tokens trained on the training texts in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return tok;
}

/** A BERT head model with fresh weights, sized by the scratch options. */
function scratchModel(o: FinetuneOptions, tok: Tokenizer, labels: ReturnType<typeof labelMaps> | null): PreTrainedModel {
  const s = o.fromScratch!;
  const cfg = bertConfig({ vocab_size: tok.vocabSize, hidden_size: s.nEmbd, num_hidden_layers: s.nLayer, num_attention_heads: s.nHead,
    intermediate_size: 4 * s.nEmbd, max_position_embeddings: Math.max(o.maxLength ?? (o.task === 'qa' ? 384 : 128), 64), hidden_dropout_prob: s.dropout,
    attention_probs_dropout_prob: s.dropout, pad_token_id: tok.tokenToId('[PAD]') ?? 0, ...(labels ?? {}),
    ...(s.normFirst ? { norm_first: true } : {}), ...(o.pooling ? { classifier_pooling: o.pooling } : {}), ...(o.pooler ? { pooler_dense: o.pooler === 'dense' } : {}), ...(s.position && s.position !== 'learned' ? { position_embedding_type: s.position } : {}) });
  return o.task === 'classify' ? new BertForSequenceClassification(cfg) : new BertForQuestionAnswering(cfg);
}

/**
 * A classifier for `labels` from a checkpoint: a base or MLM checkpoint gets a fresh head with these
 * labels; a classifier keeps its head when its labels are the data's in the data's order (or HF's
 * default LABEL_i names, as many), and is refused otherwise (see labelOrder).
 */
async function classifierFrom(dir: string, labels: string[], command: string, log: (s: string) => void, pooling?: 'cls' | 'mean', pooler?: 'dense' | 'none'): Promise<SequenceClassificationModel & PreTrainedModel> {
  const { readConfig } = await import('../models/modeling.js');
  const cfg = await readConfig(dir);
  const maps = labelMaps(labels);
  if (cfg.id2label && Array.isArray(cfg.architectures) && cfg.architectures.some((a) => /ForSequenceClassification$/.test(String(a)))) {
    const have = labelNames(cfg);
    // The head keeps its rows, which the data's label ids then name: same labels, same order.
    if (labelOrder(have, labels, `${command}: ${dir}`).some((j, i) => j !== i)) {
      throw new InputError(`${command}: ${dir} has the training data's labels in another order (${have.join(', ')}; the data's: ${labels.join(', ')})`);
    }
  }
  const overrides: Record<string, unknown> = { ...maps };
  if ((pooling || pooler) && cfg.model_type !== 'bert') {
    throw new InputError(`${command}: --${pooling ? 'pooling' : 'pooler'} applies to BERT classifiers, not ${String(cfg.model_type)} (GPT-2 reads its last token)`);
  }
  if (pooling) overrides.classifier_pooling = pooling;
  if (pooler) overrides.pooler_dense = pooler === 'dense';
  if (cfg.model_type === 'gpt2' && (cfg.pad_token_id === undefined || cfg.pad_token_id === null)) {
    // GPT-2 has no padding token: as HF users do, pad with EOS (the last real token is found by the mask rule).
    overrides.pad_token_id = cfg.eos_token_id ?? 0;
  }
  return fromPretrainedForTask(dir, 'sequence-classification', { configOverrides: overrides, warn: log });
}

/** Applies the method: LoRA adapters or a prompt (base frozen), head only, or freezing by role for full fine-tuning. */
function applyMethod(model: PreTrainedModel, o: FinetuneOptions, tok: Tokenizer, log: (s: string) => void): Adapters {
  if (o.method === 'head') { freezeAllButHead(model); return { lora: null, prompt: null }; }
  for (const m of o.method === 'full' ? [] : freshModules(model)) log(`${m} is not in the checkpoint (newly initialised): the adapter trains it in full and saves it`);
  if (o.method === 'lora') {
    const l = o.lora ?? { r: 8, alpha: 16, dropout: 0.1 };
    const type = String(model.config.model_type);
    const lora = applyLora(model, { r: l.r, loraAlpha: l.alpha, loraDropout: l.dropout, targetModules: l.targets ?? DEFAULT_LORA_TARGETS[type] ?? ['query', 'value'],
      ...(l.modulesToSave ? { modulesToSave: l.modulesToSave } : {}), ...(l.rankPattern ? { rankPattern: l.rankPattern } : {}),
      ...(l.alphaPattern ? { alphaPattern: l.alphaPattern } : {}), baseModelNameOrPath: o.model ?? null });
    return { lora, prompt: null };
  }
  if (o.method === 'prompt' || o.method === 'prefix') {
    const p = o.prompt ?? { numVirtualTokens: 20 };
    const common = { numVirtualTokens: p.numVirtualTokens, baseModelNameOrPath: o.model ?? null,
      ...(p.modulesToSave ? { modulesToSave: [...taskHeads(model), ...p.modulesToSave] } : {}) };
    const init = p.init ?? (o.method === 'prompt' ? 'vocab' : 'random');
    const from: PromptInit = init === 'vocab' ? 'sample-vocab' : init === 'random' ? 'random' : { text: init.text, tokenizer: tok, ...(o.model ? { tokenizerNameOrPath: o.model } : {}) };
    const prompt = o.method === 'prompt' ? applyPromptTuning(model, { ...common, init: from })
      : applyPrefixTuning(model, { ...common, init: from, prefixProjection: p.prefixProjection ?? false });
    return { lora: null, prompt };
  }
  if (o.freezeEmbeddings || o.freezeLayers) freeze(model, { embeddings: o.freezeEmbeddings, layers: o.freezeLayers });
  return { lora: null, prompt: null };
}

/** The task head's module name in a model (trained in full beside a prompt, as PEFT's modules_to_save). */
function taskHeads(model: PreTrainedModel): string[] {
  const names = new Set([...model.namedModules()].map(([k]) => k));
  return ['classifier', 'score', 'qa_outputs'].filter((h) => names.has(h));
}

/** The run's model as the task's users load it: an HF-layout directory, or a PEFT adapter beside the tokenizer. */
async function saveOutput(dir: string, model: PreTrainedModel, tok: Tokenizer, adapters: Adapters): Promise<void> {
  await withFsContext('save the model to', dir, async () => {
    const handle = adapters.lora ?? adapters.prompt;
    if (handle) {
      await saveAdapter(dir, handle);
      // The head's config beside the adapter: its labels, and the pooler's when it is not the base's default.
      const { id2label, label2id, classifier_pooling: pooling, pooler_dense: dense } = model.config as { id2label?: unknown; label2id?: unknown; classifier_pooling?: string; pooler_dense?: boolean };
      const head = { id2label, label2id, ...(pooling === 'mean' ? { classifier_pooling: pooling } : {}), ...(dense === false ? { pooler_dense: false } : {}) };
      if (id2label) await writeFileAtomic(join(dir, ADAPTER_LABELS), JSON.stringify(head, null, 2) + '\n');
    }
    else await model.savePretrained(dir);
    await tok.save(join(dir, 'tokenizer.json'));
  });
}
