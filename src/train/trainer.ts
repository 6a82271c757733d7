// The training loop: batches → forward → loss → backward → clip → optimizer step, with periodic
// evaluation, atomic checkpoints (resumable to the same losses), metrics.jsonl and a loss plot.

import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fileSystem, processId } from '../io/files.js';
import { join } from '../io/path.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { noGrad, noGradAsync, tidy } from '../tensor/engine.js';
import type { Module } from '../nn/module.js';
import type { TokenStream } from './data.js';
import { div } from '../tensor/ops/elementwise.js';
import { stack } from '../tensor/ops/indexing.js';
import { AdamW, clipGradNorm } from './optim.js';
import { decayGroups, tokenEmbeddingTables, type DecayRule } from './param_groups.js';
import { LanguageModelingTask, type LmOptions } from './lm_task.js';
import type { TrainingTask } from './task.js';
import { makeSchedule } from './schedule.js';
import { averageCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Progress } from './progress.js';
import { readScalarsAndDispose } from './readback.js';
import { yieldToEventLoop } from './event_loop.js';
import type { Tensor } from '../tensor/tensor.js';
import { lossCurveSvg, type LossPoint } from './plot.js';

export { type LanguageModel, type LmOptions } from './lm_task.js';
export { decayGroups } from './param_groups.js';

/** HF's TrainingArguments, for any task: optimization, schedule, evaluation and checkpointing. */
export interface TrainingArguments {
  maxIters: number;
  lr: number;
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
  schedule: 'cosine' | 'linear' | 'constant' | 'noam' | 'inverse_sqrt';
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** 0 disables clipping. */
  gradClip: number;
  gradAccum: number;
  evalInterval: number;
  logInterval: number;
  seed: number;
  /** Stop early (with a final evaluation and checkpoint) once this many seconds have passed. */
  maxSeconds?: number;
  /**
   * Which parameters weight decay applies to: 'matrices' (default: ≥2-D weights except embeddings),
   * 'matrices+embeddings' (nanoGPT's rule: every ≥2-D tensor), or 'all'.
   */
  decay?: DecayRule;
  /**
   * Layer-wise learning-rate decay (ELECTRA's): block i of L learns at layerLrDecay^(L − i) of the
   * rate, the embeddings at layerLrDecay^(L + 1), the head at the full rate. Default 1: off.
   */
  layerLrDecay?: number;
  /** LoRA+ (Hayou et al. 2024): LoRA's B matrices learn at this multiple of the rate. Default 1: off. */
  loraPlusLrRatio?: number;
  /**
   * Adversarial training on the token embeddings (Miyato et al. 2017; FGM): each micro-batch is also
   * trained on with the token-embedding tables moved by this L2 distance along the gradient of its
   * loss, and both gradients are kept. 0 or unset: off.
   */
  adversarialEpsilon?: number;
  /** Stop when the best metric has not improved for this many evaluations (0 or unset: never). */
  earlyStoppingPatience?: number;
  /** Step checkpoints kept (the newest; default 1, the one resuming needs): more allow averaging the last k. */
  keepCheckpoints?: number;
  /** The evaluation metric that picks the best checkpoint (default: the task's, e.g. accuracy, f1, val_loss). */
  metricForBest?: string;
  /** Whether a higher metricForBest is better (default: true unless its name says loss). */
  greaterIsBetter?: boolean;
}

/** Language-model pretraining's configuration: the training arguments plus the LM's data options. */
export type TrainerConfig = TrainingArguments & LmOptions;

export const defaultTrainerConfig: TrainerConfig = {
  objective: 'clm', batchSize: 12, blockSize: 64, maxIters: 2000, lr: 1e-3, minLr: 1e-4, warmupIters: 100,
  lrDecayIters: 2000, schedule: 'cosine', weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradClip: 1.0, gradAccum: 1,
  evalInterval: 250, evalIters: 20, logInterval: 10, seed: 1337,
};

/** One line of metrics.jsonl: the step's training loss, and the evaluation's metrics at evaluation steps. */
export type MetricRecord = LossPoint & { lr: number; tokens_per_s: number; [metric: string]: number | null };

export interface TrainResult {
  step: number;
  /** The best value of the task's metricForBest (for language models: the validation loss). */
  bestMetric: number;
  /** The metrics of the last evaluation. */
  lastMetrics: Record<string, number>;
  /** Language models: the best validation loss (= bestMetric). */
  bestValLoss: number;
  lastTrainLoss: number;
  lastValLoss: number;
  tokensPerSecond: number;
  seconds: number;
  /** Loss of every training step run in this call (for tests and resume checks). */
  losses: { step: number; loss: number }[];
  /** The run stopped early on a stop request (Ctrl-C); the latest checkpoint holds its last step. */
  interrupted: boolean;
  /** The run stopped because the metric stopped improving (earlyStoppingPatience). */
  earlyStopped: boolean;
}

export interface RunOptions {
  quiet?: boolean;
  onLog?: (p: MetricRecord) => void;
  /** Checked after every step: when set, the trainer saves a checkpoint and returns (interrupted: true). */
  stop?: { requested: boolean };
  /**
   * Called after each new best checkpoint, with the model holding those weights: the pipeline writes
   * the model directory here, so that a run killed at any moment leaves a loadable model.
   */
  onBest?: (step: number, metric: number) => Promise<void>;
  /**
   * Called once when the run reaches its end (never on interruption), before the run is marked
   * finished: the pipeline's final save goes here, so a run killed while saving still reads as unfinished.
   */
  onEnd?: () => Promise<void>;
}

/** In a run's output directory from its start until it finishes: left there by a run stopped, killed or failed. */
export const UNFINISHED_FILE = '.tlm.unfinished';

/**
 * The training loop: batches → loss → backward → clip → optimizer step, with periodic evaluation,
 * the best checkpoint by the task's metric, early stopping, atomic checkpoints (resumable to the same
 * losses), metrics.jsonl and plots. `data` is a TrainingTask, or train/val token streams for language
 * modeling (cfg then carries the LM options).
 */
export class Trainer<M extends Module = Module> {
  readonly optimizer: AdamW;
  readonly task: TrainingTask<M>;
  private readonly dataGen: Generator;
  private readonly schedule: (step: number) => number;
  private readonly higherIsBetter: boolean;
  /** Step checkpoints kept (the newest; default 1, the one resuming needs): more allow averaging the last k. */
  keepCheckpoints?: number;
  /** The evaluation metric that picks the best checkpoint. */
  readonly metricName: string;
  step = 0;
  bestMetric: number;
  /** Evaluations since the best metric last improved (for early stopping). */
  private staleEvals = 0;
  /** Micro-batch losses of the steps not read back yet (on the model's device). */
  private unreadLosses: { step: number; micro: Tensor[] }[] = [];
  /** The parameters the optimizer trains (what clipping reads), listed once. */
  private readonly trainedParams: Tensor[];
  /** FGM's token-embedding tables, and those of them that do not train. */
  private adversarialTables: Tensor[] = [];
  private gradOnlyTables: Tensor[] = [];

  constructor(readonly model: M, data: { train: TokenStream; val: TokenStream } | TrainingTask<M>,
              readonly cfg: TrainingArguments & Partial<LmOptions>, readonly outDir: string | null = null,
              /** Extra JSON saved in every checkpoint (model config, tokenizer...). */
              readonly extraState: Record<string, unknown> = {}) {
    this.task = 'trainBatch' in data ? data
      : new LanguageModelingTask(data, cfg as TrainerConfig, cfg.seed) as unknown as TrainingTask<M>;
    this.metricName = cfg.metricForBest ?? this.task.metricForBest;
    this.higherIsBetter = cfg.greaterIsBetter ?? (cfg.metricForBest === undefined ? this.task.greaterIsBetter : undefined) ?? !/loss/.test(this.metricName);
    this.bestMetric = this.higherIsBetter ? -Infinity : Infinity;
    this.optimizer = new AdamW(decayGroups(model, cfg.weightDecay, cfg.decay, { layerLrDecay: cfg.layerLrDecay, loraPlusRatio: cfg.loraPlusLrRatio }), {
      lr: cfg.lr, betas: [cfg.beta1, cfg.beta2], weightDecay: cfg.weightDecay,
    });
    this.trainedParams = this.optimizer.paramGroups.flatMap((g) => g.params);
    if ((cfg.adversarialEpsilon ?? 0) > 0) {
      this.adversarialTables = tokenEmbeddingTables(model);
      if (this.adversarialTables.length === 0) throw new InputError('adversarial training needs a token-embedding table to move; this model has none');
      // A frozen table (LoRA, prompts, --freeze-embeddings) still needs its gradient for the direction:
      // it gets one during each step only, and the optimizer, built above, never holds it.
      this.gradOnlyTables = this.adversarialTables.filter((p) => !p.requiresGrad);
    }
    this.dataGen = new Generator(cfg.seed);
    this.schedule = makeSchedule(cfg.schedule, { lr: cfg.lr, minLr: cfg.minLr, warmupIters: cfg.warmupIters,
      decayIters: cfg.lrDecayIters, dModel: undefined });
  }

  /** Language models: the best validation loss so far. */
  get bestValLoss(): number { return this.bestMetric; }

  private improves(v: number): boolean {
    return this.higherIsBetter ? v > this.bestMetric : v < this.bestMetric;
  }

  /** The task's metrics of the model now (eval mode, no gradients); back to train mode after. */
  async evaluate(): Promise<Record<string, number>> {
    this.model.eval();
    try {
      return await noGradAsync(() => this.task.evaluate(this.model, this.step));
    } finally {
      this.model.train();
    }
  }

  /**
   * One optimizer step (with gradient accumulation); resolves to its mean loss. Reading the loss waits
   * for the device: run() does not call this, it reads losses only when it logs them.
   */
  async trainStep(): Promise<number> {
    this.stepOnDevice();
    const read = await this.readLosses();
    return read[read.length - 1]!.loss;
  }

  /**
   * The losses of the steps run since the last read (each step's mean over its micro-batches), read
   * back in one transfer, in step order.
   */
  async readLosses(): Promise<{ step: number; loss: number }[]> {
    const pending = this.unreadLosses;
    this.unreadLosses = [];
    const values = await readScalarsAndDispose(pending.flatMap((p) => p.micro));
    let at = 0;
    return pending.map(({ step, micro }) => {
      let sum = 0;
      for (let i = 0; i < micro.length; i++) sum += values[at++]!;
      return { step, loss: sum / micro.length };
    });
  }

  /**
   * One optimizer step that reads nothing back ("no readback inside a training step"): the loss of
   * each micro-batch stays on the device, in unreadLosses, until readLosses(). Returns the tokens seen.
   */
  private stepOnDevice(): number {
    const lr = this.schedule(this.step);
    for (const g of this.optimizer.paramGroups) g.lr = lr * ((g.lrScale as number | undefined) ?? 1);
    const micro: Tensor[] = [];
    let tokens = 0;
    for (const p of this.gradOnlyTables) p.requiresGrad = true;
    try {
      for (let m = 0; m < this.cfg.gradAccum; m++) {
        micro.push(tidy(() => {
          const batch = this.task.trainBatch(this.dataGen);
          tokens += batch.tokens;
          const l = this.task.loss(this.model, batch.inputs);
          this.backwardMicro(l);
          if (this.adversarialTables.length > 0) this.adversarialBackward(batch.inputs);
          return l.detach();
        }));
      }
    } finally {
      for (const p of this.gradOnlyTables) { p.requiresGrad = false; p.zeroGrad(); }
    }
    if (this.cfg.gradClip > 0) clipGradNorm(this.trainedParams, this.cfg.gradClip).dispose();
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.unreadLosses.push({ step: this.step, micro });
    this.step++;
    return tokens;
  }

  /**
   * FGM: moves the token-embedding tables by epsilon along their gradient (normalised over all of
   * them), backpropagates the batch's loss there too, and puts the tables back exactly as they were.
   * A frozen table moves too (the perturbation is of the inputs, not an update), and stays as it was.
   * The direction is the gradient accumulated so far in this step, which with gradAccum > 1 includes
   * the earlier micro-batches'. Nothing is read back: a zero gradient gives a zero move.
   */
  private adversarialBackward(inputs: Parameters<TrainingTask<M>['loss']>[1]): void {
    const tables = this.adversarialTables.filter((p) => p.grad !== null);
    if (tables.length === 0) return;
    const saved = noGrad(() => {
      const norm = stack(tables.map((p) => p.grad!.square().sum())).sum().sqrt();
      const scale = div(this.cfg.adversarialEpsilon!, norm.add(1e-12));
      return tables.map((p) => { const w = p.clone(); p.copy_(w.add(p.grad!.mul(scale))); return w; });
    });
    this.backwardMicro(this.task.loss(this.model, inputs));
    noGrad(() => tables.forEach((p, i) => p.copy_(saved[i]!)));
  }

  /** Backpropagates a micro-batch's loss, scaled so the accumulated gradient is the step's mean. */
  private backwardMicro(loss: Tensor): void {
    (this.cfg.gradAccum > 1 ? loss.div(this.cfg.gradAccum) : loss).backward();
  }

  private get ckptDir(): string | null {
    return this.outDir === null ? null : join(this.outDir, 'checkpoints');
  }

  private stateJson(): Record<string, unknown> {
    return { step: this.step, bestMetric: this.bestMetric, staleEvals: this.staleEvals, config: this.cfg,
      dataRng: this.dataGen.getState(), globalRng: defaultGenerator.getState(), taskState: this.task.state?.() ?? null,
      optimizer: this.optimizer.stateDict().meta, ...this.extraState };
  }

  /** 'step': at an evaluation; 'resume': on interruption (only to resume from); 'best': the best so far. */
  async saveCheckpoint(kind: 'step' | 'resume' | 'best' = 'step'): Promise<void> {
    if (this.ckptDir === null) return;
    await saveCheckpoint(this.ckptDir, { ...this.stateJson(), step: this.step }, this.model.stateDict(), this.optimizer.stateDict().tensors,
      kind === 'best' ? { name: 'best', keepLatest: false } : { keep: this.cfg.keepCheckpoints ?? 1, resumeOnly: kind === 'resume' });
  }

  /** Restores model, optimizer, step and RNG states from outDir's latest checkpoint. Returns false if none. */
  async resume(): Promise<boolean> {
    if (this.ckptDir === null) return false;
    const ck = await loadCheckpoint(this.ckptDir);
    if (ck === null) return false;
    const st = ck.state as Record<string, unknown> & { step: number };
    const arch = this.extraState.architecture;
    if (arch !== undefined && st.architecture !== undefined && JSON.stringify(st.architecture) !== JSON.stringify(arch)) {
      throw new CheckpointMismatchError(`checkpoint in ${ck.dir} is for another architecture: ${describeDiff(st.architecture, arch)}`);
    }
    try {
      this.model.loadStateDict(ck.model, { strict: true });
    } catch (err) {
      throw new Error(`checkpoint in ${ck.dir} does not fit this model: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.optimizer.loadStateDict({ tensors: ck.optimizer, meta: st.optimizer as ReturnType<AdamW['stateDict']>['meta'] });
    for (const t of Object.values(ck.model)) t.dispose();
    for (const t of Object.values(ck.optimizer)) t.dispose();
    this.step = st.step;
    const best = (st.bestMetric ?? st.bestValLoss) as number | null; // bestValLoss: checkpoints before the general trainer
    this.bestMetric = best ?? (this.higherIsBetter ? -Infinity : Infinity);
    this.staleEvals = (st.staleEvals as number | undefined) ?? 0;
    this.dataGen.setState(st.dataRng as number[]);
    if (st.taskState !== undefined && st.taskState !== null) this.task.setState?.(st.taskState);
    this.truncateMetrics();
    defaultGenerator.setState(st.globalRng as number[]);
    return true;
  }

  /**
   * Averages the model weights of the newest k step checkpoints (keepCheckpoints ≥ k) into the model,
   * evaluates it, and keeps it when it beats the best checkpoint by the metric (else loads the best).
   * Returns both metrics.
   */
  async averageLast(k: number): Promise<{ averaged: number; best: number; kept: 'averaged' | 'best'; steps: number[] }> {
    if (this.ckptDir === null) throw new Error('Trainer.averageLast: the trainer has no output directory');
    const { weights, steps } = await averageCheckpoints(this.ckptDir, k);
    try {
      this.model.loadStateDict(weights, { strict: true });
    } finally {
      for (const t of Object.values(weights)) t.dispose();
    }
    const averaged = (await this.evaluate())[this.metricName]!;
    const kept = this.improves(averaged) ? 'averaged' : 'best';
    if (kept === 'best') await this.loadBest();
    return { averaged, best: this.bestMetric, kept, steps };
  }

  /**
   * The weights a finished run keeps, loaded into the model: with k > 1 the mean of the newest k step
   * checkpoints where it beats the best (averageLast), else the best checkpoint's. Kept averaged
   * weights become the run's best, so bestMetric (and run()'s result) is always the kept weights'
   * metric. Returns, for k > 1, a line saying which were kept.
   */
  async loadFinal(k = 1): Promise<string | null> {
    if (k <= 1) {
      await this.loadBest();
      return null;
    }
    const a = await this.averageLast(k);
    if (a.kept === 'averaged') this.bestMetric = a.averaged;
    return `averaged the checkpoints of steps ${a.steps.join(', ')}: ${this.metricName} ${a.averaged.toFixed(4)} against the best's ${a.best.toFixed(4)}; keeping the ${a.kept}`;
  }

  /** Loads the weights of the best checkpoint (by the task's metric) into the model, if there is one. */
  async loadBest(): Promise<boolean> {
    if (this.ckptDir === null || !fileSystem().existsSync(join(this.ckptDir, 'best'))) return false;
    const ck = await loadCheckpoint(this.ckptDir, 'best');
    if (ck === null) return false;
    this.model.loadStateDict(ck.model, { strict: true });
    for (const t of [...Object.values(ck.model), ...Object.values(ck.optimizer)]) t.dispose();
    return true;
  }

  /** After a resume, metrics logged past the checkpoint by the interrupted run are dropped (they are logged again). */
  private truncateMetrics(): void {
    if (this.outDir === null) return;
    const path = join(this.outDir, 'metrics.jsonl');
    if (!fileSystem().existsSync(path)) return;
    const kept = fileSystem().readFileSync(path, 'utf8').split('\n').filter((line) => {
      if (!line.trim()) return false;
      try { return (JSON.parse(line) as { step: number }).step < this.step; } catch { return false; }
    });
    const tmp = `${path}.${processId()}.tmp`;
    fileSystem().writeFileSync(tmp, kept.map((l) => l + '\n').join(''));
    fileSystem().renameSync(tmp, path);
  }

  async run(opts: RunOptions = {}): Promise<TrainResult> {
    const cfg = this.cfg;
    const metricsPath = this.outDir === null ? null : join(this.outDir, 'metrics.jsonl');
    if (this.outDir !== null) {
      fileSystem().mkdirSync(this.outDir, { recursive: true });
      await this.markUnfinished(true);
    }
    const progress = opts.quiet ? null : new Progress(cfg.maxIters, 'step ');
    const losses: { step: number; loss: number }[] = [];
    const points: MetricRecord[] = [];
    const metricName = this.metricName;
    let lastMetrics: Record<string, number> = {}, lastTrain = NaN, tokPerS = 0;
    const t0 = Date.now();
    let tokensDone = 0;
    let windowStart = Date.now(), windowTokens = 0;
    this.model.train();
    let outOfTime = false, interrupted = false, earlyStopped = false;
    // Reads the losses waiting on the device into losses / lastTrain; a non-finite one ends the run.
    const readLosses = async () => {
      for (const r of await this.readLosses()) {
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged at step ${r.step}: loss is ${r.loss}; try a lower --lr or --grad-clip`);
        losses.push(r);
        lastTrain = r.loss;
      }
    };
    while (this.step <= cfg.maxIters) {
      const last = this.step === cfg.maxIters || outOfTime || earlyStopped;
      const evalNow = last || this.step % cfg.evalInterval === 0;
      let evalMetrics: Record<string, number> | null = null;
      if (evalNow) {
        await readLosses();
        evalMetrics = lastMetrics = await this.evaluate();
        const value = evalMetrics[metricName];
        if (value === undefined) throw new Error(`Trainer: the evaluation gave no '${metricName}' (it gave ${Object.keys(evalMetrics).join(', ')})`);
        progress?.log(`step ${this.step}: ${Object.entries(evalMetrics).map(([k, v]) => `${k.replace('_', ' ')} ${v.toFixed(4)}`).join(', ')}`);
        if (this.improves(value)) {
          this.bestMetric = value;
          this.staleEvals = 0;
          await this.saveCheckpoint('best');
          await opts.onBest?.(this.step, value);
        } else if (++this.staleEvals >= (cfg.earlyStoppingPatience || Infinity) && !last) {
          earlyStopped = true;
          progress?.log(`early stopping at step ${this.step}: ${metricName} has not improved for ${this.staleEvals} evaluations (best ${this.bestMetric.toFixed(4)})`);
        }
        await this.saveCheckpoint();
      }
      if (last || earlyStopped) {
        if (evalMetrics !== null) this.writeMetric(metricsPath, points, { step: this.step, train_loss: null, val_loss: null, ...evalMetrics, lr: this.schedule(this.step), tokens_per_s: tokPerS }, opts.onLog);
        break;
      }
      const step = this.step;
      const tokens = this.stepOnDevice();
      tokensDone += tokens;
      windowTokens += tokens;
      const now = Date.now();
      if (now - windowStart > 2000) { tokPerS = windowTokens / ((now - windowStart) / 1000); windowStart = now; windowTokens = 0; }
      else if (tokPerS === 0) tokPerS = tokensDone / Math.max((now - t0) / 1000, 1e-3);
      // The loss is read back only when it is logged (or when many are waiting): a GPU never idles
      // waiting for the host between steps. The progress bar shows the latest loss read.
      const logNow = step % cfg.logInterval === 0 || evalMetrics !== null;
      if (logNow || this.unreadLosses.length >= MAX_UNREAD_STEPS) await readLosses();
      if (logNow) {
        this.writeMetric(metricsPath, points, { step, train_loss: lastTrain, val_loss: null, ...(evalMetrics ?? {}), lr: this.schedule(step), tokens_per_s: tokPerS }, opts.onLog);
      }
      progress?.update(this.step, `${Number.isNaN(lastTrain) ? '' : `loss ${lastTrain.toFixed(4)} | `}${formatRate(tokPerS)} tok/s`);
      // A step is synchronous: let the event loop run between steps, so that a signal's handler (Ctrl-C) is heard now, not at the next evaluation.
      if (opts.stop) await yieldToEventLoop();
      if (opts.stop?.requested) {
        interrupted = true;
        await readLosses();
        await this.saveCheckpoint('resume');
        progress?.log(`stopped at step ${this.step}: checkpoint saved`);
        break;
      }
      if (cfg.maxSeconds !== undefined && (Date.now() - t0) / 1000 > cfg.maxSeconds) {
        outOfTime = true;
        progress?.log(`time limit of ${cfg.maxSeconds}s reached at step ${this.step}`);
      }
    }
    await readLosses();
    progress?.done();
    if (!interrupted) await opts.onEnd?.();
    if (this.outDir !== null) await this.markUnfinished(interrupted);
    const seconds = (Date.now() - t0) / 1000;
    if (this.outDir !== null && points.length > 0) {
      await writeFileAtomic(join(this.outDir, 'loss.svg'), lossCurveSvg(points, 'training loss'));
      if (metricName !== 'val_loss') {
        const curve = points.filter((p) => typeof p[metricName] === 'number').map((p) => ({ step: p.step, train_loss: null, val_loss: p[metricName] as number }));
        if (curve.length > 0) await writeFileAtomic(join(this.outDir, 'metric.svg'), lossCurveSvg(curve, `evaluation ${metricName}`));
      }
    }
    return { step: this.step, bestMetric: this.bestMetric, bestValLoss: this.bestMetric, lastMetrics, lastTrainLoss: lastTrain,
      lastValLoss: lastMetrics.val_loss ?? NaN, tokensPerSecond: tokensDone / Math.max(seconds, 1e-9), seconds, losses, interrupted, earlyStopped };
  }

  /**
   * UNFINISHED_FILE is written when a run starts and removed when it reaches its end, so a run that
   * was stopped (Ctrl-C, SIGTERM), killed or failed leaves it. The model directory looks the same
   * either way (it follows the best checkpoint): this is how a script tells a finished run from one
   * to resume.
   */
  private async markUnfinished(unfinished: boolean): Promise<void> {
    const path = join(this.outDir!, UNFINISHED_FILE);
    if (unfinished) await writeFileAtomic(path, JSON.stringify({ step: this.step, maxIters: this.cfg.maxIters, at: new Date().toISOString() }) + '\n');
    else fileSystem().rmSync(path, { force: true });
  }

  private writeMetric(path: string | null, points: MetricRecord[], rec: MetricRecord, onLog?: (p: MetricRecord) => void): void {
    points.push(rec);
    onLog?.(rec);
    if (path === null) return;
    const { step, train_loss, val_loss, lr, tokens_per_s, ...metrics } = rec;
    // Language models keep the line's historical fields; other tasks add their evaluation metrics.
    const line = { step, train_loss, val_loss, ...metrics, lr, tokens_per_s: Math.round(tokens_per_s) };
    fileSystem().appendFileSync(path, JSON.stringify(line) + '\n');
  }
}

/** A checkpoint that does not fit the model being trained. */
export class CheckpointMismatchError extends Error {}

/** "nLayer 4 (checkpoint) vs 2 (now), ..." for the fields of two flat-ish JSON values that differ. */
function describeDiff(saved: unknown, now: unknown, prefix = ''): string {
  if (saved && now && typeof saved === 'object' && typeof now === 'object') {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
    return keys.map((k) => describeDiff((saved as Record<string, unknown>)[k], (now as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k))
      .filter(Boolean).join(', ');
  }
  return JSON.stringify(saved) === JSON.stringify(now) ? '' : `${prefix} ${JSON.stringify(saved)} in the checkpoint vs ${JSON.stringify(now)} now`;
}

/** Steps whose losses may wait on the device unread (a long --log-interval still reads every so often). */
const MAX_UNREAD_STEPS = 64;

function formatRate(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}
