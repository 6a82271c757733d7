// generate() and generateStream(): HF transformers' GenerationMixin.generate in a few hundred lines.
//
//   const seqs = await generate(model, [[464, 2068]], { maxNewTokens: 20 });            // greedy
//   await generate(model, ids, { doSample: true, temperature: 0.8, topK: 40, seed: 1 }); // sampling
//   await generate(model, ids, { numBeams: 4, lengthPenalty: 1, numReturnSequences: 2 });
//   for await (const piece of generateStream(model, ids, { maxNewTokens: 50 }, tokenizer)) ...
//
// inputIds: one sequence (number[]), a batch (number[][], rows of any length: they are left-padded
// inside, each row getting the tokens it would get alone), or an int32 Tensor [B, T] with an
// optional attentionMask (left padding) as HF takes it. The result is number[][]: each input row
// as given followed by its new tokens, up to and including its EOS (no trailing padding). For
// seq2seq models the rows are the decoder's: the decoder start token and the generated tokens.

import { isTensor, type Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { beamSearch } from './beam_search.js';
import {
  ForcedBOSTokenLogitsProcessor, LogitsProcessorList, MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor,
  NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor, SuppressTokensLogitsProcessor, TemperatureLogitsWarper,
  TopKLogitsWarper, TopPLogitsWarper, type LogitsProcessor,
} from './logits_process.js';
import { DecoderOnlyRunner, EncoderDecoderRunner, isSeq2Seq, type CausalLM, type Seq2SeqLM, type StepRunner } from './runner.js';
import { argmax, generatorFor, sampleFromScores } from './sampling.js';
import {
  EosTokenCriteria, MaxNewTokensCriteria, StoppingCriteriaList, StopSequenceCriteria, StopStringCriteria,
  findStopString, partialStopSuffix, type StoppingCriteria,
} from './stopping.js';
import { IncrementalDetokenizer, type Streamer, type TokenDecoder } from './streamers.js';
import { validateGenerateOptions } from './options.js';

export interface GenerateOptions {
  /** Tokens to generate at most (default 20, as HF's max_length default). */
  maxNewTokens?: number;
  /** Alternative to maxNewTokens: total length, prompt included (the longest prompt, as HF's padded length). */
  maxLength?: number;
  /**
   * Seq2seq alternative to maxNewTokens: each source gets at most (its length + this) new tokens,
   * e.g. 50 (fairseq's max_len_b, with a = 1); capped by the decoder's positions.
   */
  maxNewTokensOverSource?: number;
  /** No EOS before this many new tokens. */
  minNewTokens?: number;
  /** No EOS while a row (prompt included) is shorter. */
  minLength?: number;
  /** Sample (true) or pick the most likely token (false, the default). */
  doSample?: boolean;
  temperature?: number;
  /** Keep the k most likely tokens when sampling (HF default 50; 0 turns it off). */
  topK?: number;
  /** Nucleus sampling: keep the smallest set of tokens with mass ≥ topP. */
  topP?: number;
  repetitionPenalty?: number;
  noRepeatNgramSize?: number;
  /** Tokens never to generate. */
  suppressTokens?: number[];
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
  numReturnSequences?: number;
  /** End-of-sequence token(s); default from the model's config. null: none. */
  eosTokenId?: number | number[] | null;
  /** Filler for left padding and finished rows; default the config's pad, else EOS, else 0. */
  padTokenId?: number | null;
  /** Seq2seq: the decoder's first token (default config decoder_start_token_id, else BOS, else pad). */
  decoderStartTokenId?: number;
  /** Seq2seq: force this token first (BART's forced_bos_token_id). */
  forcedBosTokenId?: number;
  /** Stop when the generated text contains one of these (needs tokenizer). The tokens stay in the result, as HF. */
  stopStrings?: string | string[];
  /** Stop when the generated tokens end with one of these id sequences. */
  stopSequences?: number[][];
  tokenizer?: TokenDecoder;
  /** Seed for sampling: the same seed gives the same tokens. */
  seed?: number;
  generator?: Generator;
  /** With a Tensor or padded inputIds: 1 = token, 0 = padding (left padding for decoder-only models). */
  attentionMask?: Tensor | number[] | number[][];
  /** Reuse keys and values of earlier positions (default true). */
  useCache?: boolean;
  streamer?: Streamer;
  /** Extra processors, run after the built-in ones and before the sampling warpers. */
  logitsProcessor?: LogitsProcessor[];
  stoppingCriteria?: StoppingCriteria[];
  /** Return { sequences, scores?, logits?, sequencesScores? } instead of the sequences. */
  returnDictInGenerate?: boolean;
  /** Keep each step's processed scores (per row). */
  outputScores?: boolean;
  /** Keep each step's raw logits (per row). */
  outputLogits?: boolean;
}

export interface GenerateOutput {
  sequences: number[][];
  /** scores[step][row]: processed scores of each step (outputScores; greedy/sampling). */
  scores?: Float32Array[][];
  /** logits[step][row]: the model's raw next-token logits (outputLogits; greedy/sampling). */
  logits?: Float32Array[][];
  /** Beam search: each returned sequence's length-normalised log-probability. */
  sequencesScores?: number[];
}

export type GenerationModel = (CausalLM | Seq2SeqLM) & { config?: object; generationConfig?: object; training?: boolean; train?(mode?: boolean): unknown };

type Config = Record<string, unknown>;

function cfgValue(model: GenerationModel, key: string): unknown {
  const g = (model.generationConfig ?? {}) as Config, c = (model.config ?? {}) as Config;
  return g[key] ?? c[key] ?? undefined;
}

function idList(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(Number).filter((x) => Number.isInteger(x) && x >= 0);
}

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new Error(`generate: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Rows as given (returned as the prefix) and the prompt tokens (without padding) they hold. */
async function readInputs(inputIds: Tensor | number[] | number[][], mask: GenerateOptions['attentionMask'], seq2seq: boolean,
): Promise<{ given: number[][]; prompts: number[][] }> {
  const toRows = async (x: Tensor | number[] | number[][], what: string): Promise<number[][]> => {
    if (isTensor(x)) {
      if (x.ndim !== 2 && x.ndim !== 1) throw new Error(`generate: ${what} must be [B, T], got [${x.shape.join(',')}]`);
      const data = Array.from(await x.data(), Number);
      const T = x.shape[x.ndim - 1]!;
      return Array.from({ length: x.ndim === 1 ? 1 : x.shape[0]! }, (_, r) => data.slice(r * T, (r + 1) * T));
    }
    if (!Array.isArray(x)) throw new Error(`generate: ${what} must be a Tensor, number[] or number[][]`);
    const rows = (x.length > 0 && Array.isArray(x[0]) ? x : [x]) as number[][];
    for (const r of rows) {
      if (!Array.isArray(r) || r.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`generate: ${what} must hold non-negative integer token ids`);
    }
    return rows.map((r) => r.slice());
  };
  const given = await toRows(inputIds, 'inputIds');
  if (given.length === 0) throw new Error('generate: inputIds holds no sequence');
  if (mask === undefined) return { given, prompts: given.map((r) => r.slice()) };
  const m = await toRows(mask, 'attentionMask');
  if (m.length !== given.length || m.some((r, i) => r.length !== given[i]!.length)) {
    throw new Error(`generate: attentionMask must have the shape of inputIds (${given.length} rows of ${given.map((r) => r.length).join('/')})`);
  }
  const prompts = given.map((r, i) => {
    const mi = m[i]!;
    if (!seq2seq) {
      const first = mi.indexOf(1);
      if (first >= 0 && mi.slice(first).some((v) => v === 0)) {
        throw new Error(`generate: row ${i} of attentionMask has padding after tokens; decoder-only models need left padding (or pass unpadded rows as number[][])`);
      }
    }
    return r.filter((_, j) => mi[j] !== 0);
  });
  return { given, prompts };
}

interface Plan {
  seq2seq: boolean;
  given: number[][];
  /** Per row: the tokens the processors and criteria see first (decoder-only: the prompt; seq2seq: the decoder start). */
  starts: number[][];
  prompts: number[][];
  maxNew: number;
  /** Per row, when the limit depends on the source (maxNewTokensOverSource); maxNew is their maximum. */
  maxNewPerRow: number[] | null;
  eos: number[];
  pad: number;
  processors: LogitsProcessorList;
  stopping: StoppingCriteriaList;
  doSample: boolean;
  generator: Generator;
  useCache: boolean;
}

/** Reads the inputs and settles every option; `repeat` copies each row (numReturnSequences when sampling). */
async function plan(model: GenerationModel, inputIds: Tensor | number[] | number[][], opts: GenerateOptions, repeat = 1): Promise<Plan> {
  validateGenerateOptions(opts);
  const seq2seq = isSeq2Seq(model);
  if (!seq2seq && typeof (model as CausalLM).forward !== 'function') throw new Error('generate: the model has neither forward() nor encode()/decode()');
  const read = await readInputs(inputIds, opts.attentionMask, seq2seq);
  const rep = <T>(xs: T[]): T[] => xs.flatMap((x) => Array.from({ length: repeat }, () => x));
  const given = rep(read.given).map((r) => r.slice()), prompts = rep(read.prompts).map((r) => r.slice());
  const eos = opts.eosTokenId === null ? [] : idList(opts.eosTokenId ?? cfgValue(model, 'eos_token_id'));
  const padCfg = opts.padTokenId ?? (cfgValue(model, 'pad_token_id') as number | null | undefined);
  const pad = padCfg ?? eos[0] ?? 0;
  const bos = cfgValue(model, 'bos_token_id') as number | undefined;
  checkInt('maxNewTokens', opts.maxNewTokens, 0);
  checkInt('maxLength', opts.maxLength, 0);
  checkInt('minNewTokens', opts.minNewTokens, 0);
  checkInt('numBeams', opts.numBeams, 1);
  checkInt('numReturnSequences', opts.numReturnSequences, 1);
  checkInt('noRepeatNgramSize', opts.noRepeatNgramSize, 0);

  let starts: number[][];
  if (seq2seq) {
    const start = opts.decoderStartTokenId ?? (cfgValue(model, 'decoder_start_token_id') as number | undefined) ?? bos ?? pad;
    starts = prompts.map(() => [start]);
  } else {
    // An empty prompt starts from BOS, as HF does without input_ids.
    starts = prompts.map((p, i) => {
      if (p.length > 0) return p.slice();
      if (bos === undefined || bos === null) throw new Error(`generate: row ${i} is empty and the model has no bos_token_id to start from`);
      return [bos];
    });
  }
  const longest = Math.max(...starts.map((s) => s.length));
  const ctx = Number(cfgValue(model, 'n_positions') ?? cfgValue(model, 'max_position_embeddings') ?? Infinity);
  const maxNewPerRow = perSourceLimits(opts, seq2seq, prompts, ctx - longest);
  const maxNew = maxNewPerRow ? Math.max(...maxNewPerRow) : opts.maxNewTokens ?? (opts.maxLength !== undefined ? Math.max(0, opts.maxLength - longest) : 20);
  if (longest + maxNew > ctx) {
    throw new Error(`generate: the prompt (${longest} tokens) plus maxNewTokens (${maxNew}) exceeds the model's context of ${ctx} positions`);
  }
  const promptLens = starts.map((s) => s.length);

  const doSample = opts.doSample ?? Boolean(cfgValue(model, 'do_sample') ?? false);
  const p: Plan = {
    seq2seq, given, starts, prompts, maxNew, maxNewPerRow, eos, pad, doSample, generator: generatorFor(opts), useCache: opts.useCache ?? true,
    processors: new LogitsProcessorList(), stopping: new StoppingCriteriaList(),
  };
  Object.assign(p, criteria(model, opts, p, promptLens));
  // Greedy and sampling stop each row at its own limit (beam search takes them per input).
  if (maxNewPerRow) p.stopping.push(new MaxNewTokensCriteria(maxNewPerRow));
  return p;
}

/** maxNewTokensOverSource's limit for each row (null without it): source length + offset, at most `room`. */
function perSourceLimits(opts: GenerateOptions, seq2seq: boolean, prompts: readonly number[][], room: number): number[] | null {
  const over = opts.maxNewTokensOverSource;
  if (over === undefined) return null;
  checkInt('maxNewTokensOverSource', over, 0);
  if (!seq2seq) throw new Error('generate: maxNewTokensOverSource is for encoder-decoder models (a source to measure); use maxNewTokens');
  if (opts.maxNewTokens !== undefined || opts.maxLength !== undefined) throw new Error('generate: pass maxNewTokensOverSource or maxNewTokens/maxLength, not both');
  return prompts.map((src) => Math.max(0, Math.min(src.length + over, room)));
}

/** The logits processors and stopping criteria for rows whose prompts have lengths promptLens. */
function criteria(model: GenerationModel, opts: GenerateOptions, plan: Omit<Plan, 'processors' | 'stopping'>, promptLens: readonly number[],
): { processors: LogitsProcessorList; stopping: StoppingCriteriaList } {
  const { seq2seq, eos, doSample, maxNew } = plan;
  const processors = new LogitsProcessorList();
  const num = (k: string, snake: string): number | undefined => (opts as Record<string, number | undefined>)[k] ?? (cfgValue(model, snake) as number | undefined);
  const rep = num('repetitionPenalty', 'repetition_penalty');
  if (rep !== undefined && rep !== 1) processors.push(new RepetitionPenaltyLogitsProcessor(rep));
  const ngram = num('noRepeatNgramSize', 'no_repeat_ngram_size');
  if (ngram) processors.push(new NoRepeatNGramLogitsProcessor(ngram));
  if (opts.suppressTokens?.length) processors.push(new SuppressTokensLogitsProcessor(opts.suppressTokens));
  if (opts.minLength !== undefined && eos.length) processors.push(new MinLengthLogitsProcessor(opts.minLength, eos));
  if (opts.minNewTokens !== undefined && eos.length) processors.push(new MinNewTokensLengthLogitsProcessor(promptLens, opts.minNewTokens, eos));
  const forcedBos = opts.forcedBosTokenId ?? (seq2seq ? cfgValue(model, 'forced_bos_token_id') as number | undefined : undefined);
  if (forcedBos !== undefined && forcedBos !== null) processors.push(new ForcedBOSTokenLogitsProcessor(promptLens, forcedBos));
  for (const p of opts.logitsProcessor ?? []) processors.push(p);
  if (doSample) {
    // The warpers, in HF's order: temperature, top-k, top-p.
    const t = num('temperature', 'temperature');
    if (t !== undefined && t !== 1) processors.push(new TemperatureLogitsWarper(t));
    const k = opts.topK ?? (cfgValue(model, 'top_k') as number | undefined) ?? 50;
    if (k !== 0) processors.push(new TopKLogitsWarper(k));
    const p = num('topP', 'top_p');
    if (p !== undefined && p < 1) processors.push(new TopPLogitsWarper(p));
  } else {
    // As HF: sampling settings without doSample are ignored, with a warning rather than silently.
    const unused = (['temperature', 'topK', 'topP'] as const).filter((k) => opts[k] !== undefined && opts[k] !== (k === 'topK' ? 0 : 1));
    const msg = `generate: ${unused.join(', ')} only apply when sampling; pass doSample: true to use them`;
    if (unused.length) { if (globalThis.process?.emitWarning) globalThis.process.emitWarning(msg, 'TlmGenerateWarning'); else console.warn(msg); }
  }

  const stopping = new StoppingCriteriaList([new MaxNewTokensCriteria(maxNew)]);
  if (eos.length) stopping.push(new EosTokenCriteria(eos));
  if (opts.stopSequences?.length) stopping.push(new StopSequenceCriteria(opts.stopSequences));
  const stops = typeof opts.stopStrings === 'string' ? [opts.stopStrings] : opts.stopStrings ?? [];
  if (stops.length) {
    if (!opts.tokenizer) throw new Error('generate: stopStrings need a tokenizer (pass opts.tokenizer)');
    stopping.push(new StopStringCriteria(opts.tokenizer, stops));
  }
  for (const c of opts.stoppingCriteria ?? []) stopping.push(c);

  return { processors, stopping };
}

/** Seq2seq: prompts are the sources, each with rowsPerSource decoder rows (its beams); decoder-only: one row per start. */
function makeRunner(model: GenerationModel, p: Plan, prompts: number[][], starts: number[][], rowsPerSource = 1, logProbs = false): StepRunner {
  const o = { useCache: p.useCache, padTokenId: p.pad, logProbs };
  return p.seq2seq ? new EncoderDecoderRunner(model as Seq2SeqLM, prompts, starts[0]!, { ...o, rowsPerSource })
    : new DecoderOnlyRunner(model as CausalLM, starts, o);
}

/** Runs fn with the model in eval mode (no dropout), restoring its mode after. */
async function withEvalMode<T>(model: GenerationModel, fn: () => Promise<T>): Promise<T> {
  const wasTraining = model.training === true && typeof model.train === 'function';
  if (wasTraining) model.train!(false);
  try {
    return await fn();
  } finally {
    if (wasTraining) model.train!(true);
  }
}

/** The steps of gen with the model in eval mode, restoring its mode when the iteration ends. */
async function* inEvalMode<T>(model: GenerationModel, gen: AsyncGenerator<T>): AsyncGenerator<T> {
  const wasTraining = model.training === true && typeof model.train === 'function';
  if (wasTraining) model.train!(false);
  try {
    yield* gen;
  } finally {
    if (wasTraining) model.train!(true);
  }
}

interface Step { tokens: number[]; logits: Float32Array[]; scores: Float32Array[] }

/** Greedy or sampling, one step per iteration: each row's new token (-1 once a row is finished). */
async function* tokenSteps(model: GenerationModel, p: Plan, keep: { logits: boolean; scores: boolean }): AsyncGenerator<Step> {
  const rows = p.starts.map((s) => s.slice());
  const promptLens = rows.map((r) => r.length);
  const done = rows.map(() => false);
  if (p.maxNew === 0) return;
  const runner = makeRunner(model, p, p.prompts, p.starts);
  try {
    let feed: number[] | null = null;
    for (;;) {
      const logits = await runner.step(feed);
      const raw = keep.logits ? logits.map((r) => r.slice()) : [];
      p.processors.process(rows, logits);
      const tokens = logits.map((row, r) => (done[r] ? -1 : p.doSample ? sampleFromScores(row, p.generator) : argmax(row)));
      tokens.forEach((t, r) => { if (t >= 0) rows[r]!.push(t); });
      const stopped = p.stopping.check(rows, promptLens);
      stopped.forEach((s, r) => { if (s) done[r] = true; });
      yield { tokens, logits: raw, scores: keep.scores ? logits.map((r) => r.slice()) : [] };
      if (done.every(Boolean)) return;
      // Finished rows keep step with the batch on a filler token that nobody reads.
      feed = tokens.map((t) => (t < 0 ? p.pad : t));
    }
  } finally {
    runner.dispose();
  }
}

export function generate(model: GenerationModel, inputIds: Tensor | number[] | number[][], opts: GenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
export function generate(model: GenerationModel, inputIds: Tensor | number[] | number[][], opts?: GenerateOptions): Promise<number[][]>;
export async function generate(model: GenerationModel, inputIds: Tensor | number[] | number[][], opts: GenerateOptions = {}): Promise<number[][] | GenerateOutput> {
  const numBeams = opts.numBeams ?? Number(cfgValue(model, 'num_beams') ?? 1);
  const nRet = opts.numReturnSequences ?? 1;
  // Sampling several sequences per input samples copies of it, consecutive in the result (as HF).
  const sampling = opts.doSample ?? Boolean(cfgValue(model, 'do_sample') ?? false);
  const p = await plan(model, inputIds, opts, numBeams === 1 && sampling ? nRet : 1);
  const out: GenerateOutput = { sequences: [] };
  const streamer = opts.streamer;
  if (streamer && (p.given.length !== 1 || numBeams > 1)) throw new Error('generate: a streamer needs a single sequence (batch 1, numReturnSequences 1) and numBeams 1');

  if (numBeams > 1) {
    if (p.doSample) throw new Error('generate: beam search with sampling (beam sample) is not supported; use doSample: false with numBeams > 1');
    const expand = <T>(xs: T[]) => xs.flatMap((x) => Array.from({ length: numBeams }, () => x));
    const starts = expand(p.starts), prompts = expand(p.prompts);
    // Per-row state of the processors (prompt lengths) follows the expansion.
    const pb = criteria(model, opts, p, starts.map((s) => s.length));
    // Seq2seq: each source is encoded once and its beams share the memory.
    // Beam search ranks log-probabilities: the runner hands them back, taken on the device.
    const runner = p.seq2seq ? makeRunner(model, p, p.prompts, starts, numBeams, true) : makeRunner(model, p, prompts, starts, 1, true);
    let res;
    try {
      res = await withEvalMode(model, () => beamSearch(runner, p.starts, pb.processors, pb.stopping, {
        numBeams, lengthPenalty: opts.lengthPenalty ?? (cfgValue(model, 'length_penalty') as number | undefined),
        earlyStopping: opts.earlyStopping ?? (cfgValue(model, 'early_stopping') as boolean | 'never' | undefined),
        numReturnSequences: nRet, maxNewTokens: p.maxNewPerRow ?? p.maxNew, eosTokenId: p.eos,
      }));
    } finally {
      runner.dispose();
    }
    const prefix = (b: number) => (p.seq2seq ? p.starts[b]! : p.given[b]!);
    out.sequences = res.generated.flatMap((hyps, b) => hyps.map((g) => [...prefix(b), ...g]));
    out.sequencesScores = res.scores.flat();
  } else {
    if (nRet > 1 && !p.doSample) throw new Error('generate: numReturnSequences > 1 needs sampling (doSample: true) or beam search (numBeams > 1); greedy gives one sequence');
    const seqs = (p.seq2seq ? p.starts : p.given).map((r) => r.slice());
    if (opts.outputLogits) out.logits = [];
    if (opts.outputScores) out.scores = [];
    streamer?.put(seqs[0]!);
    for await (const step of inEvalMode(model, tokenSteps(model, p, { logits: !!opts.outputLogits, scores: !!opts.outputScores }))) {
      step.tokens.forEach((t, r) => { if (t >= 0) seqs[r]!.push(t); });
      if (step.tokens[0]! >= 0) streamer?.put([step.tokens[0]!]);
      out.logits?.push(step.logits);
      out.scores?.push(step.scores);
    }
    streamer?.end();
    out.sequences = seqs;
  }
  return opts.returnDictInGenerate ? out : out.sequences;
}

/**
 * The generated text of one sequence as it is produced: pieces that never split a UTF-8 character.
 * With stopStrings, the stream ends just before the first stop string (it is not yielded).
 * Leaving the loop early (break) stops generation and frees the cache.
 */
export async function* generateStream(model: GenerationModel, inputIds: Tensor | number[] | number[][], opts: GenerateOptions = {},
  tokenizer?: TokenDecoder): AsyncGenerator<string> {
  const tok = tokenizer ?? opts.tokenizer;
  if (!tok) throw new Error('generateStream: a tokenizer is needed to turn tokens into text (pass it as the 4th argument or opts.tokenizer)');
  if ((opts.numBeams ?? 1) > 1) throw new Error('generateStream: streaming works with numBeams 1 (greedy or sampling)');
  const p = await plan(model, inputIds, { ...opts, tokenizer: tok });
  if (p.given.length !== 1) throw new Error(`generateStream: streams one sequence, got a batch of ${p.given.length}`);
  const stops = typeof opts.stopStrings === 'string' ? [opts.stopStrings] : opts.stopStrings ?? [];
  const detok = new IncrementalDetokenizer(tok);
  let pending = '';
  // The text safe to hand out now: all of pending but a tail that may begin a stop string; at a
  // stop string, the text before it and stop: true.
  const release = (final: boolean): { text: string; stop: boolean } => {
    const hit = stops.length ? findStopString(pending, stops) : null;
    if (hit) { const text = pending.slice(0, hit.index); pending = ''; return { text, stop: true }; }
    const hold = final ? 0 : partialStopSuffix(pending, stops);
    const text = pending.slice(0, pending.length - hold);
    pending = pending.slice(pending.length - hold);
    return { text, stop: false };
  };
  for await (const step of inEvalMode(model, tokenSteps(model, p, { logits: false, scores: false }))) {
    const t = step.tokens[0]!;
    if (t < 0) continue;
    pending += detok.push([t]);
    const { text, stop } = release(false);
    if (text) yield text;
    if (stop) return;
  }
  pending += detok.flush();
  const { text } = release(true);
  if (text) yield text;
}
