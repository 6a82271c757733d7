// tlm train: pretrain a causal LM (GPT family) or masked LM (BERT family) on text files, with
// nanoGPT's flag names. --out ends holding an HF-layout model: config.json, model.safetensors,
// tokenizer.json (plus checkpoints/, metrics.jsonl and loss.svg from the run).

import type { CommandSpec, FlagValues } from '../args.js';
import type { TrainerConfig } from '../../train/trainer.js';
import { pretrain, type PretrainResult } from '../../pipelines/pretrain.js';
import { onInterrupt } from '../../pipelines/interrupt.js';
import { deviceFlag, useDevice } from '../device.js';

/** --position's choices (tlm train, and finetune --from-scratch): the position types a BERT or GPT-2 takes from the CLI. */
export const POSITION_CHOICES = ['learned', 'sinusoidal', 'relative', 'rope', 'alibi', 'none'];

export const trainFlags: CommandSpec['flags'] = {
  data: { type: 'strings', help: 'training text file (repeat for several)' },
  tokenizer: { type: 'string', help: 'char, bpe (trained on the data), or a tokenizer.json / model dir', default: 'char' },
  'init-from': { type: 'string', help: 'continue pretraining this model directory (its weights and tokenizer), e.g. on a task\'s own text' },
  'vocab-size': { type: 'number', help: 'vocabulary size when training a bpe tokenizer', default: 8192, integer: true, min: 2 },
  objective: { type: 'string', help: 'causal LM (GPT) or masked LM (BERT)', default: 'clm', choices: ['clm', 'mlm'] },
  arch: { type: 'string', help: 'causal LM architecture: gpt2, or llama (RMSNorm, SwiGLU MLP, RoPE; HF LlamaForCausalLM)', default: 'gpt2', choices: ['gpt2', 'llama'] },
  'n-layer': { type: 'number', help: 'transformer layers', default: 4, integer: true, min: 1 },
  'n-head': { type: 'number', help: 'attention heads', default: 4, integer: true, min: 1 },
  'n-embd': { type: 'number', help: 'model width', default: 128, integer: true, min: 1 },
  'block-size': { type: 'number', help: 'context length in tokens', default: 64, integer: true, min: 1 },
  'batch-size': { type: 'number', help: 'sequences per step', default: 12, integer: true, min: 1 },
  'grad-accum': { type: 'number', help: 'micro-batches accumulated per optimizer step', default: 1, integer: true, min: 1 },
  'max-iters': { type: 'number', help: 'optimizer steps', default: 2000, integer: true, min: 0 },
  lr: { type: 'number', help: 'peak learning rate', default: 1e-3, gt: 0 },
  'min-lr': { type: 'number', help: 'learning rate at the end of the decay (at most --lr)', default: 1e-4, min: 0 },
  'warmup-iters': { type: 'number', help: 'linear warmup steps', default: 100, integer: true, min: 0 },
  'lr-decay-iters': { type: 'number', help: 'steps over which the lr decays (default: max-iters)', integer: true, min: 1 },
  schedule: { type: 'string', help: 'learning-rate schedule', default: 'cosine', choices: ['cosine', 'linear', 'constant', 'noam'] },
  'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: 0.1, min: 0 },
  decay: { type: 'string', help: 'what weight decay applies to: matrices (not biases, norms, embeddings), matrices+embeddings (nanoGPT), all',
    default: 'matrices', choices: ['matrices', 'matrices+embeddings', 'all'] },
  beta1: { type: 'number', help: 'AdamW beta1', default: 0.9, min: 0, lt: 1 },
  beta2: { type: 'number', help: 'AdamW beta2', default: 0.99, min: 0, lt: 1 },
  'grad-clip': { type: 'number', help: 'clip gradients to this global norm (0: off)', default: 1.0, min: 0 },
  dropout: { type: 'number', help: 'dropout probability', default: 0, min: 0, lt: 1 },
  'init-std': { type: 'number', help: 'standard deviation of the initial weights (HF initializer_range; default 0.02)', gt: 0 },
  position: { type: 'string', help: 'positions: learned (GPT-2\'s wpe, BERT\'s absolute), sinusoidal, relative (Shaw et al.), rope, alibi (a locality bias from the first step), none; all but learned are tlm extensions HF cannot load',
    default: 'learned', choices: POSITION_CHOICES },
  'norm-first': { type: 'boolean', help: 'masked LM: pre-norm BERT layers plus a final LayerNorm; trains faster and more stably than BERT\'s post-norm, but HF\'s BertModel cannot load it' },
  'no-bias': { type: 'boolean', help: 'no biases in linear layers and LayerNorms (nanoGPT\'s default; GPT causal LM only)' },
  activation: { type: 'string', help: 'MLP activation of the GPT (gelu_new is GPT-2\'s tanh form)', default: 'gelu_new', choices: ['gelu_new', 'gelu', 'relu'] },
  'eval-interval': { type: 'number', help: 'evaluate, checkpoint and save the model every N steps (and at the end)', default: 250, integer: true, min: 1 },
  'eval-iters': { type: 'number', help: 'batches per evaluation', default: 20, integer: true, min: 1 },
  'log-interval': { type: 'number', help: 'write a metrics line every N steps', default: 10, integer: true, min: 1 },
  'max-seconds': { type: 'number', help: 'stop (evaluate and save) after this many seconds', gt: 0 },
  seed: { type: 'number', help: 'random seed (same seed, same losses)', default: 1337, integer: true, min: 0 },
  out: { type: 'string', help: 'output directory', default: 'out' },
  resume: { type: 'boolean', help: 'continue from the latest checkpoint in --out' },
  overwrite: { type: 'boolean', help: 'replace the model, checkpoints and metrics already in --out' },
  'lossy-utf8': { type: 'boolean', help: 'accept data that is not valid UTF-8 (invalid bytes become U+FFFD) instead of refusing it' },
  quiet: { type: 'boolean', help: 'no progress bar' },
  device: deviceFlag,
};

const spec: CommandSpec = {
  name: 'train',
  usage: 'train --data FILE [--data FILE...] [flags]',
  summary: 'Pretrain a language model on text: causal LM (GPT) or masked LM (BERT). Writes an HF-layout model to --out.',
  flags: trainFlags,
};

export function trainerConfigFrom(f: FlagValues): TrainerConfig {
  const num = (k: string) => f[k] as number;
  return {
    objective: f.objective as 'clm' | 'mlm', batchSize: num('batch-size'), blockSize: num('block-size'), maxIters: num('max-iters'),
    lr: num('lr'), minLr: num('min-lr'), warmupIters: num('warmup-iters'), lrDecayIters: (f['lr-decay-iters'] as number | undefined) ?? num('max-iters'),
    schedule: f.schedule as TrainerConfig['schedule'], weightDecay: num('weight-decay'), beta1: num('beta1'), beta2: num('beta2'),
    gradClip: num('grad-clip'), gradAccum: num('grad-accum'), evalInterval: num('eval-interval'), evalIters: num('eval-iters'),
    logInterval: num('log-interval'), seed: num('seed'), maxSeconds: f['max-seconds'] as number | undefined,
    decay: f.decay as TrainerConfig['decay'],
  };
}

/** Checks that involve several of the training flags (each flag's own range is in its definition). */
export function checkTrainFlags(f: FlagValues): string | undefined {
  if ((f['min-lr'] as number) > (f.lr as number)) return `--min-lr ${f['min-lr']} must not exceed --lr ${f.lr}`;
  if ((f['n-embd'] as number) % (f['n-head'] as number) !== 0) return `--n-embd ${f['n-embd']} is not divisible by --n-head ${f['n-head']}`;
  if (f.resume && f.overwrite) return '--resume and --overwrite contradict each other; pick one';
  if (f.objective === 'mlm' && (f['no-bias'] || f.activation !== 'gelu_new')) return '--no-bias and --activation apply to the GPT (causal LM) only';
  if (f['init-from'] && (f['norm-first'] || f.position !== 'learned' || f['no-bias'] || f.activation !== 'gelu_new' || f['init-std'] !== undefined || f.arch !== 'gpt2')) {
    return '--init-from takes the model\'s own architecture: drop --arch, --norm-first, --position, --no-bias, --activation and --init-std';
  }
  if (f['norm-first'] && f.objective !== 'mlm') return '--norm-first applies to --objective mlm (the GPT causal LM is already pre-norm)';
  if (f.arch === 'llama' && f.position !== 'learned') return '--position applies to --arch gpt2 and to --objective mlm (llama uses RoPE)';
  if (f.arch === 'llama' && f.objective === 'mlm') return '--arch llama is a causal LM: use it with --objective clm';
  if (f.arch === 'llama' && (f['no-bias'] || f.activation !== 'gelu_new')) return '--no-bias and --activation apply to --arch gpt2 only (llama has no biases and a SwiGLU MLP)';
  return undefined;
}
spec.check = checkTrainFlags;

/** tlm train's flags → the pretraining pipeline, with Ctrl-C / SIGTERM saving before exit. */
export async function runTraining(f: FlagValues, command = 'tlm train'): Promise<PretrainResult> {
  await useDevice(f, command);
  const log = (s: string) => console.error(s);
  const interrupt = onInterrupt(log, 'finishing the step, then saving a checkpoint and the model');
  try {
    return await pretrain({
      data: f.data as string[], tokenizer: f.tokenizer as string, vocabSize: f['vocab-size'] as number,
      model: {
        nLayer: f['n-layer'] as number, nHead: f['n-head'] as number, nEmbd: f['n-embd'] as number, dropout: f.dropout as number,
        ...(f.arch === 'llama' ? { arch: 'llama' as const } : {}), ...(f['no-bias'] ? { bias: false } : {}), ...(f['init-std'] !== undefined ? { initStd: f['init-std'] as number } : {}), ...(f['norm-first'] ? { normFirst: true } : {}), ...(f.position !== 'learned' ? { position: f.position as string } : {}), ...(f.activation !== 'gelu_new' ? { activation: f.activation as string } : {}),
      },
      trainer: trainerConfigFrom(f), out: f.out as string, ...(f['init-from'] ? { initFrom: f['init-from'] as string } : {}), resume: f.resume === true, overwrite: f.overwrite === true,
      lossyUtf8: f['lossy-utf8'] === true, quiet: f.quiet === true, stop: interrupt.stop, command, log,
    });
  } finally {
    interrupt.dispose();
  }
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    await runTraining(f);
  },
};
