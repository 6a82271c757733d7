// Tokenizer throughput next to js-tiktoken (GPT-2 encoding, same vocabulary, same text, same
// process), and BPE training time.
//
// Fairness: js-tiktoken keeps no word cache, so tlm's cache is emptied before every timed run
// (cold start), and one row runs tlm with no cache at all. Runs alternate between the two
// libraries and the median is reported, which keeps a busy machine from favouring either.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import type { BenchRow, BenchSection } from '../run.js';
import { BPE, byteLevelTokenizer, fromTiktoken, trainByteLevelBpe, trainWordPiece, type Tokenizer } from '../../src/tokenizers/index.js';

const root = process.cwd();
const read = (...p: string[]): string => readFileSync(join(root, ...p), 'utf8');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Seconds per call of each function, alternating between them, `reps` timed rounds each. */
function timeAlternating(fns: (() => unknown)[], reps: number): number[] {
  for (const f of fns) f(); // warm-up (JIT)
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    fns.forEach((f, i) => {
      const t0 = performance.now();
      f();
      times[i]!.push((performance.now() - t0) / 1000);
    });
  }
  return times.map(median);
}

const mb = (text: string): number => Buffer.byteLength(text, 'utf8') / 1e6;

/**
 * The mixed multilingual text: the multilingual fixture (CJK, Japanese, Arabic, emoji, marks,
 * whitespace runs, CRLF), the Chinese probe of the gpt2-tiny fixture when present, and German
 * and English sentences from Multi30k, repeated to about 1 MB.
 */
function multilingualText(): string {
  const parts = [read('test', 'fixtures', 'tokenizers', 'multilingual.txt')];
  try {
    const expected = JSON.parse(read('test', 'fixtures', 'hf', 'gpt2-tiny', 'expected.json')) as { texts: string[] };
    parts.push(expected.texts[2]!);
  } catch { /* fixture not present */ }
  for (const f of ['val.de', 'val.en']) {
    try { parts.push(read('..', 'shared', 'data', 'multi30k', f).slice(0, 20000)); } catch { /* data not present */ }
  }
  const unit = parts.join('\n');
  return unit.repeat(Math.max(1, Math.round(1e6 / Buffer.byteLength(unit))));
}

async function run({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const reps = quick ? 3 : 9;
  const shakespeare = read('data', 'tinyshakespeare.txt');
  const mixed = multilingualText();
  const tlm = fromTiktoken(gpt2Ranks);
  const model = tlm.model as BPE;
  const uncached = byteLevelTokenizer(new BPE(model.vocab, model.merges, { cacheCapacity: 0 }));
  const tiktoken = new Tiktoken(gpt2Ranks);

  // Same ids, or the comparison means nothing.
  for (const text of [shakespeare, mixed]) {
    const a = tlm.encodeIds(text);
    const b = tiktoken.encode(text);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error('bench tokenizers: tlm and js-tiktoken disagree on the ids');
  }

  const rows: BenchRow[] = [];
  const encodeRow = (name: string, text: string, encode: (t: Tokenizer) => unknown, tok: Tokenizer, note: string): void => {
    const [tTlm, tPeer] = timeAlternating([() => { tok.clearCache(); encode(tok); }, () => tiktoken.encode(text)], reps);
    rows.push({ section: 'tokenizers', name, value: mb(text) / tTlm!, unit: 'MB/s', peers: { 'js-tiktoken': mb(text) / tPeer! }, higherIsBetter: true, note });
  };
  encodeRow('GPT-2 encode ids, Tiny Shakespeare (1.1 MB)', shakespeare, (t) => t.encodeIds(shakespeare), tlm, 'cold word cache per run');
  encodeRow(`GPT-2 encode ids, mixed multilingual (${mb(mixed).toFixed(1)} MB)`, mixed, (t) => t.encodeIds(mixed), tlm, 'cold word cache per run');
  encodeRow('GPT-2 encode ids, mixed multilingual, no word cache', mixed, (t) => t.encodeIds(mixed), uncached, 'every word merged from scratch');
  encodeRow('GPT-2 encode with tokens + offsets, Tiny Shakespeare', shakespeare, (t) => t.encode(shakespeare), tlm, 'full Encoding vs ids only');

  // WordPiece (BERT uncased pipeline) has no peer installed; its figure is for the record.
  const wp = trainWordPiece([shakespeare], { vocabSize: 8000 });
  const [tWp] = timeAlternating([() => { wp.clearCache(); wp.encodeIds(shakespeare); }], reps);
  rows.push({ section: 'tokenizers', name: 'BERT WordPiece encode ids, Tiny Shakespeare', value: mb(shakespeare) / tWp!, unit: 'MB/s', peers: {}, higherIsBetter: true });

  // Training: 8k-vocab byte-level BPE on Tiny Shakespeare, single thread (required: ≤ 5 s).
  const [tTrain] = timeAlternating([() => trainByteLevelBpe([shakespeare], { vocabSize: 8000 })], quick ? 1 : 3);
  rows.push({ section: 'tokenizers', name: 'train byte-level BPE, vocab 8000, Tiny Shakespeare', value: tTrain!, unit: 's', peers: {}, higherIsBetter: false, note: 'one thread; required ≤ 5 s' });
  return rows;
}

const section: BenchSection = { name: 'tokenizers', run };
export default section;
