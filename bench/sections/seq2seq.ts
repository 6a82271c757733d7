// Seq2seq throughput: the Multi30k DE→EN recipe's model (bench/recipes/multi30k.sh: MarianMT layout,
// 3+3 layers, 4 heads, 256 wide, FFN 1024, ReLU, one joint byte-level BPE vocabulary of 8000 shared
// by both sides and tied to the output projection) in tlm and in plain PyTorch
// (bench/torch_seq2seq.py), same weights, same batches, same thread count, in the same run:
//
//  - training: target tokens/s of whole optimizer steps (dropout 0.1, label smoothing 0.1, AdamW,
//    gradient clipping 1.0) on token-budget batches of ≤4096 tokens drawn by tlm's seq2seq task from
//    the Multi30k training pairs; PyTorch replays the same batches (same ids, same padding); 10 timed
//    steps after 2 untimed (--quick: 2 after 1);
//  - translation: sentences/s of batched beam search (4 beams, 16 sources a batch as `tlm translate`,
//    length penalty 1, at most source length + 50 new tokens) over the first 160 of test2016's German
//    sources (--quick: 16). The note says how many hypotheses PyTorch found equal to tlm's.
//
// The tokenizer is trained here (1-2 s) on the training text, as the recipe does. The weights are
// tlm's random initialisation, written to a temp dir that PyTorch loads, so both sides search the
// same beams: an untrained model rarely ends a hypothesis early, so most run to the length limit
// and sentences/s is lower than a trained model's. TLM_BENCH_SEQ2SEQ_MODEL=DIR (a recipe's OUT_DIR)
// benches a trained model and its tokenizer instead.
//
// On a loaded machine PyTorch's OpenMP threads spin-wait for each other at every op, and a step of
// many small ops (beam search) slows by 10× or more; OMP_WAIT_POLICY=PASSIVE in the environment of
// `npm run bench` (passed on to the peer) avoids that. Time on an idle machine.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSection } from '../run.js';
import { runTorchPeer } from '../torch_peer.js';
import { waitIdle } from '../idle.js';
import { getCpuThreads } from '../../src/index.js';
import { Generator } from '../../src/tensor/random.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { trainByteLevelBpe, type Tokenizer } from '../../src/tokenizers/index.js';
import { MarianMTModel } from '../../src/models/marian/index.js';
import { Trainer, type TrainingArguments } from '../../src/train/trainer.js';
import type { TrainingTask } from '../../src/train/task.js';
import { encodePairs, Seq2SeqTask } from '../../src/tasks/seq2seq_task.js';
import { loadSeq2Seq } from '../../src/pipelines/seq2seq_apply.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAX_LEN = 96, MAX_TOKENS = 4096, BEAMS = 4, BATCH = 16, OVER_SOURCE = 50;
/** The recipe's optimizer settings (multi30k.sh; finetune's defaults for the rest). */
const OPTIM = { lr: 1e-3, beta1: 0.9, beta2: 0.98, weightDecay: 1e-4, labelSmoothing: 0.1, gradClip: 1.0 };

type Batch = Parameters<Seq2SeqTask['loss']>[1];
const FIELDS = ['inputIds', 'attentionMask', 'decoderInputIds', 'decoderAttentionMask', 'labels'] as const;
const PY_NAMES = ['input_ids', 'attention_mask', 'decoder_input_ids', 'decoder_attention_mask', 'labels'];
/** A collated batch kept as plain arrays: replayed by tlm, written for PyTorch. */
interface StoredBatch { shape: Record<(typeof FIELDS)[number], number[]>; data: Record<(typeof FIELDS)[number], Int32Array>; tokens: number }

/** Serves the same stored batches in order (tensors made afresh each step, as the task's collate does). */
class ReplayTask implements TrainingTask<MarianMTModel, Batch> {
  readonly metricForBest = 'loss';
  private next = 0;
  constructor(private readonly batches: StoredBatch[], private readonly inner: Seq2SeqTask) {}
  trainBatch(): { inputs: Batch; tokens: number } {
    const b = this.batches[this.next++ % this.batches.length]!;
    const t = (k: (typeof FIELDS)[number]): Tensor => tensor(b.data[k], { shape: b.shape[k] });
    return { inputs: { inputIds: t('inputIds'), attentionMask: t('attentionMask'), decoderInputIds: t('decoderInputIds'), decoderAttentionMask: t('decoderAttentionMask'), labels: t('labels') }, tokens: b.tokens };
  }
  loss(model: MarianMTModel, inputs: Batch): Tensor { return this.inner.loss(model as never, inputs); }
  evaluate(): Record<string, number> { return {}; }
}

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

/** The recipe's model from scratch (as finetuneSeq2Seq --from-scratch builds it), or a trained one. */
async function modelAndTokenizer(trainText: string[], log: (s: string) => void): Promise<{ model: MarianMTModel; tok: Tokenizer; trained: boolean }> {
  const dir = process.env.TLM_BENCH_SEQ2SEQ_MODEL;
  if (dir) {
    const p = await loadSeq2Seq(dir, 'bench seq2seq');
    if (!(p.model instanceof MarianMTModel)) throw new Error(`bench seq2seq: ${dir} holds a ${p.model.architecture}, expected MarianMTModel`);
    return { model: p.model, tok: p.tokenizer, trained: true };
  }
  const t0 = performance.now();
  const tok = trainByteLevelBpe(trainText, { vocabSize: 8000, specialTokens: ['<pad>', '</s>', '<unk>'] });
  log(`bench seq2seq: tokenizer trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const model = new MarianMTModel({
    vocab_size: tok.vocabSize, d_model: 256, encoder_layers: 3, decoder_layers: 3, encoder_attention_heads: 4, decoder_attention_heads: 4,
    encoder_ffn_dim: 1024, decoder_ffn_dim: 1024, activation_function: 'relu', dropout: 0.1, attention_dropout: 0, activation_dropout: 0,
    max_position_embeddings: MAX_LEN + 2, scale_embedding: true, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0,
    forced_eos_token_id: 1, share_encoder_decoder_embeddings: true, tie_word_embeddings: true,
  });
  return { model, tok, trained: false };
}

/** Token-budget batches as tlm's seq2seq task draws them (the trainer's data generator, seeded). */
function drawBatches(task: Seq2SeqTask, n: number): StoredBatch[] {
  const gen = new Generator(1337);
  return Array.from({ length: n }, () => tidy(() => {
    const { inputs, tokens } = task.trainBatch(gen);
    const b: StoredBatch = { shape: {} as StoredBatch['shape'], data: {} as StoredBatch['data'], tokens };
    for (const k of FIELDS) { b.shape[k] = [...inputs[k].shape]; b.data[k] = Int32Array.from(inputs[k].dataSync() as Int32Array); }
    return b;
  }));
}

function rows2d(a: Int32Array, shape: number[]): number[][] {
  return Array.from({ length: shape[0]! }, (_, r) => Array.from(a.subarray(r * shape[1]!, (r + 1) * shape[1]!)));
}

interface TorchResult { train_tokens_per_s: number; beam_sentences_per_s: number; hypotheses: number[][]; threads: number; torch: string }

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const data = join(process.env.TLM_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data'), 'multi30k');
  if (!existsSync(join(data, 'test2016.de'))) {
    console.error(`bench seq2seq: skipped (no Multi30k in ${data}; set TLM_DATA)`);
    return [];
  }
  const log = (s: string) => console.error(s);
  const threads = getCpuThreads();
  const warmSteps = quick ? 1 : 2, steps = quick ? 2 : 10, sentences = quick ? BATCH : 160;
  // A shared machine: wait (a while) for idle CPUs before each side's timed part (not in --quick).
  const idle = () => (quick ? Promise.resolve() : waitIdle(15_000));
  const deAll = readFileSync(join(data, 'train.de'), 'utf8').split('\n'), enAll = readFileSync(join(data, 'train.en'), 'utf8').split('\n');
  const keep = deAll.map((d, i) => d.trim() !== '' && (enAll[i] ?? '').trim() !== '');
  const de = deAll.filter((_, i) => keep[i]), en = enAll.filter((_, i) => keep[i]);
  const { model, tok, trained } = await modelAndTokenizer(de.flatMap((d, i) => [d, en[i]!]), log);
  const cfg = model.config;
  const ids = (text: string) => tok.encode(text, { addSpecialTokens: false }).ids;
  const enc = { encodeSource: ids, encodeTarget: ids, eosId: cfg.eos_token_id, maxSourceLength: MAX_LEN, maxTargetLength: MAX_LEN, truncate: true };
  const pairs = encodePairs(de.map((source, i) => ({ source, target: en[i]!, line: i + 1 })), enc);
  const task = new Seq2SeqTask(pairs, pairs.slice(0, 1), {
    maxTokens: MAX_TOKENS, padId: cfg.pad_token_id, decoderStartId: cfg.decoder_start_token_id, labelSmoothing: OPTIM.labelSmoothing,
    metric: 'bleu', decode: async () => [], detokenize: () => '', references: [''],
  });
  const batches = drawBatches(task, warmSteps + steps);
  const sources = readLines(join(data, 'test2016.de')).slice(0, sentences).map((s) => [...ids(s).slice(0, MAX_LEN - 1), cfg.eos_token_id]);

  // The weights both sides start from.
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-bench-s2s-'));
  try {
    await model.savePretrained(tmp);

    // Beam search, batches of BATCH sources, as `tlm translate --num-beams 4`.
    model.eval();
    const genOpts = { numBeams: BEAMS, eosTokenId: cfg.eos_token_id, padTokenId: cfg.pad_token_id };
    await model.generate(sources.slice(0, 2), { ...genOpts, maxNewTokens: 2 }); // warm up: threads, pools
    await idle();
    const t0 = performance.now();
    const hyps: number[][] = [];
    for (let i = 0; i < sources.length; i += BATCH) {
      const out = await model.generate(sources.slice(i, i + BATCH), { ...genOpts, maxNewTokensOverSource: OVER_SOURCE });
      hyps.push(...out.map((r) => r.slice(1)));
    }
    const tlmSentences = sources.length / ((performance.now() - t0) / 1000);

    // Training steps on the stored batches (the first warmSteps not timed).
    model.train();
    const args: TrainingArguments = {
      maxIters: batches.length, lr: OPTIM.lr, minLr: 0, warmupIters: 1000, lrDecayIters: batches.length, schedule: 'inverse_sqrt',
      weightDecay: OPTIM.weightDecay, beta1: OPTIM.beta1, beta2: OPTIM.beta2, gradClip: OPTIM.gradClip, gradAccum: 1, evalInterval: 0, logInterval: 0, seed: 1337,
    };
    const trainer = new Trainer(model, new ReplayTask(batches, task), args);
    for (let i = 0; i < warmSteps; i++) await trainer.trainStep();
    await idle();
    const t1 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    const tlmTokens = batches.slice(warmSteps).reduce((n, b) => n + b.tokens, 0) / ((performance.now() - t1) / 1000);
    trainer.optimizer.dispose();

    const spec = {
      model_dir: trained ? process.env.TLM_BENCH_SEQ2SEQ_MODEL : tmp,
      beam: { sources, batch_size: BATCH, num_beams: BEAMS, length_penalty: 1.0, max_over_source: OVER_SOURCE, warmup_sources: 2 },
      train: {
        batches: batches.map((b) => Object.fromEntries(FIELDS.map((k, j) => [PY_NAMES[j], rows2d(b.data[k], b.shape[k])]))), warmup: warmSteps,
        lr: OPTIM.lr, betas: [OPTIM.beta1, OPTIM.beta2], weight_decay: OPTIM.weightDecay, label_smoothing: OPTIM.labelSmoothing, grad_clip: OPTIM.gradClip,
      },
    };
    writeFileSync(join(tmp, 'spec.json'), JSON.stringify(spec));
    await idle();
    const torch = runTorchPeer<TorchResult>('seq2seq', 'torch_seq2seq.py', ['--spec', join(tmp, 'spec.json'), '--threads', String(threads)]);

    const same = torch ? hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(torch.hypotheses[i])).length : null;
    const meanLen = hyps.reduce((n, h) => n + h.length, 0) / hyps.length;
    const tgtTokens = batches.slice(warmSteps).reduce((n, b) => n + b.tokens, 0) / steps;
    const weights = trained ? `weights of ${process.env.TLM_BENCH_SEQ2SEQ_MODEL}` : 'random weights';
    const base = `${threads} thread(s)${torch ? `; torch ${torch.torch}, ${torch.threads} thread(s)` : ''}`;
    const name = `Multi30k Marian ${cfg.encoder_layers}+${cfg.decoder_layers}×${cfg.d_model} (${(model.numParameters() / 1e6).toFixed(1)}M)`;
    model.dispose();
    return [
      { section: 'seq2seq', name: `${name} training step, ≤${MAX_TOKENS}-token batches, AdamW`, value: tlmTokens, unit: 'target tokens/s',
        peers: { torch: torch?.train_tokens_per_s ?? null }, higherIsBetter: true, note: `${base}; ${steps} steps, ${tgtTokens.toFixed(0)} target tokens a step` },
      { section: 'seq2seq', name: `${name} beam search ${BEAMS}, ${BATCH} a batch, ${sources.length} test2016 sources`, value: tlmSentences, unit: 'sentences/s',
        peers: { torch: torch?.beam_sentences_per_s ?? null }, higherIsBetter: true,
        note: `${base}; ${weights}, mean hypothesis ${meanLen.toFixed(1)} tokens${same === null ? '' : `; torch's hypotheses equal tlm's for ${same}/${hyps.length}`}` },
    ];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const section: BenchSection = { name: 'seq2seq', run };
export default section;
