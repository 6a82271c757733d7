// Streamers, as HF transformers' generation/streamers.py: generate() hands them token ids as they
// are chosen (the prompt first, then one token per step) and they turn them into text.
//
// The text rule: a piece never ends inside a character. Byte-level BPE spells one character with
// several tokens (a CJK character is 3 UTF-8 bytes, often 2-3 tokens); decoding a prefix that stops
// mid-character gives U+FFFD at the end. Such a tail is held back until the next token completes it
// (or the stream ends), so the pieces concatenate to exactly the final text.

/** What the streamers and stop strings need of a tokenizer. */
export interface TokenDecoder {
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
}

/** HF BaseStreamer. */
export interface Streamer {
  put(ids: readonly number[]): void;
  end(): void;
}

const REPLACEMENT = 0xfffd;

/** Turns a growing list of token ids into text pieces that never split a character. */
export class IncrementalDetokenizer {
  private ids: number[] = [];
  private emitted = 0; // characters of decode(ids) already handed out

  constructor(readonly tokenizer: TokenDecoder, readonly skipSpecialTokens = true) {}

  /** Adds tokens; returns the new text that is complete (possibly ''). */
  push(ids: readonly number[]): string {
    for (const id of ids) this.ids.push(id);
    const text = this.tokenizer.decode(this.ids, { skipSpecialTokens: this.skipSpecialTokens });
    let end = text.length;
    // An unfinished UTF-8 sequence decodes to one or more U+FFFD at the very end: hold them back.
    while (end > this.emitted && text.charCodeAt(end - 1) === REPLACEMENT) end--;
    // A lone high surrogate at the end would be half of a character outside the BMP.
    if (end > this.emitted && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    return this.take(text, end);
  }

  /** Everything not yet handed out, held-back tail included (call at the end of the stream). */
  flush(): string {
    if (this.ids.length === 0) return '';
    const text = this.tokenizer.decode(this.ids, { skipSpecialTokens: this.skipSpecialTokens });
    return this.take(text, text.length);
  }

  private take(text: string, end: number): string {
    if (end <= this.emitted) return '';
    const piece = text.slice(this.emitted, end);
    this.emitted = end;
    return piece;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

export interface TextStreamerOptions {
  /** Do not print the prompt (the first put). Default true. */
  skipPrompt?: boolean;
  skipSpecialTokens?: boolean;
  /** Receives each piece; default: written to process.stdout. streamEnd is true on the last call. */
  onText?: (text: string, streamEnd: boolean) => void;
}

/** HF TextStreamer: prints (or hands to onText) the text as it is generated; batch size 1. */
export class TextStreamer implements Streamer {
  private readonly detok: IncrementalDetokenizer;
  private readonly skipPrompt: boolean;
  private nextIsPrompt = true;
  private readonly onText: (text: string, streamEnd: boolean) => void;

  constructor(tokenizer: TokenDecoder, opts: TextStreamerOptions = {}) {
    this.detok = new IncrementalDetokenizer(tokenizer, opts.skipSpecialTokens ?? true);
    this.skipPrompt = opts.skipPrompt ?? true;
    this.onText = opts.onText ?? ((text) => { if (text) { if (globalThis.process?.stdout) globalThis.process.stdout.write(text); else console.log(text); } });
  }

  put(ids: readonly number[]): void {
    if (this.nextIsPrompt) {
      this.nextIsPrompt = false;
      if (this.skipPrompt) return;
    }
    const piece = this.detok.push(ids);
    if (piece) this.onText(piece, false);
  }

  end(): void {
    this.onText(this.detok.flush(), true);
    this.nextIsPrompt = true;
  }
}

/**
 * HF TextIteratorStreamer: the pieces as an async iterator, for a consumer that runs beside
 * generate(). Pieces queue up until read.
 */
export class TextIteratorStreamer extends TextStreamer implements AsyncIterable<string> {
  private readonly queue: string[] = [];
  private done = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;

  constructor(tokenizer: TokenDecoder, opts: Omit<TextStreamerOptions, 'onText'> = {}) {
    super(tokenizer, { ...opts, onText: (text, streamEnd) => this.onPiece(text, streamEnd) });
  }

  /** Ends the iteration with an error (generate() failed). */
  fail(err: unknown): void {
    this.failure = err;
    this.done = true;
    this.wake?.();
  }

  private onPiece(text: string, streamEnd: boolean): void {
    if (text) this.queue.push(text);
    if (streamEnd) this.done = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      if (this.queue.length > 0) { yield this.queue.shift()!; continue; }
      if (this.failure !== null) throw this.failure;
      if (this.done) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
  }
}
