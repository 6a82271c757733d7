// safetensors read/write, per https://huggingface.co/docs/safetensors (the format HF and PyTorch share).
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON header
//   { "__metadata__"?: { str: str }, name: { dtype, shape, data_offsets: [begin, end] }, ... }
// then the byte buffer; offsets are relative to the buffer's start and must tile it exactly.
//
// Files come from strangers, so everything the header claims is checked against the real file size
// before a byte is allocated for it. Reading converts to tlm's three dtypes: every float → float32,
// every integer → int32 (an error if a value does not fit), BOOL → bool. Writing emits F32/I32/BOOL in
// the canonical layout the Rust safetensors crate writes, so files round-trip byte for byte.

import { fileSystem } from './files.js';
import { tensor, isTensor, type Tensor, type DType } from '../tensor/index.js';
import { writeFileAtomic } from './atomic.js';

export type SafetensorsDType =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2'
  | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element and the tlm dtype each file dtype becomes. */
const DTYPES: Record<SafetensorsDType, { size: number; to: DType }> = {
  F64: { size: 8, to: 'float32' }, F32: { size: 4, to: 'float32' }, F16: { size: 2, to: 'float32' },
  BF16: { size: 2, to: 'float32' }, F8_E4M3: { size: 1, to: 'float32' }, F8_E5M2: { size: 1, to: 'float32' },
  I64: { size: 8, to: 'int32' }, I32: { size: 4, to: 'int32' }, I16: { size: 2, to: 'int32' }, I8: { size: 1, to: 'int32' },
  U64: { size: 8, to: 'int32' }, U32: { size: 4, to: 'int32' }, U16: { size: 2, to: 'int32' }, U8: { size: 1, to: 'int32' },
  BOOL: { size: 1, to: 'bool' },
};

/** The Rust crate's limit: a bigger header is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor as the header describes it; begin/end are offsets into the data buffer. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** In file order of their offsets. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute file offset of the data buffer (8 + N). */
  dataStart: number;
}

/** A tensor's values decoded into tlm's dtypes, without creating a Tensor. */
export interface RawTensor {
  dtype: DType;
  /** The dtype stored in the file, before conversion. */
  fileDtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface RawSafetensors {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

function fail(source: string, msg: string): never {
  throw new Error(`safetensors: ${source}: ${msg}`);
}

// Typed-array views below read the file's little-endian bytes natively.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function checkHost(): void {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
}

// Own-property assignment: a hostile name like "__proto__" must not reach the prototype.
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------- header

/** Validates the 8-byte prefix against the file size; returns N. */
function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) fail(source, `file is truncated: ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (8n + n > BigInt(fileSize)) fail(source, `file is truncated: header length ${n} runs past the end of the file (${fileSize} bytes)`);
  return Number(n);
}

/** Keys of the top-level JSON object, duplicates included (JSON.parse silently keeps the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (/\s/.test(text[k]!)) k++;
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates the JSON header against the data buffer's size. */
function parseHeader(bytes: Uint8Array, dataSize: number, dataStart: number, source: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(source, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail(source, `header must be a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);

  const seen = new Set<string>();
  for (const k of topLevelKeys(text)) {
    if (seen.has(k)) fail(source, `duplicate tensor name '${k}' in header`);
    seen.add(k);
  }

  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (info === null) continue; // what a writer with metadata=None may emit
      if (!isPlainObject(info)) fail(source, '__metadata__ must be an object of strings');
      metadata = {};
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__ value for '${k}' must be a string, got ${JSON.stringify(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (!isPlainObject(info)) fail(source, `${where}: entry must be an object with dtype, shape, data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
      fail(source, `${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(source, `${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(source, `${where}: data_offsets must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[] as [number, number];
    if (begin > end || end > dataSize) {
      fail(source, `${where}: data_offsets [${begin}, ${end}] out of range for a data buffer of ${dataSize} bytes`);
    }
    const dims = shape as number[];
    const size = DTYPES[dtype as SafetensorsDType].size;
    const want = dims.reduce((a, b) => a * b, 1) * size; // beyond 2^53 it can't equal a real length anyway
    if (want !== end - begin) {
      fail(source, `${where}: ${dtype} shape [${dims.join(',')}] needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: dims, begin, end });
  }

  // The spec: the buffer is entirely indexed, without holes or overlaps.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0, prev = '';
  for (const e of entries) {
    if (e.begin < pos) fail(source, `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap tensor '${prev}' (which ends at ${pos})`);
    if (e.begin > pos) fail(source, `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] leave a gap: bytes ${pos}..${e.begin} belong to no tensor`);
    if (e.end > e.begin) { pos = e.end; prev = e.name; }
  }
  if (pos !== dataSize) fail(source, `data buffer has ${dataSize - pos} trailing bytes (${pos}..${dataSize}) that belong to no tensor`);
  return { entries, metadata, dataStart };
}

// ---------------------------------------------------------------- decoding

let f16Table: Float32Array | undefined;
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24; // subnormal
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

// float8 e4m3fn (no infinities; S.1111.111 is NaN) and e5m2 (IEEE-like: the top byte of an f16).
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1, exp = (b >> 3) & 0xf, man = b & 7;
  if (exp === 15 && man === 7) return NaN;
  return exp === 0 ? sign * man * 2 ** -9 : sign * (1 + man / 8) * 2 ** (exp - 7);
}

function narrowToInt32(hi: Int32Array | Uint32Array, entry: SafetensorsEntry, source: string): Int32Array {
  const words = new Uint32Array(hi.buffer, hi.byteOffset, hi.length);
  const signed = entry.dtype === 'I64';
  const out = new Int32Array(words.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = words[2 * i]!, h = words[2 * i + 1]!;
    // fits iff the high word is the sign extension of the low word's bit 31
    const ok = signed ? (h === 0 && lo < 0x80000000) || (h === 0xffffffff && lo >= 0x80000000) : h === 0 && lo < 0x80000000;
    if (!ok) {
      const v = signed ? (BigInt(h | 0) << 32n) | BigInt(lo) : (BigInt(h) << 32n) | BigInt(lo);
      fail(source, `tensor '${entry.name}': ${entry.dtype} value ${v} at index ${i} does not fit in int32`);
    }
    out[i] = lo | 0;
  }
  return out;
}

/** Converts one tensor's bytes (an owned copy starting at byteOffset 0) into tlm's dtype. */
function decode(bytes: Uint8Array, entry: SafetensorsEntry, source: string): Float32Array | Int32Array | Uint8Array {
  checkHost();
  const buf = bytes.buffer, n = bytes.length / DTYPES[entry.dtype].size;
  switch (entry.dtype) {
    case 'F32': return new Float32Array(buf, 0, n);
    case 'F64': return Float32Array.from(new Float64Array(buf, 0, n));
    case 'F16': {
      if (!f16Table) { f16Table = new Float32Array(65536); for (let h = 0; h < 65536; h++) f16Table[h] = halfToFloat(h); }
      const src = new Uint16Array(buf, 0, n), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16Table[src[i]!]!;
      return out;
    }
    case 'BF16': { // bf16 is the top half of a float32
      const src = new Uint16Array(buf, 0, n), bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F8_E4M3': return Float32Array.from(bytes, e4m3ToFloat);
    case 'F8_E5M2': return Float32Array.from(bytes, (b) => halfToFloat(b << 8));
    case 'I32': return new Int32Array(buf, 0, n);
    case 'I16': return Int32Array.from(new Int16Array(buf, 0, n));
    case 'U16': return Int32Array.from(new Uint16Array(buf, 0, n));
    case 'I8': return Int32Array.from(new Int8Array(buf, 0, n));
    case 'U8': return Int32Array.from(bytes);
    case 'U32': {
      const src = new Uint32Array(buf, 0, n);
      const i = src.findIndex((v) => v > 0x7fffffff);
      if (i >= 0) fail(source, `tensor '${entry.name}': U32 value ${src[i]} at index ${i} does not fit in int32`);
      return new Int32Array(buf, 0, n);
    }
    case 'I64': case 'U64': return narrowToInt32(new Uint32Array(buf, 0, 2 * n), entry, source);
    case 'BOOL': return bytes.map((b) => (b ? 1 : 0)); // torch stores 0/1; anything else counts as true
  }
}

// An owned, offset-0 copy (decode views its buffer). Not bytes.slice: on a Node Buffer that is a view.
const copyOut = (bytes: Uint8Array, start: number, e: SafetensorsEntry): Uint8Array =>
  new Uint8Array(bytes.subarray(start + e.begin, start + e.end));

const toRaw = (e: SafetensorsEntry, bytes: Uint8Array, source: string): RawTensor =>
  ({ dtype: DTYPES[e.dtype].to, fileDtype: e.dtype, shape: e.shape, data: decode(bytes, e, source) });

// ---------------------------------------------------------------- readers

/** Validates a whole file held in memory; returns the header. */
export function parseSafetensorsHeader(bytes: Uint8Array, source = '<bytes>'): SafetensorsHeader {
  const n = headerLength(bytes, bytes.length, source);
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, 8 + n, source);
}

/** Decodes every tensor of an in-memory file into typed arrays, without creating tensors. */
export function parseSafetensorsRaw(bytes: Uint8Array, source = '<bytes>'): RawSafetensors {
  const h = parseSafetensorsHeader(bytes, source);
  const tensors: Record<string, RawTensor> = {};
  for (const e of h.entries) {
    setOwn(tensors, e.name, toRaw(e, copyOut(bytes, h.dataStart, e), source));
  }
  return { tensors, metadata: h.metadata };
}

/**
 * A safetensors file opened for reading one tensor at a time, so that loaders can check names and
 * shapes first and never hold more than one raw tensor beside the ones they keep. Close it when done.
 */
export interface SafetensorsReader {
  path: string;
  header: SafetensorsHeader;
  read(name: string): Promise<RawTensor>;
  close(): Promise<void>;
}

export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  const fh = await fileSystem().promises.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const readAt = async (pos: number, len: number): Promise<Uint8Array> => {
      const out = new Uint8Array(len);
      const { bytesRead } = await fh.read(out, 0, len, pos);
      if (bytesRead !== len) fail(path, `short read: ${bytesRead} of ${len} bytes at offset ${pos} (file changed while reading?)`);
      return out;
    };
    const n = headerLength(await readAt(0, Math.min(8, size)), size, path);
    const header = parseHeader(await readAt(8, n), size - 8 - n, 8 + n, path);
    const byName = new Map(header.entries.map((e) => [e.name, e]));
    return {
      path,
      header,
      async read(name) {
        const e = byName.get(name);
        if (!e) return fail(path, `no tensor named '${name}'`);
        return toRaw(e, await readAt(header.dataStart + e.begin, e.end - e.begin), path);
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A file's validated header (names, dtypes, shapes, offsets), without reading its tensors. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const r = await openSafetensors(path);
  await r.close();
  return r.header;
}

/** Reads every tensor of a file into typed arrays, without creating tensors. */
export async function readSafetensors(path: string): Promise<RawSafetensors> {
  const r = await openSafetensors(path);
  try {
    const tensors: Record<string, RawTensor> = {};
    for (const e of r.header.entries) setOwn(tensors, e.name, await r.read(e.name));
    return { tensors, metadata: r.header.metadata };
  } finally {
    await r.close();
  }
}

/** Creates tensors one by one; on failure disposes the ones already made. */
async function collect(names: string[], get: (name: string) => RawTensor | Promise<RawTensor>): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  try {
    for (const name of names) {
      const r = await get(name);
      setOwn(out, name, tensor(r.data, { shape: r.shape, dtype: r.dtype }));
    }
    return out;
  } catch (err) {
    for (const t of Object.values(out)) t.dispose();
    throw err;
  }
}

/** Parses an in-memory safetensors file into tensors on the current backend. */
export async function parseSafetensors(bytes: Uint8Array, source = '<bytes>'): Promise<Record<string, Tensor>> {
  const h = parseSafetensorsHeader(bytes, source);
  const byName = new Map(h.entries.map((e) => [e.name, e]));
  return collect([...byName.keys()], (name) => {
    const e = byName.get(name)!;
    return toRaw(e, copyOut(bytes, h.dataStart, e), source);
  });
}

/** Loads a safetensors file into tensors on the current backend (floats → float32, ints → int32). */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  const r = await openSafetensors(path);
  try {
    return await collect(r.header.entries.map((e) => e.name), (name) => r.read(name));
  } finally {
    await r.close();
  }
}

// ---------------------------------------------------------------- writing

const WRITE_DTYPE: Record<DType, SafetensorsDType> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
// The Rust crate sorts by dtype, descending in its enum order (by alignment: F32 > I32 > BOOL), then by name.
const WRITE_RANK: Record<DType, number> = { float32: 0, int32: 1, bool: 2 };
/** Orders names by their UTF-8 bytes (as the Rust crate's BTreeMap does), which is code point order. */
function utf8Compare(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length - y.length < 0 ? -1 : x.length === y.length ? 0 : 1;
}

interface Plan { header: Uint8Array; order: [string, Tensor][]; dataSize: number }

/** Validates the inputs and lays out the header; nothing is read from the tensors yet. */
function plan(dict: Record<string, Tensor>, metadata: Record<string, string> | undefined, source: string): Plan {
  if (!isPlainObject(dict)) fail(source, 'tensors must be an object of name → Tensor');
  const order = Object.entries(dict);
  for (const [name, t] of order) {
    if (name === '__metadata__') fail(source, "'__metadata__' is reserved and cannot name a tensor");
    if (!isTensor(t)) fail(source, `'${name}' is not a Tensor`);
  }
  order.sort(([an, a], [bn, b]) => WRITE_RANK[a.dtype] - WRITE_RANK[b.dtype] || utf8Compare(an, bn));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail(source, 'metadata must be an object of strings');
    const keys = Object.keys(metadata).sort(utf8Compare);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') fail(source, `metadata value for '${k}' must be a string, got ${typeof metadata[k]}`);
    }
    // Built by hand: a JS object would move integer-like keys ("0") to the front.
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of order) {
    const end = offset + t.numel * (t.dtype === 'bool' ? 1 : 4);
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: WRITE_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Pad with spaces so the buffer starts 8-byte aligned, as the Rust crate does.
  const n = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + n).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  return { header, order, dataSize: offset };
}

/** Header then each tensor's bytes, one tensor in memory at a time. */
async function* chunks(p: Plan): AsyncGenerator<Uint8Array> {
  checkHost();
  yield p.header;
  for (const [, t] of p.order) {
    const d = await t.data();
    if (d.length !== t.numel) fail('<bytes>', `tensor ${t.describe()} gave ${d.length} values, expected ${t.numel}`);
    yield t.dtype === 'bool' ? (d as Uint8Array).map((b) => (b ? 1 : 0)) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
}

/** Serializes tensors (float32, int32, bool) and string metadata to safetensors bytes. */
export async function serializeSafetensors(dict: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const p = plan(dict, metadata, '<bytes>');
  const out = new Uint8Array(p.header.length + p.dataSize);
  let pos = 0;
  for await (const c of chunks(p)) { out.set(c, pos); pos += c.length; }
  return out;
}

/** Saves tensors to `path` atomically: an existing file is replaced only by a complete new one. */
export async function saveSafetensors(path: string, dict: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const p = plan(dict, metadata, path); // fail on bad input before touching the disk
  await writeFileAtomic(path, chunks(p));
}
