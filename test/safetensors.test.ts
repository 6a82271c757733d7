// safetensors: round trips, HF fixture files, dtype conversion from known bit patterns, and one test
// per kind of malformed file (each must fail with a clear error naming the file and the problem).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tensor, type Tensor } from '../src/index.js'; // registers the backends
import {
  loadSafetensors, saveSafetensors, parseSafetensors, serializeSafetensors, parseSafetensorsRaw,
  openSafetensors, readSafetensors, writeFileAtomic,
} from '../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tlm-safetensors-'));

/** A file from a header (object or raw JSON text) and a data buffer; `n` overrides the header length. */
function file(header: object | string | Uint8Array, data: ArrayLike<number> = [], n?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? header
    : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

async function check(t: Tensor, dtype: string, shape: number[], values: number[]): Promise<void> {
  assert.equal(t.dtype, dtype);
  assert.deepEqual(t.shape, shape);
  assert.deepEqual(Array.from(await t.data()), values);
}

// ---------------------------------------------------------------- round trips

test('save → load round-trips float32, int32, bool, 0-d and empty tensors with metadata', async () => {
  const dict = {
    w: tensor(new Float32Array([1.5, -2, 3e-8, 1e30, -0, 7]), { shape: [2, 3] }),
    ids: tensor(new Int32Array([-2147483648, 2147483647, 0, -1]), { shape: [4] }),
    mask: tensor(new Uint8Array([1, 0, 1]), { shape: [3], dtype: 'bool' }),
    scalar: tensor(new Float32Array([42]), { shape: [] }),
    empty: tensor(new Float32Array(0), { shape: [0, 3] }),
    emptyInt: tensor(new Int32Array(0), { shape: [2, 0] }),
  };
  const path = join(dir, 'roundtrip.safetensors');
  await saveSafetensors(path, dict, { format: 'pt', note: 'hello ✓' });
  const back = await loadSafetensors(path);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(dict).sort());
  await check(back.w!, 'float32', [2, 3], [1.5, -2, Math.fround(3e-8), Math.fround(1e30), -0, 7]);
  assert.ok(Object.is((await back.w!.data())[4], -0), '-0 keeps its sign bit');
  await check(back.ids!, 'int32', [4], [-2147483648, 2147483647, 0, -1]);
  await check(back.mask!, 'bool', [3], [1, 0, 1]);
  await check(back.scalar!, 'float32', [], [42]);
  await check(back.empty!, 'float32', [0, 3], []);
  await check(back.emptyInt!, 'int32', [2, 0], []);
  assert.deepEqual((await readSafetensors(path)).metadata, { format: 'pt', note: 'hello ✓' });

  // serialize ∘ parse is the identity on canonical bytes
  const bytes = readFileSync(path);
  assert.deepEqual(await serializeSafetensors(await parseSafetensors(bytes), { format: 'pt', note: 'hello ✓' }), new Uint8Array(bytes));
});

test('written layout is canonical: padded header, dtype-then-name order, contiguous offsets', async () => {
  const bytes = await serializeSafetensors({
    b: tensor(new Uint8Array([1]), { shape: [1], dtype: 'bool' }),
    z: tensor(new Float32Array([1, 2]), { shape: [2] }),
    a: tensor(new Float32Array([3]), { shape: [1] }),
    i: tensor(new Int32Array([5]), { shape: [1] }),
    '10': tensor(new Float32Array([6]), { shape: [1] }),
  }, { k: 'v' });
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal(n % 8, 0, 'header length is a multiple of 8');
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(text, (
    '{"__metadata__":{"k":"v"},"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"z":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"i":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[20,21]}}').padEnd(n, ' '));
  assert.equal(bytes.length, 8 + n + 21);
  // with no metadata there is no __metadata__ key, as the Rust crate writes
  const plain = await serializeSafetensors({ a: tensor(new Float32Array([1]), { shape: [1] }) });
  assert.ok(!new TextDecoder().decode(plain).includes('__metadata__'));
  // an empty dict is a valid file
  assert.deepEqual(await parseSafetensors(await serializeSafetensors({})), {});
});

test('non-contiguous views are written in logical order', async () => {
  const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }).transpose(0, 1);
  const back = await parseSafetensors(await serializeSafetensors({ t }));
  await check(back.t!, 'float32', [3, 2], [1, 4, 2, 5, 3, 6]);
});

// ---------------------------------------------------------------- HF fixtures

for (const model of ['gpt2-tiny', 'bert-tiny']) {
  const path = resolve(process.cwd(), 'test/fixtures/hf', model, 'model.safetensors');
  test(`reads the HF fixture ${model}/model.safetensors as its header describes`, async () => {
    // The expectations come from the file itself, read independently of the library.
    const buf = readFileSync(path);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const { __metadata__: meta, ...entries } = header;
    const dict = await loadSafetensors(path);
    assert.deepEqual(Object.keys(dict).sort(), Object.keys(entries).sort());
    for (const [name, e] of Object.entries(entries)) {
      assert.equal(e.dtype, 'F32');
      const t = dict[name]!;
      assert.equal(t.dtype, 'float32', name);
      assert.deepEqual(t.shape, e.shape, name);
      const data = await t.data();
      const count = e.shape.reduce((a, b) => a * b, 1);
      assert.equal(data.length, count, name);
      for (const i of [0, count >> 1, count - 1]) {
        if (i < 0 || i >= count) continue;
        assert.equal(data[i], buf.readFloatLE(8 + n + e.data_offsets[0] + 4 * i), `${name}[${i}]`);
      }
    }
    // re-saving reproduces the file HF's safetensors wrote, byte for byte (canonical layout)
    assert.ok(Buffer.from(await serializeSafetensors(dict, meta as unknown as Record<string, string>)).equals(buf), 're-serialized bytes equal the fixture');

    const reader = await openSafetensors(path);
    try {
      assert.deepEqual(reader.header.metadata, meta ?? {});
      const first = reader.header.entries[0]!;
      const raw = await reader.read(first.name);
      assert.equal(raw.fileDtype, 'F32');
      assert.ok(raw.data instanceof Float32Array);
    } finally {
      await reader.close();
    }
  });
}

// ---------------------------------------------------------------- conversions

/** A one-tensor file whose buffer is given as little-endian words of `size` bytes each. */
function one(dtype: string, words: (number | bigint)[], size: number, shape = [words.length]): Uint8Array {
  const data = new Uint8Array(words.length * size);
  const dv = new DataView(data.buffer);
  words.forEach((w, i) => {
    if (size === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(w)), true);
    else if (size === 4) dv.setUint32(i * 4, Number(w) >>> 0, true);
    else if (size === 2) dv.setUint16(i * 2, Number(w), true);
    else dv.setUint8(i, Number(w));
  });
  return file({ t: { dtype, shape, data_offsets: [0, data.length] } }, data);
}

const raw = (bytes: Uint8Array) => parseSafetensorsRaw(bytes).tensors.t!;

test('F16 converts to float32 (normal, subnormal, ±inf, NaN, -0)', async () => {
  const r = raw(one('F16', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x7e00, 0x8000], 2));
  assert.equal(r.dtype, 'float32');
  assert.equal(r.fileDtype, 'F16');
  const v = Array.from(r.data);
  assert.deepEqual(v.slice(0, 8), [1, -2, 65504, 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity]);
  assert.ok(Number.isNaN(v[8]));
  assert.ok(Object.is(v[9], -0));
  const t = (await parseSafetensors(one('F16', [0x3c00, 0x4000, 0x4200, 0x4400], 2, [2, 2]))).t!;
  await check(t, 'float32', [2, 2], [1, 2, 3, 4]);
});

test('BF16 converts to float32 (the top 16 bits of an f32)', () => {
  const v = Array.from(raw(one('BF16', [0x3f80, 0xc040, 0x4049, 0x7f80, 0x0001], 2)).data);
  assert.deepEqual(v, [1, -3, 3.140625, Infinity, 2 ** -133]);
});

test('F64 rounds to float32', () => {
  const data = new Float64Array([1.5, -2.25, 0.1, 1e300]);
  const bytes = file({ t: { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, new Uint8Array(data.buffer));
  assert.deepEqual(Array.from(raw(bytes).data), [1.5, -2.25, Math.fround(0.1), Infinity]);
});

test('F8 E4M3 and E5M2 convert to float32', () => {
  const e4 = Array.from(raw(one('F8_E4M3', [0x38, 0xb8, 0x7e, 0x01, 0x40], 1)).data);
  assert.deepEqual(e4, [1, -1, 448, 2 ** -9, 2]);
  assert.ok(Number.isNaN(raw(one('F8_E4M3', [0x7f], 1)).data[0]));
  assert.deepEqual(Array.from(raw(one('F8_E5M2', [0x3c, 0xc0, 0x7c, 0x01], 1)).data), [1, -2, Infinity, 2 ** -16]);
});

test('integer dtypes convert to int32', () => {
  const cases: [string, (number | bigint)[], number, number[]][] = [
    ['I64', [-1n, 2147483647n, -2147483648n, 5n], 8, [-1, 2147483647, -2147483648, 5]],
    ['U64', [0n, 2147483647n], 8, [0, 2147483647]],
    ['I32', [-7, 0x7fffffff], 4, [-7, 2147483647]],
    ['U32', [3, 0x7fffffff], 4, [3, 2147483647]],
    ['I16', [0x8000, 0x7fff, 0xffff], 2, [-32768, 32767, -1]],
    ['U16', [0xffff, 1], 2, [65535, 1]],
    ['I8', [0x80, 0x7f, 0xff, 0], 1, [-128, 127, -1, 0]],
    ['U8', [255, 0, 128], 1, [255, 0, 128]],
  ];
  for (const [dtype, words, size, want] of cases) {
    const r = raw(one(dtype, words, size));
    assert.equal(r.dtype, 'int32', dtype);
    assert.ok(r.data instanceof Int32Array, dtype);
    assert.deepEqual(Array.from(r.data), want, dtype);
  }
});

test('parses bytes that sit at an odd offset inside a larger buffer (e.g. a Node Buffer view)', () => {
  const bytes = one('I16', [0xfffe, 7], 2);
  const host = new Uint8Array(bytes.length + 3);
  host.set(bytes, 3);
  assert.deepEqual(Array.from(parseSafetensorsRaw(host.subarray(3)).tensors.t!.data), [-2, 7]);
});

test('BOOL converts to bool (nonzero bytes are true)', async () => {
  const t = (await parseSafetensors(one('BOOL', [0, 1, 2, 255], 1))).t!;
  await check(t, 'bool', [4], [0, 1, 1, 1]);
});

test('64-bit and U32 integers that do not fit int32 fail naming the tensor, value and file', async () => {
  await assert.rejects(parseSafetensors(one('I64', [1n, 2147483648n], 8)), /tensor 't': I64 value 2147483648 at index 1 does not fit in int32/);
  await assert.rejects(parseSafetensors(one('I64', [-2147483649n], 8)), /I64 value -2147483649 at index 0 does not fit/);
  await assert.rejects(parseSafetensors(one('U64', [2n ** 63n], 8)), /U64 value 9223372036854775808 at index 0 does not fit/);
  await assert.rejects(parseSafetensors(one('U32', [0x80000000], 4)), /U32 value 2147483648 at index 0 does not fit/);
  const path = join(dir, 'big-int.safetensors');
  writeFileSync(path, one('I64', [2n ** 40n], 8));
  await assert.rejects(loadSafetensors(path), (e: Error) => e.message.includes(path) && /does not fit in int32/.test(e.message));
});

// ---------------------------------------------------------------- malformed files

let nBad = 0;
/** The bytes must fail to parse in memory and as a file, with `re` and (for the file) its path in the message. */
async function bad(bytes: Uint8Array, re: RegExp): Promise<void> {
  await assert.rejects(parseSafetensors(bytes), re);
  assert.throws(() => parseSafetensorsRaw(bytes), re);
  const path = join(dir, `bad-${nBad++}.safetensors`);
  writeFileSync(path, bytes);
  await assert.rejects(loadSafetensors(path), (e: Error) => {
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`safetensors: ${path}: `), `message names the file: ${e.message}`);
    return true;
  });
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('malformed: file shorter than 8 bytes', async () => {
  await bad(new Uint8Array([1, 0, 0]), /file is truncated: 3 bytes, too short for the 8-byte header length/);
  await bad(new Uint8Array(0), /file is truncated: 0 bytes/);
});

test('malformed: header length past the end of the file', async () => {
  await bad(file({}, [], 100n), /file is truncated: header length 100 runs past the end of the file \(10 bytes\)/);
  // a header that fits but claims (through huge offsets) a buffer that isn't there
  await bad(file({ t: f32([2 ** 40], 0, 2 ** 42) }, [1, 2, 3, 4]), /data_offsets \[0, 4398046511104\] out of range for a data buffer of 4 bytes/);
});

test('malformed: header length over 100 MB is refused before anything is read', async () => {
  await bad(file({}, [], 100_000_001n), /header length 100000001 exceeds the limit of 100000000 bytes/);
  await bad(file({}, [], 2n ** 64n - 1n), /header length 18446744073709551615 exceeds the limit/);
});

test('malformed: header not UTF-8, not JSON, or not an object', async () => {
  await bad(file(new Uint8Array([0x7b, 0xff, 0x7d])), /header is not valid UTF-8/);
  await bad(file('{"t": {'), /header is not valid JSON/);
  await bad(file('[1, 2]'), /header must be a JSON object, got an array/);
  await bad(file('null'), /header must be a JSON object, got null/);
  await bad(file('42'), /header must be a JSON object, got number/);
  await bad(file({ t: [1, 2] }), /tensor 't': entry must be an object/);
});

test('malformed: unknown dtype is named', async () => {
  await bad(file({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), /tensor 't': unknown dtype "F128" \(supported: F64, F32/);
  await bad(file({ t: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 't': unknown dtype undefined/);
});

test('malformed: shape must be a list of non-negative integers', async () => {
  for (const shape of [[-1], [1.5], '3', [[2]], null, [2 ** 60]] as unknown[]) {
    await bad(file({ t: { dtype: 'F32', shape, data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 't': shape must be a list of non-negative integers/);
  }
  await bad(file('{"t":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}}', new Uint8Array(4)), /shape must be a list of non-negative integers, got \[1e\+300\]/);
});

test('malformed: data_offsets out of range or ill-formed', async () => {
  await bad(file({ t: f32([2], 0, 8) }, new Uint8Array(4)), /tensor 't': data_offsets \[0, 8\] out of range for a data buffer of 4 bytes/);
  await bad(file({ t: f32([0], 4, 0) }, new Uint8Array(4)), /data_offsets \[4, 0\] out of range/);
  await bad(file({ t: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /data_offsets must be \[begin, end\] of non-negative integers/);
  await bad(file({ t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, new Uint8Array(4)), /data_offsets must be \[begin, end\]/);
});

test('malformed: overlapping offsets', async () => {
  await bad(file({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)), /tensor 'b': data_offsets \[4, 12\] overlap tensor 'a'/);
  await bad(file({ a: f32([2], 0, 8), b: f32([2], 0, 8) }, new Uint8Array(8)), /overlap tensor/);
});

test('malformed: offsets that do not cover the buffer contiguously', async () => {
  await bad(file({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)), /tensor 'b': data_offsets \[8, 12\] leave a gap: bytes 4\.\.8 belong to no tensor/);
  await bad(file({ a: f32([1], 4, 8) }, new Uint8Array(8)), /tensor 'a'.*leave a gap: bytes 0\.\.4/);
  await bad(file({ a: f32([1], 0, 4) }, new Uint8Array(8)), /data buffer has 4 trailing bytes \(4\.\.8\) that belong to no tensor/);
});

test('malformed: byte length differs from numel × dtype size', async () => {
  await bad(file({ t: f32([3], 0, 8) }, new Uint8Array(8)), /tensor 't': F32 shape \[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/);
  await bad(file({ t: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 4] } }, new Uint8Array(4)), /F16 shape \[2,2\] needs 8 bytes/);
});

test('malformed: duplicate tensor names', async () => {
  const a = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  await bad(file(`{"w":${a}, "w" :${a}}`, new Uint8Array(4)), /duplicate tensor name 'w' in header/);
  // escapes are decoded before comparing: "w" and "\u0077" are the same name
  await bad(file(`{"w":${a},"\\u0077":${a}}`, new Uint8Array(4)), /duplicate tensor name 'w'/);
});

test('malformed: metadata values must be strings', async () => {
  await bad(file({ __metadata__: { epoch: 3 } }), /__metadata__ value for 'epoch' must be a string, got 3/);
  await bad(file({ __metadata__: ['a'] }), /__metadata__ must be an object of strings/);
  // null metadata (what some writers emit for "none") is accepted
  assert.deepEqual(parseSafetensorsRaw(file({ __metadata__: null })).metadata, {});
});

test('a hostile "__proto__" name becomes an own key, never the prototype', async () => {
  const dict = await parseSafetensors(file('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(new Float32Array([3]).buffer)));
  assert.equal(Object.getPrototypeOf(dict), Object.prototype);
  assert.deepEqual(Object.keys(dict), ['__proto__']);
  await check(dict['__proto__']!, 'float32', [1], [3]);
});

// ---------------------------------------------------------------- saving safely

test('invalid input to save is refused with a clear error', async () => {
  const t = tensor(new Float32Array([1]), { shape: [1] });
  await assert.rejects(serializeSafetensors({ a: t }, { n: 3 as unknown as string }), /metadata value for 'n' must be a string, got number/);
  await assert.rejects(serializeSafetensors({ a: [1, 2] as unknown as Tensor }), /'a' is not a Tensor/);
  await assert.rejects(serializeSafetensors({ __metadata__: t }), /'__metadata__' is reserved/);
});

test('a failed save leaves the existing file intact and no temp file behind', async () => {
  const sub = join(dir, 'save-fail');
  mkdirSync(sub);
  const path = join(sub, 'model.safetensors');
  const good = { a: tensor(new Float32Array([1, 2]), { shape: [2] }) };
  await saveSafetensors(path, good);
  const before = readFileSync(path);

  // refused before writing: bad metadata
  await assert.rejects(saveSafetensors(path, good, { n: 1 as unknown as string }), /must be a string/);
  // failing midway: the second tensor was disposed, so reading it throws after the header is written
  const gone = tensor(new Float32Array([3]), { shape: [1] });
  gone.dispose();
  await assert.rejects(saveSafetensors(path, { a: good.a, b: gone }));

  assert.deepEqual(readFileSync(path), before);
  assert.deepEqual(readdirSync(sub), ['model.safetensors']);
  await check((await loadSafetensors(path)).a!, 'float32', [2], [1, 2]);
});

test('writeFileAtomic replaces whole files and cleans up when the rename fails', async () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const path = join(sub, 'f.txt');
  await writeFileAtomic(path, 'one');
  await writeFileAtomic(path, [new Uint8Array([116, 119]), new Uint8Array([111])]);
  assert.equal(readFileSync(path, 'utf8'), 'two');
  mkdirSync(join(sub, 'd'));
  await assert.rejects(writeFileAtomic(join(sub, 'd'), 'x')); // cannot rename a file over a directory
  assert.deepEqual(readdirSync(sub).sort(), ['d', 'f.txt']);
});
