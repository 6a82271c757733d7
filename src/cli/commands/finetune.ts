// tlm finetune: a pretrained model (or a fresh one) + a labelled file → a classifier or an extractive
// QA model, by full fine-tuning, LoRA, or training only the head. Writes an HF-layout model (or a
// PEFT adapter) to --out; the training flags are tlm train's, with HF's fine-tuning defaults.

import type { CommandSpec, FlagValues } from '../args.js';
import { finetune, type FinetuneOptions } from '../../pipelines/finetune.js';
import { finetuneSeq2Seq, type Seq2SeqFinetuneOptions } from '../../pipelines/finetune_seq2seq.js';
import { onInterrupt } from '../../pipelines/interrupt.js';
import { deviceFlag, useDevice } from '../device.js';
import { POSITION_CHOICES } from './train.js';

/** Distillation's defaults (a flag that differs from them without --teacher is a mistake). */
const DISTILL = { alpha: 0.5, temperature: 2 };

const spec: CommandSpec = {
  name: 'finetune',
  usage: 'finetune --task classify|qa|translate|summarize (--model DIR | --from-scratch) --train FILE --eval FILE --out DIR [flags]',
  summary: 'Fine-tune a model for a task (classification, extractive QA: full, LoRA, prompts or the head only; translation, summarization: an encoder-decoder in MarianMT\'s layout). Writes an HF-layout model or a PEFT adapter to --out.',
  flags: {
    task: { type: 'string', help: 'the task', choices: ['classify', 'qa', 'translate', 'summarize'] },
    model: { type: 'string', help: 'pretrained model directory (tlm or HF Transformers layout)' },
    'from-scratch': { type: 'boolean', help: 'a fresh BERT sized by --n-layer/--n-head/--n-embd, with a WordPiece tokenizer trained on the training texts' },
    train: { type: 'string', help: 'training data: csv, tsv, jsonl (classify; translate/summarize with --source-field/--target-field) or SQuAD json (qa)' },
    eval: { type: 'string', help: 'evaluation data, same format' },
    source: { type: 'string', help: 'translate/summarize: training source text, one example a line (with --target)' },
    target: { type: 'string', help: 'translate/summarize: training target text, line-aligned with --source' },
    'eval-source': { type: 'string', help: 'translate/summarize: validation source file (with --eval-target)' },
    'eval-target': { type: 'string', help: 'translate/summarize: validation target file' },
    'source-field': { type: 'string', help: 'translate/summarize with --train: the source field (SAMSum: source)', default: 'source' },
    'target-field': { type: 'string', help: 'translate/summarize with --train: the target field (SAMSum: summary)', default: 'target' },
    'max-source-length': { type: 'number', help: 'translate/summarize: source tokens at most, EOS included', default: 128, integer: true, min: 2 },
    'max-target-length': { type: 'number', help: 'translate/summarize: target tokens at most, EOS included', default: 128, integer: true, min: 2 },
    truncate: { type: 'boolean', help: 'translate/summarize: cut longer pairs to the limits (default: refuse them)' },
    'skip-empty': { type: 'boolean', help: 'translate/summarize: leave out pairs with an empty source or target, with a warning (default: refuse them)' },
    'max-tokens': { type: 'number', help: 'translate/summarize: tokens per batch (rows × longest side), as fairseq', default: 4096, integer: true, min: 8 },
    'label-smoothing': { type: 'number', help: 'translate/summarize: label smoothing of the cross-entropy', default: 0.1, min: 0, lt: 1 },
    'ffn-dim': { type: 'number', help: 'translate/summarize from scratch: feed-forward width', default: 1024, integer: true, min: 1 },
    'average-last': { type: 'number', help: 'average the last N step checkpoints (one per evaluation) at the end, as fairseq does; kept if better on the evaluation data', integer: true, min: 2 },
    'eval-examples': { type: 'number', help: 'translate/summarize: validation pairs decoded for BLEU / ROUGE at each evaluation', default: 500, integer: true, min: 1 },
    format: { type: 'string', help: 'data format (default: from the extension)', choices: ['csv', 'tsv', 'jsonl', 'squad'] },
    'text-column': { type: 'string', help: 'column with the text', default: 'text' },
    'text-pair-column': { type: 'string', help: 'column with the second text of a pair task' },
    'label-column': { type: 'string', help: 'column with the label', default: 'label' },
    'train-articles': { type: 'string', help: 'qa: articles of --train to use, START:END (end excluded), e.g. 0:38' },
    'eval-articles': { type: 'string', help: 'qa: articles of --eval to use, e.g. 38:' },
    'max-length': { type: 'number', help: 'tokens per input, special tokens included (default 128, qa 384, within the model\'s positions)', integer: true, min: 8 },
    'doc-stride': { type: 'number', help: 'qa: context tokens shared by consecutive windows (default min(128, max-length / 3))', integer: true, min: 0 },
    pooling: { type: 'string', help: 'classify, BERT: what the pooler reads: the [CLS] state (BERT\'s) or the mean of the tokens\' states (for models pretrained by masked LM alone; default: the checkpoint\'s, else cls)',
      choices: ['cls', 'mean'] },
    pooler: { type: 'string', help: 'classify, BERT: pass the pooled state through the pooler\'s dense + tanh layer (BERT\'s), or hand it to the classifier as it is (none: no untrained layer between a masked-LM encoder and the classifier, and none for an adapter to carry; default: the checkpoint\'s, else dense)',
      choices: ['dense', 'none'] },
    'partial-words': { type: 'boolean', help: 'qa: answers may start or end inside a word, as HF\'s postprocessing allows (default: whole words only)' },
    'question-match': { type: 'boolean', help: 'qa, BERT: context tokens that occur in the question get a token type of their own (an exact-match feature, as DrQA\'s; recorded in config.json and used by tlm answer/eval)' },
    method: { type: 'string', help: 'what trains: everything, LoRA adapters, a soft prompt (prompt tuning), per-layer key/value prefixes (prefix tuning, deep prompts), or only the task head (a linear probe)',
      default: 'full', choices: ['full', 'lora', 'prompt', 'prefix', 'head'] },
    'num-virtual-tokens': { type: 'number', help: 'prompt/prefix: virtual tokens', default: 20, integer: true, min: 1 },
    'prefix-projection': { type: 'boolean', help: 'prefix: learn the prefix through an MLP (P-tuning v2\'s reparameterization)' },
    'prompt-init': { type: 'string', help: 'prompt/prefix: where the virtual tokens start: random (N(0, 1)), vocab (random vocabulary tokens) or text (--prompt-init-text\'s tokens); a prompt starts from their embeddings, a prefix from the keys and values the frozen model computes for them (Li & Liang\'s init; BERT) (default: vocab for prompt, random for prefix, as PEFT)',
      choices: ['random', 'vocab', 'text'] },
    'prompt-init-text': { type: 'string', help: 'prompt/prefix with --prompt-init text: the text, repeated or cut to --num-virtual-tokens tokens (PEFT\'s prompt_tuning_init_text)' },
    'lora-r': { type: 'number', help: 'LoRA rank', default: 8, integer: true, min: 1 },
    'lora-alpha': { type: 'number', help: 'LoRA alpha (scale = alpha / r)', default: 16, gt: 0 },
    'lora-dropout': { type: 'number', help: 'dropout on the LoRA input', default: 0.1, min: 0, lt: 1 },
    'lora-targets': { type: 'strings', help: 'module names to adapt (default: query, value for BERT; c_attn for GPT-2); word_embeddings adapts the embedding table' },
    'lora-rank-pattern': { type: 'strings', help: 'NAME=R: another rank for the layers NAME matches (PEFT\'s rank_pattern), e.g. word_embeddings=1' },
    'lora-alpha-pattern': { type: 'strings', help: 'NAME=ALPHA: another alpha for the layers NAME matches (PEFT\'s alpha_pattern), e.g. word_embeddings=0.25' },
    'modules-to-save': { type: 'strings', help: 'lora/prompt/prefix: modules trained in full beside the adapter (the task head always is; e.g. pooler when the checkpoint has none)' },
    merge: { type: 'boolean', help: 'LoRA: also save the base model with the adapter merged into its weights' },
    teacher: { type: 'strings', help: 'classify: knowledge distillation from this fine-tuned classifier (repeat for an ensemble: their mean distribution teaches); the student learns from its soft labels beside the gold ones' },
    'distill-alpha': { type: 'number', help: 'with --teacher: weight of the gold labels\' cross-entropy; the teachers\' KL term takes 1 - alpha', default: DISTILL.alpha, min: 0, max: 1 },
    'distill-temperature': { type: 'number', help: 'with --teacher: softmax temperature of teachers and student in the KL term (scaled by T^2, as Hinton et al.)', default: DISTILL.temperature, gt: 0 },
    'freeze-embeddings': { type: 'boolean', help: 'full: keep the embeddings fixed' },
    'freeze-layers': { type: 'number', help: 'full: keep the embeddings and the first N layers fixed', integer: true, min: 0 },
    'n-layer': { type: 'number', help: 'from scratch: layers', default: 4, integer: true, min: 1 },
    'n-head': { type: 'number', help: 'from scratch: attention heads', default: 4, integer: true, min: 1 },
    'n-embd': { type: 'number', help: 'from scratch: width', default: 256, integer: true, min: 1 },
    'vocab-size': { type: 'number', help: 'from scratch: WordPiece vocabulary size', default: 8000, integer: true, min: 100 },
    dropout: { type: 'number', help: 'from scratch: dropout', default: 0.1, min: 0, lt: 1 },
    position: { type: 'string', help: 'from scratch (classify, qa): positions, as tlm train --position (alibi: a locality bias from the first step)', default: 'learned',
      choices: POSITION_CHOICES },
    'norm-first': { type: 'boolean', help: 'from scratch (classify, qa): pre-norm BERT layers plus a final LayerNorm' },
    cased: { type: 'boolean', help: 'from scratch (classify, qa): keep case and accents in the WordPiece vocabulary trained on the training texts (default: uncased)' },
    'batch-size': { type: 'number', help: 'examples per step', default: 32, integer: true, min: 1 },
    epochs: { type: 'number', help: 'passes over the training data (default 3; --max-iters wins)', gt: 0 },
    'max-iters': { type: 'number', help: 'optimizer steps (instead of --epochs)', integer: true, min: 1 },
    lr: { type: 'number', help: 'peak learning rate', default: 5e-5, gt: 0 },
    'min-lr': { type: 'number', help: 'learning rate at the end of the decay', default: 0, min: 0 },
    'warmup-iters': { type: 'number', help: 'linear warmup steps', default: 0, integer: true, min: 0 },
    schedule: { type: 'string', help: 'learning-rate schedule (HF fine-tuning: linear; Transformer: inverse_sqrt)', default: 'linear', choices: ['linear', 'cosine', 'constant', 'inverse_sqrt'] },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (not on biases, norms, embeddings)', default: 0.01, min: 0 },
    'adversarial-eps': { type: 'number', help: 'adversarial training (FGM, Miyato et al. 2017): each batch is also trained on with the token embeddings moved this far (L2) along its loss gradient (0: off)', default: 0, min: 0 },
    'loraplus-lr-ratio': { type: 'number', help: 'LoRA+ (Hayou et al. 2024; PEFT\'s loraplus_lr_ratio): the adapters\' B matrices learn at N × --lr (1: off)', default: 1, gt: 0 },
    'layer-lr-decay': { type: 'number', help: 'layer-wise learning-rate decay (ELECTRA\'s): block i of L learns at N^(L-i) of --lr, the embeddings at N^(L+1), the head at --lr (1: off)', default: 1, gt: 0, max: 1 },
    beta1: { type: 'number', help: 'AdamW beta1', default: 0.9, min: 0, lt: 1 },
    beta2: { type: 'number', help: 'AdamW beta2', default: 0.999, min: 0, lt: 1 },
    'grad-clip': { type: 'number', help: 'clip gradients to this global norm (0: off)', default: 1.0, min: 0 },
    'grad-accum': { type: 'number', help: 'micro-batches per optimizer step', default: 1, integer: true, min: 1 },
    'eval-interval': { type: 'number', help: 'evaluate, checkpoint and save every N steps (default: once an epoch)', integer: true, min: 1 },
    'metric-for-best': { type: 'string', help: 'the evaluation metric that picks the best model (default: accuracy for classify, f1 for qa)',
      choices: ['accuracy', 'macro_f1', 'mcc', 'eval_loss', 'f1', 'exact_match', 'bleu', 'chrf', 'rouge1', 'rouge2', 'rougeL'] },
    'early-stopping-patience': { type: 'number', help: 'stop after N evaluations without a better metric (0: never)', default: 0, integer: true, min: 0 },
    'log-interval': { type: 'number', help: 'write a metrics line every N steps', default: 10, integer: true, min: 1 },
    'max-seconds': { type: 'number', help: 'stop (evaluate and save) after this many seconds', gt: 0 },
    seed: { type: 'number', help: 'random seed', default: 42, integer: true, min: 0 },
    out: { type: 'string', help: 'output directory' },
    resume: { type: 'boolean', help: 'continue from the latest checkpoint in --out' },
    overwrite: { type: 'boolean', help: 'replace what --out holds' },
    'lossy-utf8': { type: 'boolean', help: 'accept data that is not valid UTF-8' },
    quiet: { type: 'boolean', help: 'no progress bar' },
    device: deviceFlag,
  },
  check: (f) => {
    if (!f.task) return '--task classify|qa|translate|summarize is required';
    const seq2seq = f.task === 'translate' || f.task === 'summarize';
    if (seq2seq) {
      if (!(f.train || (f.source && f.target))) return '--source FILE --target FILE (or --train FILE with --source-field/--target-field) is required';
      if (!(f.eval || (f['eval-source'] && f['eval-target']))) return '--eval-source FILE --eval-target FILE (or --eval FILE) is required';
      if (f.method !== 'full') return `--method ${f.method} is for classify and qa; translate and summarize train the whole model`;
    } else if (!f.train || !f.eval) return '--train FILE and --eval FILE are required';
    if (!f.out) return '--out DIR is required';
    if (!f.model && !f['from-scratch']) return '--model DIR or --from-scratch is required';
    if (f.model && f['from-scratch']) return '--model and --from-scratch exclude each other';
    if ((f['min-lr'] as number) > (f.lr as number)) return `--min-lr ${f['min-lr']} must not exceed --lr ${f.lr}`;
    if (f.resume && f.overwrite) return '--resume and --overwrite contradict each other; pick one';
    const metric = f['metric-for-best'] as string | undefined;
    if (metric && !seq2seq && (f.task === 'qa') !== ['f1', 'exact_match'].includes(metric)) return `--metric-for-best ${metric} is not a metric of --task ${f.task}`;
    if (f.method !== 'lora' && (f.merge || f['lora-targets'] || f['lora-rank-pattern'] || f['lora-alpha-pattern'] || f['loraplus-lr-ratio'] !== 1)) return '--merge, --lora-targets, --loraplus-lr-ratio and the LoRA patterns apply to --method lora';
    for (const flag of ['lora-rank-pattern', 'lora-alpha-pattern']) {
      for (const item of (f[flag] as string[] | undefined) ?? []) if (!/^[^=]+=[^=]+$/.test(item) || !Number.isFinite(Number(item.split('=')[1]))) return `--${flag} takes NAME=NUMBER, got ${JSON.stringify(item)}`;
    }
    if (f['modules-to-save'] && !['lora', 'prompt', 'prefix'].includes(f.method as string)) return '--modules-to-save applies to --method lora, prompt or prefix';
    if ((f.position !== 'learned' || f['norm-first']) && (!f['from-scratch'] || seq2seq)) return '--position and --norm-first shape a model trained --from-scratch for classify or qa';
    if (f.cased && (!f['from-scratch'] || seq2seq)) return '--cased shapes the vocabulary of a model trained --from-scratch for classify or qa';
    if (f.pooling && f.task !== 'classify') return '--pooling applies to --task classify';
    if (f.pooler && f.task !== 'classify') return '--pooler applies to --task classify';
    if (f['question-match'] && f.task !== 'qa') return '--question-match applies to --task qa';
    if (f['partial-words'] && f.task !== 'qa') return '--partial-words applies to --task qa';
    if (f.teacher && f.task !== 'classify') return '--teacher (distillation) applies to --task classify';
    if (!f.teacher && (f['distill-alpha'] !== DISTILL.alpha || f['distill-temperature'] !== DISTILL.temperature)) return '--distill-alpha and --distill-temperature apply with --teacher';
    if (f['prefix-projection'] && f.method !== 'prefix') return '--prefix-projection applies to --method prefix';
    if ((f['prompt-init'] || f['prompt-init-text'] !== undefined) && f.method !== 'prompt' && f.method !== 'prefix') return '--prompt-init and --prompt-init-text apply to --method prompt or prefix';
    if ((f['prompt-init'] === 'text') !== (f['prompt-init-text'] !== undefined)) return '--prompt-init text and --prompt-init-text go together';
    if (f['prompt-init'] && f['prompt-init'] !== 'random' && f['prefix-projection']) return `--prompt-init ${f['prompt-init']} sets the prefix itself; with --prefix-projection an MLP computes it`;
    if ((f['n-embd'] as number) % (f['n-head'] as number) !== 0) return `--n-embd ${f['n-embd']} is not divisible by --n-head ${f['n-head']}`;
    return undefined;
  },
};

/** NAME=NUMBER items (checked by the spec) as PEFT's rank_pattern / alpha_pattern. */
function patternFlag(items: unknown): Record<string, number> | undefined {
  if (!Array.isArray(items) || items.length === 0) return undefined;
  return Object.fromEntries(items.map((item: string) => { const [name, v] = item.split('='); return [name!, Number(v)]; }));
}

export function finetuneOptions(f: FlagValues): FinetuneOptions {
  const num = (k: string) => f[k] as number;
  const task = f.task as 'classify' | 'qa';
  return {
    task, model: f.model as string | undefined, train: f.train as string, eval: f.eval as string, format: f.format as string | undefined,
    fromScratch: f['from-scratch'] ? { arch: 'bert', nLayer: num('n-layer'), nHead: num('n-head'), nEmbd: num('n-embd'), vocabSize: num('vocab-size'), dropout: num('dropout'),
      normFirst: f['norm-first'] === true, position: f.position as string, cased: f.cased === true } : undefined,
    columns: { textColumn: f['text-column'] as string, textPairColumn: f['text-pair-column'] as string | undefined, labelColumn: f['label-column'] as string },
    trainArticles: f['train-articles'] as string | undefined, evalArticles: f['eval-articles'] as string | undefined,
    maxLength: f['max-length'] as number | undefined, docStride: f['doc-stride'] as number | undefined,
    questionMatch: f['question-match'] === true, wholeWords: f['partial-words'] !== true, pooling: f.pooling as 'cls' | 'mean' | undefined, pooler: f.pooler as 'dense' | 'none' | undefined,
    method: f.method as FinetuneOptions['method'],
    lora: { r: num('lora-r'), alpha: num('lora-alpha'), dropout: num('lora-dropout'), targets: f['lora-targets'] as string[] | undefined,
      rankPattern: patternFlag(f['lora-rank-pattern']), alphaPattern: patternFlag(f['lora-alpha-pattern']),
      modulesToSave: f['modules-to-save'] as string[] | undefined },
    prompt: { numVirtualTokens: num('num-virtual-tokens'), prefixProjection: f['prefix-projection'] === true, modulesToSave: f['modules-to-save'] as string[] | undefined,
      ...(f['prompt-init'] ? { init: f['prompt-init'] === 'text' ? { text: f['prompt-init-text'] as string } : f['prompt-init'] as 'random' | 'vocab' } : {}) },
    ...(f.teacher ? { distill: { teachers: f.teacher as string[], alpha: num('distill-alpha'), temperature: num('distill-temperature') } } : {}),
    merge: f.merge === true, freezeEmbeddings: f['freeze-embeddings'] === true, freezeLayers: f['freeze-layers'] as number | undefined,
    batchSize: num('batch-size'), epochs: f.epochs as number | undefined, averageLast: f['average-last'] as number | undefined,
    args: {
      maxIters: f['max-iters'] as number | undefined, lr: num('lr'), minLr: num('min-lr'), warmupIters: num('warmup-iters'),
      schedule: f.schedule as 'linear', weightDecay: num('weight-decay'), beta1: num('beta1'), beta2: num('beta2'), gradClip: num('grad-clip'),
      gradAccum: num('grad-accum'), evalInterval: f['eval-interval'] as number | undefined, logInterval: num('log-interval'),
      seed: num('seed'), maxSeconds: f['max-seconds'] as number | undefined, earlyStoppingPatience: num('early-stopping-patience'),
      metricForBest: f['metric-for-best'] as string | undefined, layerLrDecay: num('layer-lr-decay'), adversarialEpsilon: num('adversarial-eps'),
      loraPlusLrRatio: num('loraplus-lr-ratio'),
    },
    out: f.out as string, resume: f.resume === true, overwrite: f.overwrite === true, lossyUtf8: f['lossy-utf8'] === true, quiet: f.quiet === true,
  };
}

/** The translate / summarize flags → the seq2seq pipeline's options. */
export function seq2seqOptions(f: FlagValues): Seq2SeqFinetuneOptions {
  const base = finetuneOptions({ ...f, task: 'classify', train: f.train ?? '', eval: f.eval ?? '' });
  const num = (k: string) => f[k] as number;
  const pairs = (file: unknown, src: unknown, tgt: unknown) => file !== undefined
    ? { file: file as string, sourceField: f['source-field'] as string, targetField: f['target-field'] as string, format: f.format as string | undefined }
    : { source: src as string, target: tgt as string };
  return {
    task: f.task as 'translate' | 'summarize', model: f.model as string | undefined,
    fromScratch: f['from-scratch'] ? { nLayer: num('n-layer'), nHead: num('n-head'), nEmbd: num('n-embd'), ffnDim: num('ffn-dim'), vocabSize: num('vocab-size'), dropout: num('dropout') } : undefined,
    train: pairs(f.train, f.source, f.target), eval: pairs(f.eval, f['eval-source'], f['eval-target']),
    maxSourceLength: num('max-source-length'), maxTargetLength: num('max-target-length'), truncate: f.truncate === true, skipEmpty: f['skip-empty'] === true,
    maxTokens: num('max-tokens'), labelSmoothing: num('label-smoothing'), evalExamples: num('eval-examples'), epochs: base.epochs,
    averageLast: f['average-last'] as number | undefined,
    args: base.args, out: base.out, resume: base.resume, overwrite: base.overwrite, lossyUtf8: base.lossyUtf8, quiet: base.quiet,
  };
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    await useDevice(f, 'tlm finetune');
    const log = (s: string) => console.error(s);
    const interrupt = onInterrupt(log, 'finishing the step, then saving a checkpoint and the model');
    try {
      if (f.task === 'translate' || f.task === 'summarize') {
        const r = await finetuneSeq2Seq({ ...seq2seqOptions(f), stop: interrupt.stop, log });
        console.log(JSON.stringify({ out: r.outDir, steps: r.steps, seconds: Math.round(r.seconds * 10) / 10, best: { [r.metricName]: r.bestMetric }, last: r.metrics, parameters: r.parameters }));
        return;
      }
      const res = await finetune({ ...finetuneOptions(f), stop: interrupt.stop, log });
      console.log(JSON.stringify({ out: res.outDir, steps: res.steps, seconds: Math.round(res.seconds * 10) / 10, best: { [res.metricName]: res.bestMetric },
        last: res.metrics, trainable_parameters: res.trainableParameters, parameters: res.totalParameters }));
    } finally {
      interrupt.dispose();
    }
  },
};
