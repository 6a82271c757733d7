// tlm train: pretrain a causal LM (GPT family) or masked LM (BERT family) on text files, with
// nanoGPT's flag names. --out ends holding an HF-layout model: config.json, model.safetensors,
// tokenizer.json (plus checkpoints/, metrics.jsonl and loss.svg from the run).

import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { TokenStream, trainValSplit } from '../../train/data.js';
import { Trainer, type TrainerConfig } from '../../train/trainer.js';
import { manualSeed } from '../../tensor/random.js';
import { buildModel, prepareTokenizer, saveModelDir, mlmOptionsFor } from './common.js';

export const trainFlags: CommandSpec['flags'] = {
  data: { type: 'strings', help: 'training text file (repeat for several)' },
  tokenizer: { type: 'string', help: 'char, bpe (trained on the data), or a tokenizer.json / model dir', default: 'char' },
  'vocab-size': { type: 'number', help: 'vocabulary size when training a bpe tokenizer', default: 8192 },
  objective: { type: 'string', help: 'causal LM (GPT) or masked LM (BERT)', default: 'clm', choices: ['clm', 'mlm'] },
  'n-layer': { type: 'number', help: 'transformer layers', default: 4 },
  'n-head': { type: 'number', help: 'attention heads', default: 4 },
  'n-embd': { type: 'number', help: 'model width', default: 128 },
  'block-size': { type: 'number', help: 'context length in tokens', default: 64 },
  'batch-size': { type: 'number', help: 'sequences per step', default: 12 },
  'grad-accum': { type: 'number', help: 'micro-batches accumulated per optimizer step', default: 1 },
  'max-iters': { type: 'number', help: 'optimizer steps', default: 2000 },
  lr: { type: 'number', help: 'peak learning rate', default: 1e-3 },
  'min-lr': { type: 'number', help: 'learning rate at the end of the decay', default: 1e-4 },
  'warmup-iters': { type: 'number', help: 'linear warmup steps', default: 100 },
  'lr-decay-iters': { type: 'number', help: 'steps over which the lr decays (default: max-iters)' },
  schedule: { type: 'string', help: 'learning-rate schedule', default: 'cosine', choices: ['cosine', 'linear', 'constant', 'noam'] },
  'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: 0.1 },
  decay: { type: 'string', help: 'what weight decay applies to: matrices (not biases, norms, embeddings), matrices+embeddings (nanoGPT), all',
    default: 'matrices', choices: ['matrices', 'matrices+embeddings', 'all'] },
  beta1: { type: 'number', help: 'AdamW beta1', default: 0.9 },
  beta2: { type: 'number', help: 'AdamW beta2', default: 0.99 },
  'grad-clip': { type: 'number', help: 'clip gradients to this global norm (0: off)', default: 1.0 },
  dropout: { type: 'number', help: 'dropout probability', default: 0 },
  'no-bias': { type: 'boolean', help: 'no biases in linear layers and LayerNorms (nanoGPT\'s default; GPT causal LM only)' },
  activation: { type: 'string', help: 'MLP activation of the GPT (gelu_new is GPT-2\'s tanh form)', default: 'gelu_new', choices: ['gelu_new', 'gelu', 'relu'] },
  'eval-interval': { type: 'number', help: 'evaluate (and checkpoint) every N steps', default: 250 },
  'eval-iters': { type: 'number', help: 'batches per evaluation', default: 20 },
  'log-interval': { type: 'number', help: 'write a metrics line every N steps', default: 10 },
  'max-seconds': { type: 'number', help: 'stop (evaluate and save) after this many seconds' },
  seed: { type: 'number', help: 'random seed (same seed, same losses)', default: 1337 },
  out: { type: 'string', help: 'output directory', default: 'out' },
  resume: { type: 'boolean', help: 'continue from the latest checkpoint in --out' },
  quiet: { type: 'boolean', help: 'no progress bar' },
};

const spec: CommandSpec = {
  name: 'train',
  usage: 'train --data FILE [--data FILE...] [flags]',
  summary: 'Pretrain a language model on text: causal LM (GPT) or masked LM (BERT). Writes an HF-layout model to --out.',
  flags: trainFlags,
};

export function trainerConfigFrom(f: FlagValues): TrainerConfig {
  const num = (k: string) => f[k] as number;
  const positive = ['n-layer', 'n-head', 'n-embd', 'block-size', 'batch-size', 'grad-accum', 'eval-iters', 'log-interval'];
  for (const k of positive) if (!(num(k) > 0 && Number.isInteger(num(k)))) throw new CliError(`tlm train: --${k} must be a positive integer, got ${f[k]}`);
  if (!(num('max-iters') >= 0)) throw new CliError(`tlm train: --max-iters must be >= 0, got ${f['max-iters']}`);
  if (num('n-embd') % num('n-head') !== 0) throw new CliError(`tlm train: --n-embd ${num('n-embd')} is not divisible by --n-head ${num('n-head')}`);
  if (!(num('dropout') >= 0 && num('dropout') < 1)) throw new CliError(`tlm train: --dropout must be in [0, 1), got ${f.dropout}`);
  return {
    objective: f.objective as 'clm' | 'mlm', batchSize: num('batch-size'), blockSize: num('block-size'), maxIters: num('max-iters'),
    lr: num('lr'), minLr: num('min-lr'), warmupIters: num('warmup-iters'), lrDecayIters: (f['lr-decay-iters'] as number | undefined) ?? num('max-iters'),
    schedule: f.schedule as TrainerConfig['schedule'], weightDecay: num('weight-decay'), beta1: num('beta1'), beta2: num('beta2'),
    gradClip: num('grad-clip'), gradAccum: num('grad-accum'), evalInterval: num('eval-interval'), evalIters: num('eval-iters'),
    logInterval: num('log-interval'), seed: num('seed'), maxSeconds: f['max-seconds'] as number | undefined,
    decay: f.decay as TrainerConfig['decay'],
  };
}

export function checkDataFiles(files: string[] | undefined): string[] {
  if (!files || files.length === 0) throw new CliError('tlm train: --data FILE is required (see tlm train --help)');
  for (const f of files) {
    if (!existsSync(f)) throw new CliError(`tlm train: data file not found: ${f}`);
    if (!statSync(f).isFile()) throw new CliError(`tlm train: data path is not a file: ${f}`);
    if (statSync(f).size === 0) throw new CliError(`tlm train: data file is empty: ${f}`);
  }
  return files;
}

export async function runTraining(f: FlagValues, log: (s: string) => void = (s) => console.error(s)): Promise<{ outDir: string; bestValLoss: number; tokensPerSecond: number; seconds: number }> {
  const files = checkDataFiles(f.data as string[] | undefined);
  const cfg = trainerConfigFrom(f);
  const outDir = f.out as string;
  manualSeed(cfg.seed);
  mkdirSync(outDir, { recursive: true });
  const tok = await prepareTokenizer(f.tokenizer as string, files, { vocabSize: f["vocab-size"] as number, objective: cfg.objective, saveTo: outDir,
    resumeDir: f.resume ? outDir : undefined, log });
  const stream = TokenStream.fromFiles(files, tok, { binPath: join(outDir, 'tokens.bin') });
  if (stream.length < 2) throw new CliError(`tlm train: the data has only ${stream.length} token(s)`);
  const split = trainValSplit(stream);
  const need = cfg.objective === 'clm' ? cfg.blockSize + 1 : cfg.blockSize;
  if (split.val.length < need) {
    throw new CliError(`tlm train: --block-size ${cfg.blockSize} is larger than the data allows (validation split: ${split.val.length} tokens); use a smaller --block-size or more data`);
  }
  if (cfg.objective === 'mlm') cfg.mlm = mlmOptionsFor(tok);
  const { model, architecture } = buildModel(cfg.objective, {
    vocabSize: tok.vocabSize, nLayer: f['n-layer'] as number, nHead: f['n-head'] as number, nEmbd: f['n-embd'] as number,
    blockSize: cfg.blockSize, dropout: f.dropout as number, padTokenId: tok.padId,
    ...(f['no-bias'] ? { bias: false } : {}), ...(f.activation !== 'gelu_new' ? { activation: f.activation as string } : {}),
  });
  log(`model: ${architecture.type}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters; data: ${stream.length.toLocaleString()} tokens (vocab ${tok.vocabSize})`);
  const trainer = new Trainer(model, split, cfg, outDir, { architecture });
  if (f.resume) {
    if (await trainer.resume()) log(`resumed from step ${trainer.step}`);
    else log(`no checkpoint in ${join(outDir, 'checkpoints')}: starting from scratch`);
  }
  const res = await trainer.run({ quiet: f.quiet === true });
  await trainer.loadBest();
  await saveModelDir(outDir, model, tok);
  stream.close();
  log(`done: ${res.step} steps in ${res.seconds.toFixed(1)}s, ${Math.round(res.tokensPerSecond)} tokens/s; best val loss ${res.bestValLoss.toFixed(4)}; model saved to ${outDir}`);
  return { outDir, bestValLoss: res.bestValLoss, tokensPerSecond: res.tokensPerSecond, seconds: res.seconds };
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    await runTraining(f);
  },
};
