// Overflowing windows (HF `return_overflowing_tokens` with `stride`): every window identical to
// HF tokenizers' (test/fixtures/qa/overflow_hf.json, made by scripts/gen_overflow_fixtures.cjs),
// windows that cover the whole truncated sequence and overlap by exactly `stride` tokens, and
// clear errors for strides that do not fit.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Encoding, Tokenizer, postProcessors, type TruncationOptions } from '../src/tokenizers/index.js';

const QA = join(process.cwd(), 'test', 'fixtures', 'qa');

interface Window {
  ids: number[]; tokens: string[]; typeIds: number[]; attentionMask: number[]; specialTokensMask: number[];
  offsets: [number, number][]; wordIds: (number | null)[]; sequenceIds: (number | null)[];
}
interface HfCase {
  name: string; tokenizer: string; postProcessor?: unknown; text: string; pair: string | null;
  truncation: Required<TruncationOptions>; padding?: { length: number }; windows: Window[];
}

const fixture = JSON.parse(readFileSync(join(QA, 'overflow_hf.json'), 'utf8')) as { cases: HfCase[] };
const tokenizerJson = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(QA, name, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;

function tokenizerFor(c: HfCase): Tokenizer {
  const tok = Tokenizer.fromJSON(tokenizerJson(c.tokenizer));
  if (c.postProcessor !== undefined) tok.postProcessor = postProcessors.postProcessorFromJSON(c.postProcessor);
  return tok;
}

const windowsOf = (enc: Encoding): Encoding[] => [enc, ...enc.overflowing];

function assertSameWindow(got: Encoding, want: Window, where: string): void {
  for (const key of ['ids', 'tokens', 'typeIds', 'attentionMask', 'specialTokensMask', 'offsets', 'wordIds', 'sequenceIds'] as const) {
    assert.deepEqual(got[key], want[key], `${where}: ${key}`);
  }
}

for (const c of fixture.cases) {
  test(`overflow windows identical to HF tokenizers: ${c.name}`, () => {
    const tok = tokenizerFor(c);
    const enc = tok.encode(c.text, {
      ...(c.pair === null ? {} : { pair: c.pair }), truncation: c.truncation,
      padding: c.padding === undefined ? false : { strategy: 'max_length', length: c.padding.length },
    });
    const windows = windowsOf(enc);
    assert.equal(windows.length, c.windows.length, 'window count');
    windows.forEach((w, i) => assertSameWindow(w, c.windows[i]!, `window ${i}`));
    for (const w of enc.overflowing) assert.equal(w.overflowing.length, 0, 'a window has no windows of its own');
  });
}

test('truncation with a stride read from tokenizer.json gives the same windows, and is written back', () => {
  const c = fixture.cases.find((x) => x.name === 'bert only_second, stride 8')!;
  const json = tokenizerJson(c.tokenizer);
  json.truncation = { direction: 'Right', max_length: c.truncation.maxLength, strategy: 'OnlySecond', stride: c.truncation.stride };
  const tok = Tokenizer.fromJSON(json);
  const windows = windowsOf(tok.encode(c.text, { pair: c.pair! }));
  assert.equal(windows.length, c.windows.length);
  windows.forEach((w, i) => assertSameWindow(w, c.windows[i]!, `window ${i}`));
  assert.deepEqual(tok.toJSON().truncation, json.truncation);
  // encodeIds takes the same truncation and returns the first window's ids.
  assert.deepEqual(tok.encodeIds(c.text, { pair: c.pair! }), c.windows[0]!.ids);
});

/** The context tokens of each window, as indices into the untruncated context's tokens. */
function contextIndices(full: Encoding, window: Encoding): number[] {
  // Keyed by offsets and id: byte-level pieces of one character share offsets, never ids too.
  const fullContext = full.offsets.map(([s, e], i) => `${s}:${e}:${full.ids[i]}`).filter((_, i) => full.sequenceIds[i] === 1);
  const out: number[] = [];
  window.offsets.forEach(([s, e], i) => {
    if (window.sequenceIds[i] !== 1) return;
    const at = fullContext.indexOf(`${s}:${e}:${window.ids[i]}`, out.length > 0 ? out[out.length - 1]! + 1 : 0);
    assert.ok(at >= 0, `window token ${i} (${s}, ${e}) is a context token of the untruncated encoding`);
    out.push(at);
  });
  return out;
}

test('windows cover every context token and consecutive windows share exactly `stride` tokens (WordPiece and BPE)', () => {
  const question = 'Who was the leader, and what did he agree to?';
  const context = (fixture.cases[0]!.pair! + ' ' + fixture.cases[2]!.pair!).repeat(2);
  for (const name of ['bert-tiny', 'bpe-tiny']) {
    const tok = Tokenizer.fromJSON(tokenizerJson(name));
    const full = tok.encode(question, { pair: context, truncation: false });
    const nContext = full.sequenceIds.filter((s) => s === 1).length;
    const nQuestion = full.sequenceIds.filter((s) => s === 0).length;
    const added = full.length - nContext - nQuestion;
    for (const [maxLength, stride] of [[48, 0], [48, 12], [64, 31], [40, 1]] as const) {
      const where = `${name} maxLength ${maxLength} stride ${stride}`;
      const windows = windowsOf(tok.encode(question, { pair: context, truncation: { maxLength, stride, strategy: 'only_second' } }));
      const room = maxLength - added - nQuestion;
      assert.equal(windows.length, Math.max(1, Math.ceil((nContext - stride) / (room - stride))), `${where}: window count`);
      const covered = new Set<number>();
      let previous: number[] | null = null;
      for (const [k, w] of windows.entries()) {
        assert.ok(w.length <= maxLength, `${where}: window ${k} fits`);
        // The question is whole in every window; the context tokens are a contiguous run.
        assert.deepEqual(w.ids.filter((_, i) => w.sequenceIds[i] === 0), full.ids.filter((_, i) => full.sequenceIds[i] === 0), `${where}: window ${k} question`);
        const ctx = contextIndices(full, w);
        ctx.forEach((t, i) => { if (i > 0) assert.equal(t, ctx[i - 1]! + 1, `${where}: window ${k} context is contiguous`); });
        if (previous !== null) assert.deepEqual(ctx.slice(0, stride), previous.slice(previous.length - stride), `${where}: window ${k} overlaps the one before by ${stride}`);
        if (previous !== null) assert.equal(ctx[0], previous[previous.length - stride] ?? previous[previous.length - 1]! + 1, `${where}: window ${k} starts where the overlap starts`);
        for (const t of ctx) covered.add(t);
        previous = ctx;
      }
      assert.equal(covered.size, nContext, `${where}: every context token is in some window`);
      // Every character of the context that some token covers is inside a window's offsets.
      const fullChars = new Set<number>();
      full.offsets.forEach(([s, e], i) => { if (full.sequenceIds[i] === 1) for (let c = s; c < e; c++) fullChars.add(c); });
      const windowChars = new Set<number>();
      for (const w of windows) w.offsets.forEach(([s, e], i) => { if (w.sequenceIds[i] === 1) for (let c = s; c < e; c++) windowChars.add(c); });
      assert.deepEqual([...windowChars].sort((a, b) => a - b), [...fullChars].sort((a, b) => a - b), `${where}: context characters covered`);
    }
  }
});

test('padding to a batch\'s longest pads the overflowing windows too (fixed length: the HF case above)', () => {
  const tok = Tokenizer.fromJSON(tokenizerJson('bert-tiny'));
  const context = fixture.cases[2]!.pair!;
  const [a, b] = tok.encodeBatch([['Who?', context], ['Who?', 'Speak.']], {
    truncation: { maxLength: 16, stride: 4, strategy: 'only_second' }, padding: { strategy: 'longest' },
  });
  assert.ok(a!.overflowing.length >= 1);
  for (const w of [...windowsOf(a!), b!]) assert.equal(w.length, 16);
  const last = a!.overflowing[a!.overflowing.length - 1]!;
  assert.equal(last.attentionMask.at(-1), 0, 'the last, shorter window is padded');
  assert.equal(last.sequenceIds.at(-1), null);
  assert.deepEqual(last.offsets.at(-1), [0, 0]);
});

test('a stride that does not fit the window, or is not a non-negative integer, is refused with a clear error', () => {
  const tok = Tokenizer.fromJSON(tokenizerJson('bert-tiny'));
  const context = fixture.cases[2]!.pair!;
  // 'who ?' is 2 tokens and [CLS] [SEP] [SEP] 3: a 12-token window holds 7 context tokens.
  assert.throws(() => tok.encode('Who?', { pair: context, truncation: { maxLength: 12, stride: 7, strategy: 'only_second' } }),
    /^RangeError: truncation: stride 7 must be smaller than the 7 tokens of the second sequence that fit in a window \(max_length 12, 3 special tokens, 2 tokens of the other sequence\)$/);
  assert.doesNotThrow(() => tok.encode('Who?', { pair: context, truncation: { maxLength: 12, stride: 6, strategy: 'only_second' } }));
  // Nothing is cut: the stride does not matter (as HF).
  assert.doesNotThrow(() => tok.encode('Who?', { pair: 'Speak.', truncation: { maxLength: 12, stride: 50, strategy: 'only_second' } }));
  assert.throws(() => tok.encode('Who?', { pair: context, truncation: { maxLength: 12, stride: -1 } }), /truncation: stride must be a non-negative integer, got -1/);
  assert.throws(() => tok.encode('Who?', { pair: context, truncation: { maxLength: 12, stride: 1.5 } }), /truncation: stride must be a non-negative integer, got 1.5/);
  // The question alone does not leave room for the context.
  assert.throws(() => tok.encode(context, { pair: 'Who?', truncation: { maxLength: 12, stride: 2, strategy: 'only_second' } }),
    /truncation: cannot fit max_length 12 by truncating only the second sequence/);
});

test('Encoding.truncate keeps the dropped tokens as windows (right and left, and max length 0)', () => {
  const make = (n: number): Encoding => {
    const e = new Encoding();
    for (let i = 0; i < n; i++) {
      e.ids.push(i); e.tokens.push(`t${i}`); e.typeIds.push(0); e.attentionMask.push(1); e.offsets.push([i, i + 1]);
      e.specialTokensMask.push(0); e.wordIds.push(i); e.sequenceIds.push(0);
    }
    return e;
  };
  const right = make(10);
  right.truncate(4, 'right', 1);
  assert.deepEqual(windowsOf(right).map((w) => w.ids), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]);
  const left = make(10);
  left.truncate(4, 'left', 2);
  assert.deepEqual(windowsOf(left).map((w) => w.ids), [[6, 7, 8, 9], [4, 5, 6, 7], [2, 3, 4, 5], [0, 1, 2, 3]]);
  // Windows own their offsets: editing one leaves the others alone.
  right.overflowing[0]!.offsets[0]![0] = 99;
  assert.deepEqual(right.offsets[3], [3, 4]);
  const zero = make(3);
  zero.truncate(0);
  assert.equal(zero.length, 0);
  assert.deepEqual(zero.overflowing.map((w) => w.ids), [[0, 1, 2]]);
  assert.throws(() => make(5).truncate(3, 'right', 3), /truncate: stride must be an integer in \[0, 3\) \(smaller than the window\), got 3/);
});
