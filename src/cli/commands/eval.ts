// tlm eval: a model's loss and perplexity on a text file, beside a Kneser–Ney n-gram baseline
// trained with the same tokenizer (on the first 90% of the file; both are scored on the last 10%,
// or on all of it with --split all, where the n-gram then trains on --ngram-train).

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { TokenStream, trainValSplit } from '../../train/data.js';
import { KneserNeyLM } from '../../train/ngram.js';
import { crossEntropy } from '../../tensor/ops/nn.js';
import { tensor } from '../../tensor/ops/creation.js';
import { noGradAsync, tidy } from '../../tensor/engine.js';
import { deviceFlag, useDevice } from '../device.js';
import { Progress } from '../../train/progress.js';
import { getHeapStatistics } from 'node:v8';
import { checkDataFiles } from '../../pipelines/pretrain.js';
import { loadModelDir } from '../../pipelines/model_dir.js';
import { loadTaskModel, evaluateClassifier, evaluateQa, evaluateCloze, parseVerbalizer } from '../../pipelines/apply.js';
import { readTableFile, readSquadFile, parseRange } from '../../pipelines/finetune_data.js';
import { slidingWindowBaseline } from '../../tasks/sliding_window.js';
import { lead3 } from '../../tasks/lead3.js';
import { seq2seqMetrics } from '../../tasks/seq2seq_task.js';
import { loadSeq2Seq, evaluateSeq2Seq } from '../../pipelines/seq2seq_apply.js';
import { readParallelFiles, readPairsFile, type TextPair } from '../../pipelines/finetune_data.js';
import { squad } from '../../tasks/metrics/squad.js';
import { asTask } from '../../models/tasks.js';

/** Past this the counts of a Kneser–Ney model are almost all singletons: nothing left to learn. */
const MAX_NGRAM_ORDER = 10;

/** What the n-gram counts may use: half the V8 heap limit (the rest is the model and the data). */
function heapBudgetBytes(): number {
  const s = getHeapStatistics();
  return (s.heap_size_limit - s.used_heap_size) / 2;
}

const spec: CommandSpec = {
  name: 'eval',
  usage: 'eval --model DIR --data FILE [--task lm|classify|qa] [flags]',
  summary: 'Loss and perplexity of a causal LM on a text file, with a Kneser–Ney n-gram baseline for contrast; or, with --task, a task model\'s metrics on a labelled file.',
  flags: {
    task: { type: 'string', help: 'lm: loss and perplexity; classify: accuracy, macro-F1, MCC; qa: SQuAD exact match and F1; translate: sacreBLEU, chrF and tokenized lower-cased BLEU; summarize: ROUGE-1/2/L/Lsum',
      default: 'lm', choices: ['lm', 'classify', 'qa', 'translate', 'summarize'] },
    source: { type: 'string', help: 'translate/summarize: source text, one example a line (with --target)' },
    target: { type: 'string', help: 'translate/summarize: reference text, line-aligned with --source' },
    'source-field': { type: 'string', help: 'translate/summarize with --data (jsonl/tsv): the source field', default: 'source' },
    'target-field': { type: 'string', help: 'translate/summarize with --data: the reference field', default: 'target' },
    'num-beams': { type: 'number', help: 'translate/summarize: beam search width', default: 4, integer: true, min: 1 },
    truncate: { type: 'boolean', help: 'translate/summarize: cut sources longer than the model\'s positions (default: refuse them)' },
    'max-examples': { type: 'number', help: 'translate/summarize: score the first N pairs only', integer: true, min: 1 },
    adapter: { type: 'string', help: 'classify/qa: a PEFT adapter directory to apply on --model' },
    format: { type: 'string', help: 'classify/qa: data format (default: from the extension)', choices: ['csv', 'tsv', 'jsonl', 'squad'] },
    'text-column': { type: 'string', help: 'classify: column with the text', default: 'text' },
    'text-pair-column': { type: 'string', help: 'classify: column with the second text of a pair' },
    'label-column': { type: 'string', help: 'classify: column with the label', default: 'label' },
    articles: { type: 'string', help: 'qa: the articles of --data to score, START:END (end excluded), e.g. 38:' },
    cloze: { type: 'string', help: 'classify, zero-shot with a masked LM: a template with {text} and [MASK], e.g. "{text} It was [MASK]."' },
    verbalizer: { type: 'strings', help: 'with --cloze: LABEL=word[,word] for each label (e.g. 1=great 0=terrible)' },
    baseline: { type: 'string', help: 'score a baseline instead of a model (no --model): qa: the SQuAD paper\'s sliding window; summarize: Lead-3', choices: ['sliding-window', 'lead-3'] },
    'max-length': { type: 'number', help: 'classify/qa: tokens per input or window', integer: true, min: 8 },
    'doc-stride': { type: 'number', help: 'qa: context tokens shared by consecutive windows', integer: true, min: 0 },
    'partial-words': { type: 'boolean', help: 'qa: answers may start or end inside a word, as HF\'s postprocessing allows (default: whole words only)' },
    model: { type: 'string', help: 'model directory (config.json, model.safetensors, tokenizer.json)' },
    data: { type: 'strings', help: 'text file to score' },
    split: { type: 'string', help: 'score the last 10% (val) or the whole file (all)', default: 'val', choices: ['val', 'all'] },
    'block-size': { type: 'number', help: 'context window (default: the model\'s)', integer: true, min: 1 },
    'batch-size': { type: 'number', help: 'windows per forward pass', default: 8, integer: true, min: 1 },
    'max-tokens': { type: 'number', help: 'score at most this many tokens', default: 200000, integer: true, min: 2 },
    'ngram-order': { type: 'number', help: 'n of the Kneser–Ney baseline (0: skip it)', default: 3, integer: true, min: 0, max: MAX_NGRAM_ORDER },
    'lossy-utf8': { type: 'boolean', help: 'accept data that is not valid UTF-8 (invalid bytes become U+FFFD)' },
    'ngram-train': { type: 'strings', help: 'text to train the n-gram on with --split all (default: the --data file\'s first 90%)' },
    device: deviceFlag,
  },
};

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (f.baseline !== undefined) { await evalBaseline(f); return; }
    if (!f.model) throw new CliError('tlm eval: --model DIR is required');
    await useDevice(f, 'tlm eval');
    if (f.task === 'lm' && !f.data) throw new CliError('tlm eval: --data FILE is required');
    if (f.task === 'translate' || f.task === 'summarize') { await evalSeq2Seq(f); return; }
    if (f.task !== 'lm') { await evalTask(f); return; }
    const files = checkDataFiles(f.data as string[] | undefined, 'tlm eval');
    const text = { lossyUtf8: f['lossy-utf8'] === true, warn: (m: string) => console.error(m) };
    const loaded = await loadModelDir(f.model as string, 'tlm eval');
    const model = asTask(loaded.model, 'causal-lm', `tlm eval: ${f.model}`);
    const tok = loaded.encoder, modelBlock = loaded.blockSize;
    const stream = TokenStream.fromFiles(files, tok, text);
    const { train, val } = trainValSplit(stream);
    const target = f.split === 'all' ? stream : val;
    const T = (f['block-size'] as number | undefined) ?? modelBlock;
    if (T > modelBlock) throw new CliError(`tlm eval: --block-size ${T} exceeds the model's context of ${modelBlock}`);
    const n = Math.min(target.length, f['max-tokens'] as number);
    if (n < 2) throw new CliError(`tlm eval: only ${n} token(s) to score`);
    const ids = new Int32Array(n);
    target.read(0, n, ids);

    // Non-overlapping windows of T+1 tokens: each window predicts its last T tokens.
    model.eval();
    const B = f['batch-size'] as number;
    const windows = Math.floor((n - 1) / T);
    if (windows < 1) throw new CliError(`tlm eval: ${n} tokens are fewer than one window of ${T + 1}`);
    let nll = 0, count = 0;
    const bar = new Progress(windows, 'eval ');
    await noGradAsync(async () => {
      for (let w = 0; w < windows; w += B) {
        const nb = Math.min(B, windows - w);
        const x = new Int32Array(nb * T), y = new Int32Array(nb * T);
        for (let b = 0; b < nb; b++) {
          x.set(ids.subarray((w + b) * T, (w + b) * T + T), b * T);
          y.set(ids.subarray((w + b) * T + 1, (w + b) * T + T + 1), b * T);
        }
        const loss = tidy(() => {
          const logits = model.forward({ inputIds: tensor(x, { shape: [nb, T] }) }).logits!;
          return crossEntropy(logits.reshape(-1, logits.shape[2]!), tensor(y, { shape: [nb * T] }), { reduction: 'sum' });
        });
        nll += (await loss.data())[0]!; // an asynchronous read: every backend has one
        loss.dispose();
        count += nb * T;
        bar.update(Math.min(w + B, windows));
      }
    });
    bar.done();
    const loss = nll / count;
    console.log(`model      loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(3)}  (${count.toLocaleString()} tokens, ${model.architecture})`);
    const order = f['ngram-order'] as number;
    if (order > 0) {
      let ngTrain = train;
      if (f.split === 'all') {
        const extra = f['ngram-train'] as string[] | undefined;
        if (!extra) { console.log(`n-gram     skipped: --split all needs --ngram-train FILE (text the model did not score)`); return; }
        ngTrain = TokenStream.fromFiles(checkDataFiles(extra, 'tlm eval'), tok, text);
      }
      const trainIds = new Int32Array(ngTrain.length);
      ngTrain.read(0, ngTrain.length, trainIds);
      const need = KneserNeyLM.estimateBytes(order, trainIds.length, tok.vocabSize);
      const budget = heapBudgetBytes();
      if (need > budget) {
        throw new CliError(`tlm eval: a ${order}-gram model of ${trainIds.length.toLocaleString()} tokens needs about ${(need / 2 ** 30).toFixed(1)} GiB, more than the ${(budget / 2 ** 30).toFixed(1)} GiB this process can use; lower --ngram-order or score fewer tokens`);
      }
      const lm = new KneserNeyLM(order).fit(trainIds, tok.vocabSize);
      const h = lm.crossEntropy(ids.subarray(0, windows * T + 1));
      console.log(`${order}-gram KN loss ${h.toFixed(4)}  perplexity ${Math.exp(h).toFixed(3)}  (Kneser–Ney, same tokenizer, trained on ${trainIds.length.toLocaleString()} tokens)`);
    }
  },
};

/** tlm eval --task classify|qa: the task's metrics on a labelled file, printed as one JSON object. */
async function evalTask(f: FlagValues): Promise<void> {
  const files = f.data as string[] | undefined;
  if (!files || files.length !== 1) throw new CliError('tlm eval: --data FILE (one labelled file) is required with --task');
  const file = files[0]!;
  const lossyUtf8 = f['lossy-utf8'] === true;
  const maxLength = f['max-length'] as number | undefined;
  let metrics: Record<string, number>;
  if (f.task === 'classify') {
    const rows = readTableFile(file, { textColumn: f['text-column'] as string, textPairColumn: f['text-pair-column'] as string | undefined,
      labelColumn: f['label-column'] as string }, { format: f.format as string | undefined, what: 'tlm eval: data file', lossyUtf8 });
    if (f.cloze !== undefined) {
      metrics = await evaluateCloze(f.model as string, rows, f.cloze as string, parseVerbalizer((f.verbalizer as string[] | undefined) ?? [], 'tlm eval'), 'tlm eval');
    } else {
      const p = await loadTaskModel(f.model as string, 'sequence-classification', { adapter: f.adapter as string | undefined, command: 'tlm eval' });
      metrics = await evaluateClassifier(p, rows, { maxLength, source: file });
    }
  } else {
    const examples = readSquadFile(file, parseRange(f.articles as string | undefined, '--articles'), { what: 'tlm eval: data file', lossyUtf8 });
    const p = await loadTaskModel(f.model as string, 'question-answering', { adapter: f.adapter as string | undefined, command: 'tlm eval' });
    metrics = await evaluateQa(p, examples, { maxLength, docStride: f['doc-stride'] as number | undefined, wholeWords: f['partial-words'] !== true });
  }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]))));
}

/** tlm eval --task qa --baseline sliding-window: the SQuAD paper's sliding-window baseline, scored as a model would be. */
async function evalBaseline(f: FlagValues): Promise<void> {
  if (f.baseline === 'lead-3') {
    if (f.task !== 'summarize') throw new CliError('tlm eval: --baseline lead-3 goes with --task summarize');
    const pairs = seq2seqPairs(f);
    const r = seq2seqMetrics('rouge', pairs.map((p) => lead3(p.source)), pairs.map((p) => p.target));
    console.log(JSON.stringify({ ...round(r), examples: pairs.length }));
    return;
  }
  if (f.task !== 'qa') throw new CliError('tlm eval: --baseline sliding-window goes with --task qa');
  if (f.model !== undefined) throw new CliError('tlm eval: --baseline scores a baseline, not a model; leave out --model');
  const files = f.data as string[] | undefined;
  if (!files || files.length !== 1) throw new CliError('tlm eval: --data FILE (one SQuAD file) is required');
  const examples = readSquadFile(files[0]!, parseRange(f.articles as string | undefined, '--articles'), { what: 'tlm eval: data file' });
  const s = squad(examples.map((e) => slidingWindowBaseline(e.context, e.question)), examples.map((e) => e.answers.map((a) => a.text)));
  console.log(JSON.stringify({ exact_match: Math.round(s.exactMatch * 1e4) / 1e4, f1: Math.round(s.f1 * 1e4) / 1e4, examples: examples.length }));
}

const round = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]));

/** The pairs of --source/--target, or of --data with --source-field/--target-field (the first --max-examples). */
function seq2seqPairs(f: FlagValues): TextPair[] {
  const data = f.data as string[] | undefined;
  let pairs: TextPair[];
  if (f.source !== undefined || f.target !== undefined) {
    if (!f.source || !f.target) throw new CliError('tlm eval: --source FILE and --target FILE go together');
    pairs = readParallelFiles(f.source as string, f.target as string);
  } else if (data && data.length === 1) {
    pairs = readPairsFile(data[0]!, { source: f['source-field'] as string, target: f['target-field'] as string }, { format: f.format as string | undefined });
  } else throw new CliError('tlm eval: --source FILE --target FILE (or --data FILE with --source-field/--target-field) is required');
  const n = f['max-examples'] as number | undefined;
  return n ? pairs.slice(0, n) : pairs;
}

/** tlm eval --task translate|summarize: the model's outputs (beam search) scored against the references. */
async function evalSeq2Seq(f: FlagValues): Promise<void> {
  const pairs = seq2seqPairs(f);
  const p = await loadSeq2Seq(f.model as string, 'tlm eval');
  const summaries = f.task === 'summarize';
  const m = await evaluateSeq2Seq(p, pairs, summaries ? 'rouge' : 'bleu', { numBeams: f['num-beams'] as number, truncate: f.truncate === true, ...(summaries ? { noRepeatNgramSize: 3 } : {}) });
  console.log(JSON.stringify(round(m)));
}
