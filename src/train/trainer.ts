// The training loop: batches → forward → loss → backward → clip → optimizer step, with periodic
// evaluation, atomic checkpoints (resumable to the same losses), metrics.jsonl and a loss plot.

import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { join } from 'node:path';
import { crossEntropy } from '../tensor/ops/nn.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { causalBatch, mlmBatch, type MlmOptions, type TokenStream } from './data.js';
import { AdamW, clipGradNorm } from './optim.js';
import { makeSchedule } from './schedule.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Progress } from './progress.js';
import { lossCurveSvg, type LossPoint } from './plot.js';

export interface LanguageModel extends Module {
  forward(inputs: { inputIds: Tensor }): { logits: Tensor };
}

export interface TrainerConfig {
  objective: 'clm' | 'mlm';
  batchSize: number;
  blockSize: number;
  maxIters: number;
  lr: number;
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
  schedule: 'cosine' | 'linear' | 'constant' | 'noam';
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** 0 disables clipping. */
  gradClip: number;
  gradAccum: number;
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  seed: number;
  /** Stop early (with a final evaluation and checkpoint) once this many seconds have passed. */
  maxSeconds?: number;
  /**
   * Which parameters weight decay applies to: 'matrices' (default: ≥2-D weights except embeddings),
   * 'matrices+embeddings' (nanoGPT's rule: every ≥2-D tensor), or 'all'.
   */
  decay?: 'matrices' | 'matrices+embeddings' | 'all';
  mlm?: MlmOptions;
}

export const defaultTrainerConfig: TrainerConfig = {
  objective: 'clm', batchSize: 12, blockSize: 64, maxIters: 2000, lr: 1e-3, minLr: 1e-4, warmupIters: 100,
  lrDecayIters: 2000, schedule: 'cosine', weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradClip: 1.0, gradAccum: 1,
  evalInterval: 250, evalIters: 20, logInterval: 10, seed: 1337,
};

export interface TrainResult {
  step: number;
  bestValLoss: number;
  lastTrainLoss: number;
  lastValLoss: number;
  tokensPerSecond: number;
  seconds: number;
  /** Loss of every training step run in this call (for tests and resume checks). */
  losses: { step: number; loss: number }[];
  /** The run stopped early on a stop request (Ctrl-C); the latest checkpoint holds its last step. */
  interrupted: boolean;
}

export interface RunOptions {
  quiet?: boolean;
  onLog?: (p: LossPoint & { lr: number; tokens_per_s: number }) => void;
  /** Checked after every step: when set, the trainer saves a checkpoint and returns (interrupted: true). */
  stop?: { requested: boolean };
  /**
   * Called after each new best checkpoint, with the model holding those weights: the pipeline writes
   * the model directory here, so that a run killed at any moment leaves a loadable model.
   */
  onBest?: (step: number, valLoss: number) => Promise<void>;
}

/** Parameter groups: no weight decay on biases and norms, nor (by default) on embeddings. */
export function decayGroups(model: Module, weightDecay: number, rule: TrainerConfig['decay'] = 'matrices'): { params: Tensor[]; weightDecay: number }[] {
  const noDecay = new Set<Tensor>();
  if (rule !== 'all') {
    const skip = rule === 'matrices+embeddings' ? /LayerNorm|BatchNorm|RMSNorm/ : /Embedding|LayerNorm|BatchNorm|RMSNorm/;
    for (const [, m] of model.namedModules()) {
      if (skip.test(m.constructor.name)) for (const p of m.parameters()) noDecay.add(p);
    }
    for (const p of model.parameters()) if (p.ndim < 2) noDecay.add(p);
  }
  const params = model.parameters().filter((p) => p.requiresGrad);
  return [
    { params: params.filter((p) => !noDecay.has(p)), weightDecay },
    { params: params.filter((p) => noDecay.has(p)), weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}

export class Trainer {
  readonly optimizer: AdamW;
  private readonly dataGen: Generator;
  private readonly schedule: (step: number) => number;
  step = 0;
  bestValLoss = Infinity;

  constructor(readonly model: LanguageModel, readonly data: { train: TokenStream; val: TokenStream },
              readonly cfg: TrainerConfig, readonly outDir: string | null = null,
              /** Extra JSON saved in every checkpoint (model config, tokenizer...). */
              readonly extraState: Record<string, unknown> = {}) {
    if (cfg.objective === 'mlm' && !cfg.mlm) throw new Error('Trainer: the mlm objective needs mlm options (mask id, vocab size)');
    for (const split of ['train', 'val'] as const) {
      const need = cfg.objective === 'clm' ? cfg.blockSize + 1 : cfg.blockSize;
      if (data[split].length < need) {
        throw new Error(`block size ${cfg.blockSize} is larger than the ${split} split (${data[split].length} tokens); use a smaller --block-size or more data`);
      }
    }
    this.optimizer = new AdamW(decayGroups(model, cfg.weightDecay, cfg.decay), {
      lr: cfg.lr, betas: [cfg.beta1, cfg.beta2], weightDecay: cfg.weightDecay,
    });
    this.dataGen = new Generator(cfg.seed);
    this.schedule = makeSchedule(cfg.schedule, { lr: cfg.lr, minLr: cfg.minLr, warmupIters: cfg.warmupIters,
      decayIters: cfg.lrDecayIters, dModel: undefined });
  }

  private batch(split: 'train' | 'val', gen: Generator): { x: Tensor; y: Tensor } {
    const s = this.data[split];
    return this.cfg.objective === 'clm' ? causalBatch(s, this.cfg.batchSize, this.cfg.blockSize, gen)
      : mlmBatch(s, this.cfg.batchSize, this.cfg.blockSize, this.cfg.mlm!, gen);
  }

  /** Mean loss of the model on (x, y): causal targets, or masked positions (labels -100 elsewhere). */
  lossOf(x: Tensor, y: Tensor): Tensor {
    const { logits } = this.model.forward({ inputIds: x });
    const V = logits.shape[logits.ndim - 1]!;
    return crossEntropy(logits.reshape(-1, V), y.reshape(-1), { ignoreIndex: -100 });
  }

  /** nanoGPT's estimate_loss: mean over evalIters batches of each split, on batches that do not depend on training's RNG. */
  evaluate(): { train: number; val: number } {
    this.model.eval();
    const out = { train: 0, val: 0 };
    const gen = new Generator(this.cfg.seed * 7919 + this.step);
    noGrad(() => {
      for (const split of ['train', 'val'] as const) {
        let total = 0;
        for (let i = 0; i < this.cfg.evalIters; i++) total += tidy(() => { const { x, y } = this.batch(split, gen); return this.lossOf(x, y).item(); });
        out[split] = total / this.cfg.evalIters;
      }
    });
    this.model.train();
    return out;
  }

  /** One optimizer step (with gradient accumulation); returns the mean loss. */
  trainStep(): number {
    const lr = this.schedule(this.step);
    for (const g of this.optimizer.paramGroups) g.lr = lr;
    let loss = 0;
    for (let micro = 0; micro < this.cfg.gradAccum; micro++) {
      loss += tidy(() => {
        const { x, y } = this.batch('train', this.dataGen);
        const l = this.lossOf(x, y);
        const v = l.item();
        (this.cfg.gradAccum > 1 ? l.div(this.cfg.gradAccum) : l).backward();
        return v;
      });
    }
    if (this.cfg.gradClip > 0) clipGradNorm(this.model.parameters(), this.cfg.gradClip);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.step++;
    return loss / this.cfg.gradAccum;
  }

  private get ckptDir(): string | null {
    return this.outDir === null ? null : join(this.outDir, 'checkpoints');
  }

  private stateJson(): Record<string, unknown> {
    return { step: this.step, bestValLoss: this.bestValLoss, config: this.cfg, dataRng: this.dataGen.getState(),
      globalRng: defaultGenerator.getState(), optimizer: this.optimizer.stateDict().meta, ...this.extraState };
  }

  async saveCheckpoint(name?: string): Promise<void> {
    if (this.ckptDir === null) return;
    await saveCheckpoint(this.ckptDir, { ...this.stateJson(), step: this.step }, this.model.stateDict(),
      this.optimizer.stateDict().tensors, name ? { name, keepLatest: false } : {});
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
    this.bestValLoss = (st.bestValLoss as number | null) ?? Infinity;
    this.dataGen.setState(st.dataRng as number[]);
    this.truncateMetrics();
    defaultGenerator.setState(st.globalRng as number[]);
    return true;
  }

  /** Loads the weights of the best checkpoint (lowest validation loss) into the model, if there is one. */
  async loadBest(): Promise<boolean> {
    if (this.ckptDir === null || !existsSync(join(this.ckptDir, 'best'))) return false;
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
    if (!existsSync(path)) return;
    const kept = readFileSync(path, 'utf8').split('\n').filter((line) => {
      if (!line.trim()) return false;
      try { return (JSON.parse(line) as { step: number }).step < this.step; } catch { return false; }
    });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, kept.map((l) => l + '\n').join(''));
    renameSync(tmp, path);
  }

  async run(opts: RunOptions = {}): Promise<TrainResult> {
    const cfg = this.cfg;
    const metricsPath = this.outDir === null ? null : join(this.outDir, 'metrics.jsonl');
    if (this.outDir !== null) mkdirSync(this.outDir, { recursive: true });
    const progress = opts.quiet ? null : new Progress(cfg.maxIters, 'step ');
    const tokensPerStep = cfg.batchSize * cfg.blockSize * cfg.gradAccum;
    const losses: { step: number; loss: number }[] = [];
    const points: LossPoint[] = [];
    let lastVal = NaN, lastTrain = NaN, tokPerS = 0;
    const t0 = Date.now();
    let tokensDone = 0;
    let windowStart = Date.now(), windowTokens = 0;
    this.model.train();
    let outOfTime = false, interrupted = false;
    while (this.step <= cfg.maxIters) {
      const last = this.step === cfg.maxIters || outOfTime;
      const evalNow = last || (cfg.evalInterval > 0 && this.step % cfg.evalInterval === 0);
      let valLoss: number | null = null;
      if (evalNow) {
        const ev = this.evaluate();
        valLoss = lastVal = ev.val;
        progress?.log(`step ${this.step}: train loss ${ev.train.toFixed(4)}, val loss ${ev.val.toFixed(4)}`);
        if (ev.val < this.bestValLoss) {
          this.bestValLoss = ev.val;
          await this.saveCheckpoint('best');
          await opts.onBest?.(this.step, ev.val);
        }
        await this.saveCheckpoint();
      }
      if (last) {
        if (valLoss !== null) this.writeMetric(metricsPath, points, { step: this.step, train_loss: null, val_loss: valLoss, lr: this.schedule(this.step), tokens_per_s: tokPerS }, opts.onLog);
        break;
      }
      const step = this.step;
      const loss = this.trainStep();
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss is ${loss}; try a lower --lr or --grad-clip`);
      losses.push({ step, loss });
      lastTrain = loss;
      tokensDone += tokensPerStep;
      windowTokens += tokensPerStep;
      const now = Date.now();
      if (now - windowStart > 2000) { tokPerS = windowTokens / ((now - windowStart) / 1000); windowStart = now; windowTokens = 0; }
      else if (tokPerS === 0) tokPerS = tokensDone / Math.max((now - t0) / 1000, 1e-3);
      if (step % cfg.logInterval === 0 || valLoss !== null) {
        this.writeMetric(metricsPath, points, { step, train_loss: loss, val_loss: valLoss, lr: this.schedule(step), tokens_per_s: tokPerS }, opts.onLog);
      }
      progress?.update(this.step, `loss ${loss.toFixed(4)} | ${formatRate(tokPerS)} tok/s`);
      if (opts.stop?.requested) {
        interrupted = true;
        await this.saveCheckpoint();
        progress?.log(`stopped at step ${this.step}: checkpoint saved`);
        break;
      }
      if (cfg.maxSeconds !== undefined && (Date.now() - t0) / 1000 > cfg.maxSeconds) {
        outOfTime = true;
        progress?.log(`time limit of ${cfg.maxSeconds}s reached at step ${this.step}`);
      }
    }
    progress?.done();
    const seconds = (Date.now() - t0) / 1000;
    if (this.outDir !== null && points.length > 0) {
      await writeFileAtomic(join(this.outDir, 'loss.svg'), lossCurveSvg(points, 'training loss'));
    }
    return { step: this.step, bestValLoss: this.bestValLoss, lastTrainLoss: lastTrain, lastValLoss: lastVal,
      tokensPerSecond: tokensDone / Math.max(seconds, 1e-9), seconds, losses, interrupted };
  }

  private writeMetric(path: string | null, points: LossPoint[], rec: LossPoint & { lr: number; tokens_per_s: number },
                      onLog?: (p: LossPoint & { lr: number; tokens_per_s: number }) => void): void {
    points.push(rec);
    onLog?.(rec);
    if (path !== null) appendFileSync(path, JSON.stringify({ step: rec.step, train_loss: rec.train_loss, val_loss: rec.val_loss, lr: rec.lr, tokens_per_s: Math.round(rec.tokens_per_s) }) + '\n');
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

function formatRate(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}
