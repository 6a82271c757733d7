// tlm finetune: a pretrained model (or a fresh one) + a labelled file → a classifier or an extractive
// QA model, by full fine-tuning, LoRA, or training only the head. Writes an HF-layout model (or a
// PEFT adapter) to --out; the training flags are tlm train's, with HF's fine-tuning defaults.

import type { CommandSpec, FlagValues } from '../args.js';
import { finetune, type FinetuneOptions } from '../../pipelines/finetune.js';
import { onInterrupt } from '../../pipelines/interrupt.js';

const spec: CommandSpec = {
  name: 'finetune',
  usage: 'finetune --task classify|qa (--model DIR | --from-scratch) --train FILE --eval FILE --out DIR [flags]',
  summary: 'Fine-tune a model for a task (classification, extractive QA): full, LoRA, or the head only. Writes an HF-layout model or a PEFT adapter to --out.',
  flags: {
    task: { type: 'string', help: 'the task', choices: ['classify', 'qa'] },
    model: { type: 'string', help: 'pretrained model directory (tlm or HF Transformers layout)' },
    'from-scratch': { type: 'boolean', help: 'a fresh BERT sized by --n-layer/--n-head/--n-embd, with a WordPiece tokenizer trained on the training texts' },
    train: { type: 'string', help: 'training data: csv, tsv, jsonl (classify) or SQuAD json (qa)' },
    eval: { type: 'string', help: 'evaluation data, same format' },
    format: { type: 'string', help: 'data format (default: from the extension)', choices: ['csv', 'tsv', 'jsonl', 'squad'] },
    'text-column': { type: 'string', help: 'column with the text', default: 'text' },
    'text-pair-column': { type: 'string', help: 'column with the second text of a pair task' },
    'label-column': { type: 'string', help: 'column with the label', default: 'label' },
    'train-articles': { type: 'string', help: 'qa: articles of --train to use, START:END (end excluded), e.g. 0:38' },
    'eval-articles': { type: 'string', help: 'qa: articles of --eval to use, e.g. 38:' },
    'max-length': { type: 'number', help: 'tokens per input, special tokens included (default 128; qa 384)', integer: true, min: 8 },
    'doc-stride': { type: 'number', help: 'qa: context tokens shared by consecutive windows', default: 128, integer: true, min: 0 },
    method: { type: 'string', help: 'what trains: everything, LoRA adapters, a soft prompt (prompt tuning), per-layer key/value prefixes (prefix tuning, deep prompts), or only the task head (a linear probe)',
      default: 'full', choices: ['full', 'lora', 'prompt', 'prefix', 'head'] },
    'num-virtual-tokens': { type: 'number', help: 'prompt/prefix: virtual tokens', default: 20, integer: true, min: 1 },
    'prefix-projection': { type: 'boolean', help: 'prefix: learn the prefix through an MLP (P-tuning v2\'s reparameterization)' },
    'lora-r': { type: 'number', help: 'LoRA rank', default: 8, integer: true, min: 1 },
    'lora-alpha': { type: 'number', help: 'LoRA alpha (scale = alpha / r)', default: 16, gt: 0 },
    'lora-dropout': { type: 'number', help: 'dropout on the LoRA input', default: 0.1, min: 0, lt: 1 },
    'lora-targets': { type: 'strings', help: 'module names to adapt (default: query, value for BERT; c_attn for GPT-2)' },
    'modules-to-save': { type: 'strings', help: 'lora/prompt/prefix: modules trained in full beside the adapter (the task head always is; e.g. pooler when the checkpoint has none)' },
    merge: { type: 'boolean', help: 'LoRA: also save the base model with the adapter merged into its weights' },
    'freeze-embeddings': { type: 'boolean', help: 'full: keep the embeddings fixed' },
    'freeze-layers': { type: 'number', help: 'full: keep the embeddings and the first N layers fixed', integer: true, min: 0 },
    'n-layer': { type: 'number', help: 'from scratch: layers', default: 4, integer: true, min: 1 },
    'n-head': { type: 'number', help: 'from scratch: attention heads', default: 4, integer: true, min: 1 },
    'n-embd': { type: 'number', help: 'from scratch: width', default: 256, integer: true, min: 1 },
    'vocab-size': { type: 'number', help: 'from scratch: WordPiece vocabulary size', default: 8000, integer: true, min: 100 },
    dropout: { type: 'number', help: 'from scratch: dropout', default: 0.1, min: 0, lt: 1 },
    'batch-size': { type: 'number', help: 'examples per step', default: 32, integer: true, min: 1 },
    epochs: { type: 'number', help: 'passes over the training data (default 3; --max-iters wins)', gt: 0 },
    'max-iters': { type: 'number', help: 'optimizer steps (instead of --epochs)', integer: true, min: 1 },
    lr: { type: 'number', help: 'peak learning rate', default: 5e-5, gt: 0 },
    'min-lr': { type: 'number', help: 'learning rate at the end of the decay', default: 0, min: 0 },
    'warmup-iters': { type: 'number', help: 'linear warmup steps', default: 0, integer: true, min: 0 },
    schedule: { type: 'string', help: 'learning-rate schedule (HF fine-tuning: linear)', default: 'linear', choices: ['linear', 'cosine', 'constant'] },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (not on biases, norms, embeddings)', default: 0.01, min: 0 },
    beta1: { type: 'number', help: 'AdamW beta1', default: 0.9, min: 0, lt: 1 },
    beta2: { type: 'number', help: 'AdamW beta2', default: 0.999, min: 0, lt: 1 },
    'grad-clip': { type: 'number', help: 'clip gradients to this global norm (0: off)', default: 1.0, min: 0 },
    'grad-accum': { type: 'number', help: 'micro-batches per optimizer step', default: 1, integer: true, min: 1 },
    'eval-interval': { type: 'number', help: 'evaluate, checkpoint and save every N steps (default: once an epoch)', integer: true, min: 1 },
    'metric-for-best': { type: 'string', help: 'the evaluation metric that picks the best model (default: accuracy for classify, f1 for qa)',
      choices: ['accuracy', 'macro_f1', 'mcc', 'eval_loss', 'f1', 'exact_match'] },
    'early-stopping-patience': { type: 'number', help: 'stop after N evaluations without a better metric (0: never)', default: 0, integer: true, min: 0 },
    'log-interval': { type: 'number', help: 'write a metrics line every N steps', default: 10, integer: true, min: 1 },
    'max-seconds': { type: 'number', help: 'stop (evaluate and save) after this many seconds', gt: 0 },
    seed: { type: 'number', help: 'random seed', default: 42, integer: true, min: 0 },
    out: { type: 'string', help: 'output directory' },
    resume: { type: 'boolean', help: 'continue from the latest checkpoint in --out' },
    overwrite: { type: 'boolean', help: 'replace what --out holds' },
    'lossy-utf8': { type: 'boolean', help: 'accept data that is not valid UTF-8' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  check: (f) => {
    if (!f.task) return '--task classify|qa is required';
    if (!f.train || !f.eval) return '--train FILE and --eval FILE are required';
    if (!f.out) return '--out DIR is required';
    if (!f.model && !f['from-scratch']) return '--model DIR or --from-scratch is required';
    if (f.model && f['from-scratch']) return '--model and --from-scratch exclude each other';
    if ((f['min-lr'] as number) > (f.lr as number)) return `--min-lr ${f['min-lr']} must not exceed --lr ${f.lr}`;
    if (f.resume && f.overwrite) return '--resume and --overwrite contradict each other; pick one';
    const metric = f['metric-for-best'] as string | undefined;
    if (metric && (f.task === 'qa') !== ['f1', 'exact_match'].includes(metric)) return `--metric-for-best ${metric} is not a metric of --task ${f.task}`;
    if (f.method !== 'lora' && (f.merge || f['lora-targets'])) return '--merge and --lora-targets apply to --method lora';
    if (f['modules-to-save'] && !['lora', 'prompt', 'prefix'].includes(f.method as string)) return '--modules-to-save applies to --method lora, prompt or prefix';
    if (f['prefix-projection'] && f.method !== 'prefix') return '--prefix-projection applies to --method prefix';
    if ((f['n-embd'] as number) % (f['n-head'] as number) !== 0) return `--n-embd ${f['n-embd']} is not divisible by --n-head ${f['n-head']}`;
    return undefined;
  },
};

export function finetuneOptions(f: FlagValues): FinetuneOptions {
  const num = (k: string) => f[k] as number;
  const task = f.task as 'classify' | 'qa';
  return {
    task, model: f.model as string | undefined, train: f.train as string, eval: f.eval as string, format: f.format as string | undefined,
    fromScratch: f['from-scratch'] ? { arch: 'bert', nLayer: num('n-layer'), nHead: num('n-head'), nEmbd: num('n-embd'), vocabSize: num('vocab-size'), dropout: num('dropout') } : undefined,
    columns: { textColumn: f['text-column'] as string, textPairColumn: f['text-pair-column'] as string | undefined, labelColumn: f['label-column'] as string },
    trainArticles: f['train-articles'] as string | undefined, evalArticles: f['eval-articles'] as string | undefined,
    maxLength: (f['max-length'] as number | undefined) ?? (task === 'qa' ? 384 : 128), docStride: num('doc-stride'),
    method: f.method as FinetuneOptions['method'],
    lora: { r: num('lora-r'), alpha: num('lora-alpha'), dropout: num('lora-dropout'), targets: f['lora-targets'] as string[] | undefined,
      modulesToSave: f['modules-to-save'] as string[] | undefined },
    prompt: { numVirtualTokens: num('num-virtual-tokens'), prefixProjection: f['prefix-projection'] === true, modulesToSave: f['modules-to-save'] as string[] | undefined },
    merge: f.merge === true, freezeEmbeddings: f['freeze-embeddings'] === true, freezeLayers: f['freeze-layers'] as number | undefined,
    batchSize: num('batch-size'), epochs: f.epochs as number | undefined,
    args: {
      maxIters: f['max-iters'] as number | undefined, lr: num('lr'), minLr: num('min-lr'), warmupIters: num('warmup-iters'),
      schedule: f.schedule as 'linear', weightDecay: num('weight-decay'), beta1: num('beta1'), beta2: num('beta2'), gradClip: num('grad-clip'),
      gradAccum: num('grad-accum'), evalInterval: f['eval-interval'] as number | undefined, logInterval: num('log-interval'),
      seed: num('seed'), maxSeconds: f['max-seconds'] as number | undefined, earlyStoppingPatience: num('early-stopping-patience'),
      metricForBest: f['metric-for-best'] as string | undefined,
    },
    out: f.out as string, resume: f.resume === true, overwrite: f.overwrite === true, lossyUtf8: f['lossy-utf8'] === true, quiet: f.quiet === true,
  };
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    const log = (s: string) => console.error(s);
    const interrupt = onInterrupt(log, 'finishing the step, then saving a checkpoint and the model');
    try {
      const res = await finetune({ ...finetuneOptions(f), stop: interrupt.stop, log });
      console.log(JSON.stringify({ out: res.outDir, steps: res.steps, seconds: Math.round(res.seconds * 10) / 10, best: { [res.metricName]: res.bestMetric },
        last: res.metrics, trainable_parameters: res.trainableParameters, parameters: res.totalParameters }));
    } finally {
      interrupt.dispose();
    }
  },
};
