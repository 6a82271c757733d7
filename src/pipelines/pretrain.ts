// Pretraining as a library call: text files → tokenizer → causal or masked LM → an HF-layout model
// directory. The CLI's `tlm train` and `tlm demo` are thin wrappers; a server or notebook calls this.
//
// What the run directory holds at every moment (the durability contract, README "What tlm guarantees"):
// config.json + model.safetensors + tokenizer.json of the best model so far (rewritten atomically at
// each new best), checkpoints/ for --resume, metrics.jsonl; a lock while the run is alive.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { TokenStream, trainValSplit } from '../train/data.js';
import { Trainer, type TrainerConfig, type TrainingArguments } from '../train/trainer.js';
import { manualSeed } from '../tensor/random.js';
import { buildModel, loadModelDir, prepareTokenizer, saveModelDir, mlmOptionsFor, type Architecture, type ModelDims } from './model_dir.js';
import type { LanguageModel } from '../train/trainer.js';
import type { PreTrainedModel } from '../models/index.js';
import { hasPositionTable } from '../models/positions.js';
import { openRunDir, type RunSettings } from './run_dir.js';

export interface PretrainOptions extends RunSettings {
  /** Training text files (UTF-8). */
  data: string[];
  /** 'char', 'bpe' (trained on the data), or a tokenizer.json / model directory. */
  tokenizer: string;
  vocabSize: number;
  model: Omit<ModelDims, 'vocabSize' | 'blockSize' | 'padTokenId'>;
  trainer: TrainerConfig;
  /**
   * Continued pretraining: start from this model directory's weights and tokenizer (HF run_mlm's
   * --model_name_or_path), e.g. on the task's own text (task-adaptive pretraining). `model` and
   * `tokenizer` are then the directory's.
   */
  initFrom?: string;
}

export interface PretrainResult {
  outDir: string;
  bestValLoss: number;
  tokensPerSecond: number;
  seconds: number;
  steps: number;
  interrupted: boolean;
}

export function checkDataFiles(files: string[] | undefined, command = 'tlm train'): string[] {
  if (!files || files.length === 0) throw new InputError(`${command}: --data FILE is required (see ${command} --help)`);
  for (const f of files) {
    if (!existsSync(f)) throw new InputError(`${command}: data file not found: ${f}`);
    if (!statSync(f).isFile()) throw new InputError(`${command}: data path is not a file: ${f}`);
    if (statSync(f).size === 0) throw new InputError(`${command}: data file is empty: ${f}`);
  }
  return files;
}

/** Checks training arguments (the CLI's flag ranges say the same; this guards library callers). */
export function checkTrainingArguments(c: TrainingArguments, command = 'train'): void {
  const bad = (what: string) => { throw new InputError(`${command}: ${what}`); };
  if (!(c.lr > 0)) bad(`lr must be > 0, got ${c.lr}`);
  if (!(c.minLr >= 0 && c.minLr <= c.lr)) bad(`minLr must be in [0, lr=${c.lr}], got ${c.minLr}`);
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) bad(`betas must be in [0, 1), got ${c.beta1}, ${c.beta2}`);
  if (!(c.weightDecay >= 0)) bad(`weightDecay must be >= 0, got ${c.weightDecay}`);
  if (c.layerLrDecay !== undefined && !(c.layerLrDecay > 0 && c.layerLrDecay <= 1)) bad(`layerLrDecay must be in (0, 1], got ${c.layerLrDecay}`);
  if (c.loraPlusLrRatio !== undefined && !(c.loraPlusLrRatio > 0)) bad(`loraPlusLrRatio must be > 0 (1: off), got ${c.loraPlusLrRatio}`);
  if (c.adversarialEpsilon !== undefined && !(c.adversarialEpsilon >= 0)) bad(`adversarialEpsilon must be >= 0 (0: off), got ${c.adversarialEpsilon}`);
  if (!(c.gradClip >= 0)) bad(`gradClip must be >= 0 (0: off), got ${c.gradClip}`);
  for (const k of ['gradAccum', 'evalInterval', 'logInterval'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] > 0)) bad(`${k} must be a positive integer, got ${c[k]}`);
  }
  for (const k of ['maxIters', 'warmupIters'] as const) if (!(Number.isInteger(c[k]) && c[k] >= 0)) bad(`${k} must be an integer >= 0, got ${c[k]}`);
}

/** Pretraining's config: the training arguments and the LM's batch shape. */
export function checkTrainerConfig(c: TrainerConfig, command = 'train'): void {
  checkTrainingArguments(c, command);
  for (const k of ['batchSize', 'blockSize', 'evalIters'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] > 0)) throw new InputError(`${command}: ${k} must be a positive integer, got ${c[k]}`);
  }
}

/** The model of `dir` as the objective's LM, to train on from its weights. */
async function initialModel(dir: string, cfg: TrainerConfig, command: string): Promise<{ model: LanguageModel & PreTrainedModel; architecture: Architecture }> {
  const task = cfg.objective === 'mlm' ? 'masked-lm' : 'causal-lm';
  const loaded = await loadModelDir(dir, command);
  if (!(loaded.tasks as string[]).includes(task)) {
    loaded.model.dispose();
    throw new InputError(`${command}: --init-from ${dir} holds a ${loaded.model.architecture}, which is not a ${task === 'masked-lm' ? 'masked LM (--objective mlm)' : 'causal LM (--objective clm)'}`);
  }
  if (hasPositionTable(loaded.model.config) && cfg.blockSize > loaded.blockSize) {
    loaded.model.dispose();
    throw new InputError(`${command}: --block-size ${cfg.blockSize} exceeds the ${loaded.blockSize} positions of ${dir}`);
  }
  loaded.model.train();
  return { model: loaded.model as LanguageModel & PreTrainedModel, architecture: { type: loaded.model.architecture, objective: cfg.objective, initFrom: dir } };
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const command = o.command ?? 'tlm train';
  const log = o.log ?? ((s: string) => console.error(s));
  const files = checkDataFiles(o.data, command);
  const cfg = o.trainer;
  checkTrainerConfig(cfg, command);
  const outDir = o.out;
  const run = openRunDir(outDir, { resume: o.resume, overwrite: o.overwrite, command, log });
  try {
    manualSeed(cfg.seed);
    const text = { lossyUtf8: o.lossyUtf8, warn: log };
    // The model to continue first: a directory of the wrong kind is the error to report, not its tokenizer.
    const init = o.initFrom ? await initialModel(o.initFrom, cfg, command) : null;
    const tok = await prepareTokenizer(o.initFrom ?? o.tokenizer, files, { vocabSize: o.vocabSize, objective: cfg.objective,
      resumeDir: o.resume ? outDir : undefined, log, text });
    const stream = TokenStream.fromFiles(files, tok, { binPath: join(outDir, 'tokens.bin'), ...text });
    try {
      if (stream.length < 2) throw new InputError(`${command}: the data has only ${stream.length} token(s)`);
      const split = trainValSplit(stream);
      const need = cfg.objective === 'clm' ? cfg.blockSize + 1 : cfg.blockSize;
      if (split.val.length < need) {
        throw new InputError(`${command}: --block-size ${cfg.blockSize} is larger than the data allows (validation split: ${split.val.length} tokens); use a smaller --block-size or more data`);
      }
      if (cfg.objective === 'mlm') cfg.mlm = mlmOptionsFor(tok);
      const { model, architecture } = init ?? buildModel(cfg.objective, { ...o.model, vocabSize: tok.vocabSize, blockSize: cfg.blockSize, padTokenId: tok.padId });
      log(`model: ${architecture.type}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters; data: ${stream.length.toLocaleString()} tokens (vocab ${tok.vocabSize})`);
      const trainer = new Trainer(model, split, cfg, outDir, { architecture });
      if (o.resume) {
        if (await trainer.resume()) log(`resumed from step ${trainer.step}`);
        else log(`no checkpoint in ${join(outDir, 'checkpoints')}: starting from scratch`);
      }
      // The model directory follows the best checkpoint, so it is loadable whenever the run dies.
      const finalSave = async () => { await trainer.loadFinal(); await saveModelDir(outDir, model, tok); };
      const res = await trainer.run({ quiet: o.quiet, stop: o.stop, onBest: () => saveModelDir(outDir, model, tok), onEnd: finalSave });
      if (res.interrupted) {
        log(`interrupted at step ${res.step}: checkpoint saved in ${join(outDir, 'checkpoints')} (continue with --resume); ${outDir} holds the best model so far (val loss ${res.bestValLoss.toFixed(4)})`);
      } else {
        log(`done: ${res.step} steps in ${res.seconds.toFixed(1)}s, ${Math.round(res.tokensPerSecond)} tokens/s; best val loss ${res.bestValLoss.toFixed(4)}; model saved to ${outDir}`);
      }
      return { outDir, bestValLoss: res.bestValLoss, tokensPerSecond: res.tokensPerSecond, seconds: res.seconds, steps: res.step, interrupted: res.interrupted };
    } finally {
      stream.close();
    }
  } finally {
    run.release();
  }
}
