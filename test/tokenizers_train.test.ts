// Trainers (BPE, WordPiece, characters), what they save, and the `tlm tokenizer` command.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpeTrainer, CharTrainer, Tokenizer, trainByteLevelBpe, trainCharLevel, trainWordPiece, type TrainProgress,
} from '../src/tokenizers/index.js';
import { main } from '../src/cli/main.js';

const SHAKESPEARE = readFileSync(join(process.cwd(), 'data', 'tinyshakespeare.txt'), 'utf8');
const MULTILINGUAL = readFileSync(join(process.cwd(), 'test', 'fixtures', 'tokenizers', 'multilingual.txt'), 'utf8');

test('BPE trainer: merges by count, ties to the smaller pair, counts updated incrementally', () => {
  // Sennrich et al.'s example. Worked by hand: e+s and s+t both occur 9 times, (e, s) has the
  // smaller ids and goes first; after each merge only the neighbouring pairs change count.
  const words = new Map([['low', 5], ['lower', 2], ['newest', 6], ['widest', 3]]);
  const all = new BpeTrainer({ vocabSize: 22 }).trainMerges(words);
  assert.deepEqual(all.vocab.slice(0, 10), ['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w'], 'alphabet in code point order');
  assert.deepEqual(all.merges.map(([a, b]) => a + b), ['es', 'est', 'lo', 'low', 'ew', 'new', 'newest', 'dest', 'idest', 'widest', 'er', 'lower']);
  assert.deepEqual(all.merges.slice(0, 3), [['e', 's'], ['es', 't'], ['l', 'o']]);
  // minFrequency stops at the first pair seen fewer times (e+r, twice).
  const frequent = new BpeTrainer({ vocabSize: 22, minFrequency: 3 }).trainMerges(words);
  assert.deepEqual(frequent.merges.map(([a, b]) => a + b), all.merges.slice(0, 10).map(([a, b]) => a + b));
  // The trained model applies the merges by rank.
  const tok = new Tokenizer(new BpeTrainer({ vocabSize: 22 }).train(words).model);
  assert.deepEqual(tok.encode('lowest').tokens, ['low', 'est']);
  // maxTokenLength keeps merged tokens short; special tokens come first; the continuation prefix
  // marks non-initial symbols.
  const short = new BpeTrainer({ vocabSize: 40, maxTokenLength: 2, specialTokens: ['<pad>'] }).trainMerges(words);
  assert.equal(short.vocab[0], '<pad>');
  assert.ok(short.vocab.every((t) => t === '<pad>' || Array.from(t).length <= 2), short.vocab.join(' '));
  const prefixed = new BpeTrainer({ vocabSize: 24, continuingSubwordPrefix: '##' }).trainMerges(words);
  assert.deepEqual(prefixed.merges[0], ['##e', '##s']);
  assert.ok(prefixed.vocab.includes('##est'));
});

test('BPE training is deterministic and does not depend on the order of the input', () => {
  const lines = SHAKESPEARE.split('\n').slice(0, 4000).map((l) => l + '\n');
  const a = trainByteLevelBpe(lines, { vocabSize: 600 }).toString();
  const b = trainByteLevelBpe([...lines].reverse(), { vocabSize: 600 }).toString();
  assert.equal(a, b);
});

test('8k-vocab byte-level BPE on Tiny Shakespeare: trained, saved, reloaded with the same ids', async () => {
  const seen: TrainProgress[] = [];
  const t0 = performance.now();
  const tok = trainByteLevelBpe([SHAKESPEARE], { vocabSize: 8000, onProgress: (p) => seen.push(p) });
  console.log(`# trained 8000-token byte-level BPE on Tiny Shakespeare in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  assert.equal(tok.vocabSize, 8000);
  assert.equal(seen[seen.length - 1]!.stage, 'done');
  const ids = tok.encodeIds(SHAKESPEARE);
  assert.ok(ids.length < SHAKESPEARE.length / 3.5, `compresses Shakespeare (${ids.length} tokens)`);
  assert.equal(tok.decode(ids), SHAKESPEARE);
  const path = join(mkdtempSync(join(tmpdir(), 'tlm-train-')), 'tokenizer.json');
  await tok.save(path);
  const again = await Tokenizer.fromFile(path);
  assert.deepEqual(again.encodeIds(SHAKESPEARE), ids);
  assert.deepEqual(again.encodeIds(MULTILINGUAL), tok.encodeIds(MULTILINGUAL));
  assert.equal(again.decode(again.encodeIds(MULTILINGUAL)), MULTILINGUAL, 'bytes never seen in training still round-trip');
});

test('WordPiece training: BERT specials first, ## continuations, reload gives the same ids', async () => {
  const tok = trainWordPiece([SHAKESPEARE], { vocabSize: 3000 });
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => tok.idToToken(id)), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(tok.vocabSize <= 3000 && tok.vocabSize > 2900, String(tok.vocabSize));
  const enc = tok.encode('First Citizen: we are accounted poor citizens', { pair: 'Speak, speak.' });
  assert.deepEqual(enc.tokens.slice(0, 4), ['[CLS]', 'first', 'citizen', ':']);
  assert.ok(enc.tokens.some((t) => t.startsWith('##')), enc.tokens.join(' '));
  assert.ok(!enc.tokens.includes('[UNK]'));
  // HF's WordPiece cleanup rejoins . , ! ? and contractions, not colons.
  assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), 'first citizen : we are accounted poor citizens speak, speak.');
  const again = Tokenizer.fromString(tok.toString());
  assert.deepEqual(again.encode(MULTILINGUAL).ids, tok.encode(MULTILINGUAL).ids);
});

test('character vocabularies: most frequent characters, [UNK] for the rest, decode concatenates', () => {
  const tok = trainCharLevel([SHAKESPEARE]);
  assert.equal(tok.vocabSize, 66, '65 distinct characters and [UNK]');
  const text = 'To be, or not to be: that is the question.\n';
  assert.equal(tok.decode(tok.encodeIds(text)), text);
  assert.deepEqual(tok.encode('a✓b').tokens, ['a', '[UNK]', 'b']);
  const small = new Tokenizer(new CharTrainer({ vocabSize: 3 }).train(new Map([['aaab', 1], ['cc', 2]])).model);
  assert.deepEqual(small.encode('abcd').tokens, ['a', '[UNK]', 'c', '[UNK]'], "kept: 'a' (3) and 'c' (4)");
  const again = Tokenizer.fromString(tok.toString());
  assert.deepEqual(again.encodeIds(SHAKESPEARE.slice(0, 5000)), tok.encodeIds(SHAKESPEARE.slice(0, 5000)));
});

/** Runs `tlm …` in-process, capturing stdout and stderr. */
async function tlm(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  console.error = (...a: unknown[]) => { err += a.join(' ') + '\n'; };
  process.stderr.write = ((chunk: string) => { err += chunk; return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

test('tlm tokenizer train / encode / decode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-cli-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, SHAKESPEARE.slice(0, 200_000));
  const out = join(dir, 'tokenizer.json');
  const trained = await tlm('tokenizer', 'train', '--type', 'bpe', '--vocab-size', '500', '--out', out, corpus);
  assert.equal(trained.code, 0, trained.err);
  assert.match(trained.out, /wrote .*tokenizer.json: bpe, 500 tokens/);
  assert.match(trained.err, /tokenizer: done/);
  const tok = await Tokenizer.fromFile(out);

  const enc = await tlm('tokenizer', 'encode', '--tokenizer', out, '--json', 'Before we proceed');
  assert.equal(enc.code, 0, enc.err);
  const parsed = JSON.parse(enc.out) as { ids: number[]; tokens: string[] };
  assert.deepEqual(parsed.ids, tok.encode('Before we proceed').ids);

  const dec = await tlm('tokenizer', 'decode', '--tokenizer', out, parsed.ids.join(','));
  assert.equal(dec.out, 'Before we proceed\n');

  const wp = await tlm('tokenizer', 'train', '--type', 'wordpiece', '--vocab-size', '400', '--out', join(dir, 'wp.json'), corpus);
  assert.equal(wp.code, 0, wp.err);
  const pair = await tlm('tokenizer', 'encode', '--tokenizer', join(dir, 'wp.json'), '--pair', 'b', 'a');
  assert.match(pair.out, /typeIds  \[0,0,0,1,1\]/);

  // Bad input: one clear line and exit code 2.
  const cases: [string[], RegExp][] = [
    [['tokenizer'], /expected a subcommand \(train, encode or decode\)/],
    [['tokenizer', 'train', '--type', 'bpe', '--out', out, corpus], /--vocab-size is required for --type bpe/],
    [['tokenizer', 'train', '--type', 'bpe', '--vocab-size', '100', '--out', out, corpus], /--vocab-size 100 is smaller than the byte alphabet plus special tokens \(257\)/],
    [['tokenizer', 'train', '--type', 'bpe', '--vocab-size', '300', join(dir, 'missing.txt')], /cannot read .*missing.txt \(ENOENT\)/],
    [['tokenizer', 'train', '--type', 'sentencepiece', '--vocab-size', '300', corpus], /--type must be one of bpe, wordpiece, char/],
    [['tokenizer', 'encode', 'hi'], /--tokenizer PATH is required/],
    [['tokenizer', 'decode', '--tokenizer', out, '1', 'x'], /'x' is not a token id/],
    [['tokenizer', 'decode', '--tokenizer', out, '500'], /id 500 \(position 0\) is not in the vocabulary \(size 500\)/],
  ];
  for (const [argv, message] of cases) {
    const r = await tlm(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
});
