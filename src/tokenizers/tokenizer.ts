// The tokenizer: HF's pipeline normalizer → pre-tokenizer → model → post-processor (→ decoder),
// read from and written to tokenizer.json.
//
//   const tok = await Tokenizer.fromFile('gpt2/tokenizer.json');
//   const enc = tok.encode('Hello world', { pair: 'second' });  // ids, tokens, typeIds, offsets, …
//   tok.decode(enc.ids, { skipSpecialTokens: true });
//
// Byte-level BPE without a normalizer (GPT-2 and its kin) takes the fused path of
// byte-level-path.ts, with output identical to the generic pipeline's.

import { writeFileAtomic } from '../io/atomic.js';
import { fileSystem } from '../io/files.js';
import { AddedVocabulary, type AddedToken } from './added-tokens.js';
import { AlignedText } from './aligned.js';
import { toByteLevel } from './byte-level.js';
import { encodeByteLevel } from './byte-level-path.js';
import { decoderFromJSON, type Decoder } from './decoders.js';
import { Encoding, type PaddingOptions, type TruncationOptions } from './encoding.js';
import { gpt2PieceEnd } from './gpt2-split.js';
import { stringifyJson } from './json-writer.js';
import { asObject, TokenizerConfigError, type JsonObject } from './json.js';
import { BPE } from './models/bpe.js';
import { modelFromJSON } from './models/index.js';
import { Unigram } from './models/unigram.js';
import type { TokenModel, TokenSink } from './models/model.js';
import { normalizerFromJSON, type Normalizer } from './normalizers.js';
import { postProcessorFromJSON, type PostProcessor } from './post-processors.js';
import { ByteLevel, preTokenizerFromJSON, type PreTokenizer } from './pre-tokenizers.js';
import type { TokenizerConfig } from './tokenizer-config.js';
import { applyChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat_template.js';
import type { Trainer } from './trainers/trainer.js';
import {
  padBatch, paddingConfig, paddingFromJSON, paddingToJSON, truncate, truncationConfig, truncationFromJSON, truncationToJSON, windowPairs,
  type Padding, type Truncation,
} from './truncation.js';

export interface EncodeOptions {
  /** A second sequence (question/context, premise/hypothesis). */
  pair?: string;
  /** Add the post-processor's special tokens ([CLS], [SEP], …). Default true. */
  addSpecialTokens?: boolean;
  /** Overrides the tokenizer's truncation for this call; false disables it. */
  truncation?: TruncationOptions | false;
  /** Overrides the tokenizer's padding for this call; false disables it. */
  padding?: PaddingOptions | false;
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], <|endoftext|>, padding). Default false. */
  skipSpecialTokens?: boolean;
}

export type AddedTokenInput = string | (Partial<Omit<AddedToken, 'id'>> & { content: string });

/** Token sink reused across words (single-threaded). */
const sink: TokenSink = { ids: [], starts: [], ends: [] };

export class Tokenizer {
  normalizer: Normalizer | null = null;
  preTokenizer: PreTokenizer | null = null;
  model: TokenModel;
  postProcessor: PostProcessor | null = null;
  decoder: Decoder | null = null;
  readonly addedTokens = new AddedVocabulary();
  truncation: Truncation | null = null;
  padding: Padding | null = null;
  /** tokenizer_config.json of the model directory (fromPretrained), or null. */
  config: TokenizerConfig | null = null;

  constructor(model: TokenModel) {
    this.model = model;
  }

  /** HF apply_chat_template: messages rendered with config's chat template (see chat_template.ts). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string | number[] {
    return applyChatTemplate(this, messages, opts);
  }

  // ---- vocabulary -----------------------------------------------------------------------------

  /** Size of the vocabulary including added tokens (HF get_vocab_size(true)). */
  get vocabSize(): number {
    let extra = 0;
    for (const t of this.addedTokens.all()) if (this.model.idToToken(t.id) === undefined) extra++;
    return this.model.vocabSize + extra;
  }

  /** The model's unknown token ([UNK]), or null when it has none (byte-level BPE never needs one). */
  get unkToken(): string | null {
    const m = this.model as { unkToken?: string | null; options?: { unkToken?: string | null } };
    return m.unkToken ?? m.options?.unkToken ?? null;
  }

  /** The pieces of text that encode(text) turns into the unknown token, each once, in order. */
  unknownPieces(text: string): string[] {
    const unk = this.unkToken === null ? undefined : this.tokenToId(this.unkToken);
    if (unk === undefined) return [];
    const enc = this.encode(text, { addSpecialTokens: false });
    const seen = new Set<string>();
    enc.ids.forEach((id, i) => { if (id === unk) seen.add(text.slice(enc.offsets[i]![0], enc.offsets[i]![1])); });
    return [...seen];
  }

  tokenToId(token: string): number | undefined {
    return this.addedTokens.find(token)?.id ?? this.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedTokens.get(id)?.content ?? this.model.idToToken(id);
  }

  getVocab(): Map<string, number> {
    const v = this.model.getVocab();
    for (const t of this.addedTokens.all()) v.set(t.content, t.id);
    return v;
  }

  /** Adds tokens matched whole in the input; returns how many were new. */
  addTokens(tokens: AddedTokenInput[], special = false): number {
    let added = 0;
    for (const input of tokens) {
      const spec = typeof input === 'string' ? { content: input } : input;
      if (spec.content.length === 0) continue;
      const existing = this.addedTokens.find(spec.content);
      if (existing !== undefined && existing.special === (spec.special ?? special)) continue;
      const id = existing?.id ?? this.model.tokenToId(spec.content) ?? this.nextFreeId();
      const isSpecial = spec.special ?? special;
      this.addedTokens.add({
        id, content: spec.content, singleWord: spec.singleWord ?? false, lstrip: spec.lstrip ?? false,
        rstrip: spec.rstrip ?? false, normalized: spec.normalized ?? !isSpecial, special: isSpecial,
      });
      added++;
    }
    return added;
  }

  addSpecialTokens(tokens: AddedTokenInput[]): number {
    return this.addTokens(tokens, true);
  }

  private nextFreeId(): number {
    let id = this.model.vocabSize;
    for (const t of this.addedTokens.all()) id = Math.max(id, t.id + 1);
    return id;
  }

  // ---- truncation and padding -----------------------------------------------------------------

  enableTruncation(opts: TruncationOptions): this { this.truncation = truncationConfig(opts); return this; }
  noTruncation(): this { this.truncation = null; return this; }
  enablePadding(opts: PaddingOptions = {}): this { this.padding = paddingConfig(opts, (t) => this.tokenToId(t)); return this; }
  noPadding(): this { this.padding = null; return this; }

  // ---- encoding -------------------------------------------------------------------------------

  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const enc = this.encodeWith(text, opts, false);
    const padding = this.padOptions(opts);
    if (padding !== null) padBatch([enc], padding);
    return enc;
  }

  /** The ids of encode(text, opts), without building tokens and offsets (faster). */
  encodeIds(text: string, opts: EncodeOptions = {}): number[] {
    const enc = this.encodeWith(text, opts, true);
    const padding = this.padOptions(opts);
    if (padding !== null) padBatch([enc], padding);
    return enc.ids;
  }

  /** Encodes many inputs (strings or [text, pair]); padding 'longest' pads to the batch maximum. */
  encodeBatch(inputs: (string | [string, string])[], opts: Omit<EncodeOptions, 'pair'> = {}): Encoding[] {
    const encs = inputs.map((x) => typeof x === 'string' ? this.encodeWith(x, opts, false) : this.encodeWith(x[0], { ...opts, pair: x[1] }, false));
    const padding = this.padOptions(opts);
    if (padding !== null) padBatch(encs, padding);
    return encs;
  }

  private padOptions(opts: EncodeOptions): Padding | null {
    if (opts.padding === false) return null;
    return opts.padding !== undefined ? paddingConfig(opts.padding, (t) => this.tokenToId(t)) : this.padding;
  }

  private encodeWith(text: string, opts: EncodeOptions, idsOnly: boolean): Encoding {
    if (typeof text !== 'string') throw new TypeError(`encode: expected a string, got ${text === null ? 'null' : typeof text}`);
    const addSpecial = opts.addSpecialTokens ?? true;
    const a = this.encodeSequence(text, 0, idsOnly);
    const b = opts.pair === undefined ? null : this.encodeSequence(opts.pair, 1, idsOnly);
    const truncation = opts.truncation === false ? null : opts.truncation !== undefined ? truncationConfig(opts.truncation) : this.truncation;
    // Room is left for the special tokens the post-processor will add.
    if (truncation !== null) truncate(a, b, truncation, addSpecial && this.postProcessor !== null ? this.postProcessor.addedTokens(b !== null) : 0);
    if (idsOnly || (a.overflowing.length === 0 && (b?.overflowing.length ?? 0) === 0)) return this.postProcess(a, b, addSpecial);
    // Every window is post-processed on its own (specials, type ids, trimmed offsets), as HF does;
    // windows appear in several pairs and post-processors edit in place, so each pair gets copies.
    const [head, ...rest] = windowPairs(a, b).map(([x, y]) => this.postProcess(x.clone(), y?.clone() ?? null, addSpecial));
    head!.overflowing = rest;
    return head!;
  }

  private postProcess(a: Encoding, b: Encoding | null, addSpecial: boolean): Encoding {
    const parts = b === null ? [a] : [a, b];
    return Encoding.concat(this.postProcessor === null ? parts : this.postProcessor.process(parts, addSpecial));
  }

  /** The fast path applies when the pipeline is exactly "byte-level split + byte-level BPE". */
  private byteLevelFastPath(): ByteLevel | null {
    if (this.normalizer !== null) return null;
    const p = this.preTokenizer;
    if (!(p instanceof ByteLevel) || !p.useRegex) return null;
    return this.model instanceof BPE && this.model.supportsBytes ? p : null;
  }

  /** One input sequence through added tokens, normalizer, pre-tokenizer and model. */
  private encodeSequence(text: string, sequenceId: number, idsOnly: boolean): Encoding {
    const enc = new Encoding();
    const fast = this.byteLevelFastPath();
    let word = 0;
    for (const piece of this.addedTokens.split(new AlignedText(text), false, this.normalizer)) {
      if (piece.token !== undefined) { this.pushAdded(enc, piece.token, piece.span, word++, idsOnly); continue; }
      if (fast !== null && piece.text.starts === null) {
        const base = piece.text.base;
        word = encodeByteLevel(this.model as BPE, enc, text, base, base + piece.text.length, fast.addPrefixSpace, word, idsOnly);
        continue;
      }
      const normalized = this.normalizer === null ? piece.text : this.normalizer.normalize(piece.text);
      for (const sub of this.addedTokens.split(normalized, true, this.normalizer)) {
        if (sub.token !== undefined) { this.pushAdded(enc, sub.token, sub.span, word++, idsOnly); continue; }
        const words = this.preTokenizer === null ? [sub.text] : this.preTokenizer.split(sub.text);
        // HF's Unigram names an unknown token by the text it stands for, not by '<unk>'.
        const surfaceUnk = this.model instanceof Unigram ? this.model.unkId ?? -1 : -1;
        for (const w of words) {
          sink.ids.length = 0; sink.starts.length = 0; sink.ends.length = 0;
          this.model.tokenize(w.text, sink);
          for (let k = 0; k < sink.ids.length; k++) {
            const id = sink.ids[k]!;
            enc.ids.push(id);
            if (idsOnly) continue;
            enc.tokens.push(id === surfaceUnk ? w.text.slice(sink.starts[k]!, sink.ends[k]!) : this.model.idToToken(id)!);
            enc.offsets.push(w.span(sink.starts[k]!, sink.ends[k]!));
            enc.wordIds.push(word);
          }
          word++;
        }
      }
    }
    if (!idsOnly) {
      // Fields that are the same for every token of a sequence are filled once at the end.
      const n = enc.ids.length;
      enc.typeIds = new Array<number>(n).fill(sequenceId);
      enc.attentionMask = new Array<number>(n).fill(1);
      enc.specialTokensMask = new Array<number>(n).fill(0);
      enc.sequenceIds = new Array<number | null>(n).fill(sequenceId);
    }
    return enc;
  }

  private pushAdded(enc: Encoding, token: AddedToken, span: [number, number], word: number, idsOnly: boolean): void {
    enc.ids.push(token.id);
    if (idsOnly) return;
    enc.tokens.push(token.content);
    enc.offsets.push(span);
    enc.wordIds.push(word);
  }

  // ---- decoding -------------------------------------------------------------------------------

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const added = this.addedTokens.get(id);
      if (added !== undefined) {
        if (!(skip && added.special)) tokens.push(added.content);
        continue;
      }
      const t = Number.isInteger(id) ? this.model.idToToken(id) : undefined;
      if (t === undefined) throw new RangeError(`decode: id ${id} (position ${i}) is not in the vocabulary (size ${this.vocabSize})`);
      tokens.push(t);
    }
    return this.decoder === null ? tokens.join(' ') : this.decoder.decodeChain(tokens).join('');
  }

  decodeBatch(batch: ArrayLike<number>[], opts: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, opts));
  }

  // ---- training -------------------------------------------------------------------------------

  /**
   * Trains the model on `texts` with this tokenizer's normalizer and pre-tokenizer (HF
   * Tokenizer.train_from_iterator); the trainer's special tokens become special added tokens.
   */
  train(texts: Iterable<string>, trainer: Trainer): this {
    const counts = this.countWords(texts);
    const { model, specialTokens } = trainer.train(counts);
    this.model = model;
    for (const t of specialTokens) this.addSpecialTokens([t]);
    return this;
  }

  /** How often each pre-tokenized word occurs in `texts` (the trainers' input). */
  countWords(texts: Iterable<string>): Map<string, number> {
    const p = this.preTokenizer;
    const counts = new Map<string, number>();
    if (this.normalizer === null && p instanceof ByteLevel && p.useRegex) {
      // Count raw pieces (cheap), respell each distinct one once.
      const raw = new Map<string, number>();
      for (let text of texts) {
        if (p.addPrefixSpace && text.length > 0 && text.charCodeAt(0) !== 32) text = ' ' + text;
        for (let i = 0; i < text.length;) {
          const j = gpt2PieceEnd(text, i, text.length);
          const piece = text.slice(i, j);
          raw.set(piece, (raw.get(piece) ?? 0) + 1);
          i = j;
        }
      }
      for (const [piece, n] of raw) counts.set(toByteLevel(piece), n);
      return counts;
    }
    for (const text of texts) {
      const t = new AlignedText(text);
      const normalized = this.normalizer === null ? t : this.normalizer.normalize(t);
      for (const w of p === null ? [normalized] : p.split(normalized)) {
        if (w.length > 0) counts.set(w.text, (counts.get(w.text) ?? 0) + 1);
      }
    }
    return counts;
  }

  // ---- tokenizer.json -------------------------------------------------------------------------

  toJSON(): JsonObject {
    return {
      version: '1.0',
      truncation: truncationToJSON(this.truncation),
      padding: paddingToJSON(this.padding),
      added_tokens: this.addedTokens.toJSON(),
      normalizer: this.normalizer?.toJSON() ?? null,
      pre_tokenizer: this.preTokenizer?.toJSON() ?? null,
      post_processor: this.postProcessor?.toJSON() ?? null,
      decoder: this.decoder?.toJSON() ?? null,
      model: this.model.toJSON(),
    };
  }

  /** tokenizer.json text, pretty-printed like HF's save() (vocabularies in id order). */
  toString(pretty = true): string {
    return stringifyJson(this.toJSON(), pretty ? 2 : 0);
  }

  static fromJSON(json: unknown): Tokenizer {
    const o = asObject(json, 'tokenizer.json');
    const tok = new Tokenizer(modelFromJSON(o.model));
    tok.normalizer = normalizerFromJSON(o.normalizer);
    tok.preTokenizer = preTokenizerFromJSON(o.pre_tokenizer);
    tok.postProcessor = postProcessorFromJSON(o.post_processor);
    tok.decoder = decoderFromJSON(o.decoder);
    const added = AddedVocabulary.fromJSON(o.added_tokens);
    for (const t of added.all()) tok.addedTokens.add(t);
    tok.truncation = truncationFromJSON(o.truncation);
    tok.padding = paddingFromJSON(o.padding);
    return tok;
  }

  static fromString(json: string): Tokenizer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new TokenizerConfigError(`tokenizer.json is not valid JSON (${(err as Error).message})`);
    }
    return Tokenizer.fromJSON(parsed);
  }

  /** Reads a tokenizer.json file. Errors name the file and the offending field. */
  static async fromFile(path: string): Promise<Tokenizer> {
    let text: string;
    try {
      text = await fileSystem().promises.readFile(path, 'utf8');
    } catch (err) {
      throw new TokenizerConfigError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      return Tokenizer.fromString(text);
    } catch (err) {
      if (err instanceof TokenizerConfigError) throw new TokenizerConfigError(`${path}: ${err.message}`);
      throw err;
    }
  }

  /**
   * Loads the tokenizer of a model directory: tokenizer.json if present, else GPT-2's vocab.json +
   * merges.txt, else BERT's vocab.txt. tokenizer_config.json, when present, becomes `config`, and
   * its BOS / EOS / UNK / PAD tokens found in the vocabulary become special added tokens (as HF
   * Transformers does); for vocab.txt its do_lower_case is honoured.
   */
  static async fromPretrained(dir: string): Promise<Tokenizer> {
    const { loadPretrained } = await import('./pretrained.js');
    return loadPretrained(dir);
  }

  /** Writes tokenizer.json atomically (a temporary file renamed over the target). */
  async save(path: string, pretty = true): Promise<void> {
    await writeFileAtomic(path, this.toString(pretty));
  }

  /** Empties the model's word cache (benchmarks measure a cold start with it). */
  clearCache(): void { this.model.clearCache(); }
}
