// Text → token stream → training batches. Text is read and tokenized in chunks, so a corpus larger
// than memory never sits in memory as a string; the token stream is either kept in a typed array or,
// past `maxInMemoryTokens`, written to a binary file (nanoGPT's train.bin) that batches read from.

import { fileSystem } from '../io/files.js';
import type { Generator } from '../tensor/random.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeText } from '../io/utf8.js';

/** What the data pipeline needs of a tokenizer. */
export interface TextEncoder {
  encode(text: string): { ids: number[] | Int32Array };
}

const CHUNK_BYTES = 4 << 20;

/** How text files are decoded: strict UTF-8 unless lossy; warnings (NUL bytes) go to warn. */
export interface TextReadOptions {
  lossyUtf8?: boolean;
  warn?: (message: string) => void;
}

/**
 * Reads a UTF-8 file in chunks cut after a newline followed by a non-space (so neither a character
 * nor a pre-token spans two chunks) and calls fn with each chunk's text. A UTF-8 BOM is dropped;
 * bytes that are not UTF-8 throw InvalidUtf8Error naming the file and byte offset (unless lossyUtf8).
 */
export function forEachTextChunk(path: string, fn: (text: string, bytesDone: number, bytesTotal: number) => void,
                                 o: TextReadOptions = {}): void {
  if (!fileSystem().existsSync(path)) throw new Error(`data file not found: ${path}`);
  const total = fileSystem().statSync(path).size;
  const fd = fileSystem().openSync(path, 'r');
  let warned = false;
  const warn = (m: string) => { if (!warned) (o.warn ?? console.warn)(m); warned = true; };
  const decode = (bytes: Uint8Array, offset: number) => decodeText(bytes, { file: path, offset, lossy: o.lossyUtf8, warn });
  try {
    const buf = new Uint8Array(CHUNK_BYTES);
    let carry = new Uint8Array(0);
    let pos = 0;
    for (;;) {
      const n = fileSystem().readSync(fd, buf, 0, CHUNK_BYTES, pos);
      pos += n;
      const data = carry.length ? concatBytes(carry, buf.subarray(0, n)) : buf.subarray(0, n);
      const start = pos - data.length; // file offset of data[0]
      if (n === 0) { if (data.length) fn(decode(data, start), pos, total); return; }
      let cut = -1;
      for (let i = data.length - 2; i >= 0; i--) {
        if (data[i] === 0x0a && data[i + 1] !== 0x20 && data[i + 1] !== 0x0a && data[i + 1] !== 0x09 && data[i + 1] !== 0x0d) { cut = i + 1; break; }
      }
      if (cut <= 0) { carry = data.slice(); continue; }
      fn(decode(data.subarray(0, cut), start), pos, total);
      carry = data.slice(cut);
    }
  } finally {
    fileSystem().closeSync(fd);
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A token stream held in memory or in a binary file, read by windows. */
export class TokenStream {
  /** fd streams read tokens [base, base + length) of the file. */
  private constructor(private readonly mem: Int32Array | null, private readonly fd: number | null,
                      private readonly base: number, readonly length: number, readonly path: string | null) {}

  static fromArray(ids: ArrayLike<number>): TokenStream {
    return new TokenStream(Int32Array.from(ids), null, 0, ids.length, null);
  }

  /**
   * Tokenizes files chunk by chunk. Up to maxInMemoryTokens stays in memory; past it the stream
   * spills to binPath (int32 little-endian) and is read from disk.
   */
  static fromFiles(files: string[], tok: TextEncoder, opts: TextReadOptions & { binPath?: string; maxInMemoryTokens?: number;
    onProgress?: (done: number, total: number) => void } = {}): TokenStream {
    if (files.length === 0) throw new Error('no data files given');
    const limit = opts.maxInMemoryTokens ?? 256 << 20;
    const totalBytes = files.reduce((n, f) => {
      if (!fileSystem().existsSync(f)) throw new Error(`data file not found: ${f}`);
      return n + fileSystem().statSync(f).size;
    }, 0);
    if (totalBytes === 0) throw new Error(`data file is empty: ${files.join(', ')}`);
    let mem = new Int32Array(1 << 16);
    let len = 0;
    let fd: number | null = null;
    let spilled = 0;
    const write = (a: Int32Array) => fileSystem().writeSync(fd!, new Uint8Array(a.buffer, a.byteOffset, a.length * 4));
    for (const f of files) {
      forEachTextChunk(f, (text, done) => {
        const ids = Int32Array.from(tok.encode(text).ids);
        if (fd !== null || len + ids.length > limit) {
          // Past the limit: what is in memory and everything after goes to the file.
          if (!opts.binPath) throw new Error(`token stream exceeds ${limit} tokens in memory; pass binPath to spill to disk`);
          if (fd === null) { fd = fileSystem().openSync(opts.binPath, 'w+'); write(mem.subarray(0, len)); spilled = len; len = 0; }
          write(ids);
          spilled += ids.length;
        } else {
          if (len + ids.length > mem.length) {
            const bigger = new Int32Array(Math.max(mem.length * 2, len + ids.length));
            bigger.set(mem.subarray(0, len));
            mem = bigger;
          }
          mem.set(ids, len);
          len += ids.length;
        }
        opts.onProgress?.(done, totalBytes);
      }, opts);
    }
    if (fd !== null) return new TokenStream(null, fd, 0, spilled, opts.binPath!);
    if (len === 0) throw new Error(`data file has no tokens: ${files.join(', ')}`);
    return new TokenStream(mem.slice(0, len), null, 0, len, null);
  }

  /** Copies tokens [start, start + n) into out. */
  read(start: number, n: number, out: Int32Array, outOffset = 0): void {
    if (start < 0 || start + n > this.length) throw new Error(`TokenStream.read: [${start}, ${start + n}) outside 0..${this.length}`);
    if (this.mem !== null) { out.set(this.mem.subarray(start, start + n), outOffset); return; }
    const bytes = new Uint8Array(out.buffer, out.byteOffset + outOffset * 4, n * 4);
    fileSystem().readSync(this.fd!, bytes, 0, n * 4, (this.base + start) * 4);
  }

  /** A sub-range view (shares memory or file). */
  slice(start: number, end: number): TokenStream {
    return new TokenStream(this.mem ? this.mem.subarray(start, end) : null, this.fd, this.base + start, end - start, this.path);
  }

  close(): void {
    if (this.fd !== null) { fileSystem().closeSync(this.fd); if (this.path && fileSystem().existsSync(this.path)) fileSystem().unlinkSync(this.path); }
  }
}

/** nanoGPT's split: the first 90% trains, the last 10% validates. */
export function trainValSplit(stream: TokenStream, valFraction = 0.1): { train: TokenStream; val: TokenStream } {
  const cut = Math.floor(stream.length * (1 - valFraction));
  return { train: stream.slice(0, cut), val: stream.slice(cut, stream.length) };
}

/** Random windows for causal LM: x = tokens[i : i+T], y = tokens[i+1 : i+T+1], as nanoGPT's get_batch. */
export function causalBatch(stream: TokenStream, batchSize: number, blockSize: number, gen: Generator): { x: Tensor; y: Tensor } {
  if (stream.length < blockSize + 1) {
    throw new Error(`block size ${blockSize} is larger than the data split (${stream.length} tokens); use a smaller --block-size or more data`);
  }
  const x = new Int32Array(batchSize * blockSize), y = new Int32Array(batchSize * blockSize);
  const win = new Int32Array(blockSize + 1);
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(gen.uniform() * (stream.length - blockSize));
    stream.read(start, blockSize + 1, win);
    x.set(win.subarray(0, blockSize), b * blockSize);
    y.set(win.subarray(1), b * blockSize);
  }
  return { x: tensor(x, { shape: [batchSize, blockSize] }), y: tensor(y, { shape: [batchSize, blockSize] }) };
}

export interface MlmOptions {
  maskId: number;
  vocabSize: number;
  /** Token ids never masked (CLS, SEP, PAD...). */
  specialIds?: ReadonlySet<number>;
  /** Fraction of tokens selected for prediction (BERT: 0.15). */
  prob?: number;
  /** When both are set, each window is framed as [CLS] … [SEP], the shape fine-tuning feeds the model. */
  clsId?: number;
  sepId?: number;
}

/**
 * BERT's masking: of the selected 15% of tokens, 80% become [MASK], 10% a random token, 10% stay.
 * Labels hold the original id at selected positions and -100 (ignored) elsewhere.
 */
export function maskTokens(ids: Int32Array, o: MlmOptions, gen: Generator): { input: Int32Array; labels: Int32Array } {
  const prob = o.prob ?? 0.15;
  const input = ids.slice();
  const labels = new Int32Array(ids.length).fill(-100);
  for (let i = 0; i < ids.length; i++) {
    if (o.specialIds?.has(ids[i]!)) continue;
    if (gen.uniform() >= prob) continue;
    labels[i] = ids[i]!;
    const r = gen.uniform();
    if (r < 0.8) input[i] = o.maskId;
    else if (r < 0.9) input[i] = gen.int(0, o.vocabSize);
  }
  return { input, labels };
}

/** Random windows with BERT masking, for masked-LM pretraining. */
export function mlmBatch(stream: TokenStream, batchSize: number, blockSize: number, o: MlmOptions, gen: Generator): MlmBatch {
  if (stream.length < blockSize) {
    throw new Error(`block size ${blockSize} is larger than the data split (${stream.length} tokens); use a smaller --block-size or more data`);
  }
  // Framing the windows as fine-tuning frames its inputs puts [CLS] (whose vector the classifiers read)
  // and position 0 in distribution during pretraining; unframed windows never show the model a [CLS].
  const framed = o.clsId !== undefined && o.sepId !== undefined && blockSize > 2;
  const span = framed ? blockSize - 2 : blockSize;
  const ids = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(gen.uniform() * (stream.length - span + 1));
    const row = b * blockSize;
    stream.read(start, span, ids, framed ? row + 1 : row);
    if (framed) { ids[row] = o.clsId!; ids[row + blockSize - 1] = o.sepId!; }
  }
  const { input, labels } = maskTokens(ids, o, gen);
  const positions: number[] = [];
  labels.forEach((l, i) => { if (l !== -100) positions.push(i); });
  return {
    x: tensor(input, { shape: [batchSize, blockSize] }), y: tensor(labels, { shape: [batchSize, blockSize] }),
    masked: { positions: tensor(Int32Array.from(positions), { shape: [positions.length] }), targets: tensor(Int32Array.from(positions, (i) => labels[i]!), { shape: [positions.length] }) },
  };
}

/** An MLM batch; `masked` lists the predicted positions (flat into [B·T]) and their targets, for heads that score only those. */
export interface MlmBatch {
  x: Tensor;
  y: Tensor;
  masked: { positions: Tensor; targets: Tensor };
}
