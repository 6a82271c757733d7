// The Unigram model and trainer against HF tokenizers' own test cases (inputs and expected
// outputs copied from the files named in each test), plus the t5-tiny tokenizer.json fixture.

import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tokenizer, TokenizerConfigError, Unigram, UnigramTrainer, sentencePieceUnigramTokenizer, trainSentencePieceUnigram } from '../src/tokenizers/index.js';
import { seedPieces } from '../src/tokenizers/trainers/unigram-seeds.js';
import { digamma } from '../src/tokenizers/trainers/unigram-trainer.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'tokenizers');

/** A pipeline with nothing but the model: the whole input is one word. */
const bare = (pieces: [string, number][], unkId: number | null = 0, byteFallback = false): Tokenizer => new Tokenizer(new Unigram(pieces, unkId, byteFallback));

test('Unigram Viterbi: HF models/unigram/model.rs test_encode, test_encode2 and the encode() doc example', () => {
  // model.rs doc comment on Unigram::encode
  const doc = bare([['<unk>', 0], ['a', 0], ['b', 0], ['c', 0], ['d', 0], ['cd', 1], ['ab', 2], ['abc', 5], ['abcd', 10]]);
  assert.deepEqual(doc.encode('abcdacdxx').tokens, ['abcd', 'a', 'cd', 'xx']);
  assert.deepEqual(doc.encode('abcd').tokens, ['abcd']); // test_encode
  // test_encode2 (fuse_unk true, as every tokenizer.json Unigram is)
  const tok = bare([['<unk>', 0], ['ab', 0], ['cd', -0.1], ['abc', -0.2], ['a', -0.3], ['b', -0.4], ['c', -0.5], ['ABC', -0.5],
    ['abcdabcd', 20], ['q', 20.5], ['r', 20.5], ['qr', -0.5]]);
  const cases: [string, string[]][] = [
    ['abc', ['abc']], ['AB', ['AB']], ['abcd', ['ab', 'cd']], ['abcc', ['abc', 'c']],
    ['xabcabaabcdd', ['x', 'abc', 'ab', 'a', 'ab', 'cd', 'd']], ['xyz東京', ['xyz東京']], ['ABC', ['ABC']],
    ['abABCcd', ['ab', 'ABC', 'cd']], ['ababcdabcdcd', ['ab', 'abcdabcd', 'cd']], ['abqrcd', ['ab', 'q', 'r', 'cd']],
  ];
  for (const [text, pieces] of cases) {
    const enc = tok.encode(text);
    assert.deepEqual(enc.tokens, pieces, text);
    // An unknown run is one token: the unk id, named by its text (HF's Token value), covering it.
    enc.tokens.forEach((t, i) => {
      assert.equal(enc.ids[i], tok.tokenToId(t) ?? 0, `${text}: id of ${t}`);
      assert.equal(text.slice(...enc.offsets[i]!), t, `${text}: offsets of ${t}`);
    });
  }
});

test('Unigram byte fallback: HF model.rs test_unigram_bytefallback', () => {
  const tok = bare([['<unk>', 0], ['<0xC3>', -0.01], ['<0xA9>', -0.03]], 0, true);
  const enc = tok.encode('é');
  assert.deepEqual(enc.ids, [1, 2]);
  assert.deepEqual(enc.tokens, ['<0xC3>', '<0xA9>']);
  assert.deepEqual(enc.offsets, [[0, 1], [0, 1]], 'each byte spans the character (HF: bytes 0..2)');
  // '?' has no byte token, so the fused run "?é" falls back to the unknown id as a whole
  assert.equal(tok.encode('?é').ids[0], 0);
  assert.deepEqual(tok.encode('?é').ids, [0]);
});

test('Unigram without unk_id: unknown text is an error, as HF (test_sentencepiece.py)', () => {
  const tok = bare([['a', -1]], null);
  assert.deepEqual(tok.encode('aa').tokens, ['a', 'a']);
  assert.throws(() => tok.encode('ab'), /Unigram: encountered an unknown token \("b"\) but unk_id is missing/);
});

test('UnigramTrainer seeds: HF unigram/trainer.rs test_unigram_chars (strings and scores)', () => {
  const seeds = seedPieces([['This is a', 1], ['こんにちは友達', 1]], 16, 1_000_000);
  assert.deepEqual(seeds.map(([p]) => p), ['s', 'i', ' ', '達', '友', 'ん', 'は', 'に', 'ち', 'こ', 'h', 'a', 'T', 'is ', 's ']);
  const expected = [-2.5649493574615367, -2.5649493574615367, -2.5649493574615367, ...new Array<number>(10).fill(-3.258096538021482), -1.4663370687934272, -1.8718021769015916];
  seeds.forEach(([, s], i) => assert.ok(Math.abs(s - expected[i]!) < 0.01, `score ${i}: ${s} vs ${expected[i]}`));
});

test('UnigramTrainer special tokens and unk placement: HF trainer.rs test_unk_token, test_special_tokens', () => {
  const words = new Map([['The', 12], ['are', 11]]);
  const first = (opts: ConstructorParameters<typeof UnigramTrainer>[0]): [string, number][] => new UnigramTrainer(opts).trainModel(words).pieces.slice(0, 3);
  // 1. the unk token, not a special token, goes first
  assert.deepEqual(first({ specialTokens: ['[SEP]', '[CLS]'], unkToken: '[UNK]' }), [['[UNK]', 0], ['[SEP]', 0], ['[CLS]', 0]]);
  assert.equal(new UnigramTrainer({ specialTokens: ['[SEP]', '[CLS]'], unkToken: '[UNK]' }).trainModel(words).unkId, 0);
  // 2. a special unk token stays where it is
  const m = new UnigramTrainer({ specialTokens: ['[SEP]', '[CLS]', '[UNK]'], unkToken: '[UNK]' }).trainModel(words);
  assert.deepEqual(m.pieces.slice(0, 3), [['[SEP]', 0], ['[CLS]', 0], ['[UNK]', 0]]);
  assert.equal(m.unkId, 2);
  // 3. no unk token: the most likely piece comes first
  assert.equal(new UnigramTrainer().trainModel(words).pieces[0]![0], 'e');
  assert.deepEqual(first({ specialTokens: ['[SEP]', '[CLS]'] }).slice(0, 2), [['[SEP]', 0], ['[CLS]', 0]]);
});

test('UnigramTrainer end to end: HF bindings/python/tests/implementations/test_sentencepiece.py', () => {
  const text = ['A first sentence', 'Another sentence', 'And a last one'];
  const tok = trainSentencePieceUnigram(text, { vocabSize: 8000 });
  assert.deepEqual(tok.encode('A sentence').tokens, ['▁A', '▁', 's', 'en', 't', 'en', 'c', 'e']);
  assert.throws(() => tok.encode('A sentence 🤗'), /unk_id is missing/);
  const withUnk = trainSentencePieceUnigram(text, { vocabSize: 100, specialTokens: ['<unk>'], unkToken: '<unk>' });
  const enc = withUnk.encode('A sentence 🤗');
  assert.equal(enc.ids[enc.ids.length - 1], 0);
  assert.deepEqual(enc.tokens, ['▁A', '▁', 's', 'en', 't', 'en', 'c', 'e', '▁', '🤗']);
  assert.equal(withUnk.decode(withUnk.encode('A sentence').ids), 'A sentence', 'Metaspace decoding drops the prepended space');
});

test('UnigramTrainer on the Zen of Python: HF bindings/python/tests/bindings/test_trainers.py test_train_with_special_tokens', () => {
  const file = `
[CLS] The Zen of Python, by Tim Peters [SEP]
[CLS] Beautiful is better than ugly. [SEP]
[CLS] Explicit is better than implicit. [SEP]
[CLS] Simple is better than complex. [SEP]
[CLS] Complex is better than complicated. [SEP]
[CLS] Flat is better than nested. [SEP]
[CLS] Sparse is better than dense. [SEP]
[CLS] Readability counts. [SEP]
[CLS] Special cases aren't special enough to break the rules. [SEP]
[CLS] Although practicality beats purity. [SEP]
[CLS] Errors should never pass silently. [SEP]
[CLS] Unless explicitly silenced. [SEP]
[CLS] In the face of ambiguity, refuse the temptation to guess. [SEP]
[CLS] There should be one-- and preferably only one --obvious way to do it. [SEP]
[CLS] Although that way may not be obvious at first unless you're Dutch. [SEP]
[CLS] Now is better than never. [SEP]
[CLS] Although never is often better than *right* now. [SEP]
[CLS] If the implementation is hard to explain, it's a bad idea. [SEP]
[CLS] If the implementation is easy to explain, it may be a good idea. [SEP]
[CLS] Namespaces are one honking great idea -- let's do more of those! [SEP]
            `;
  // HF trains on files line by line, each line keeping its '\n'.
  const lines = file.match(/[^\n]*\n|[^\n]+$/g)!;
  const train = (opts: ConstructorParameters<typeof UnigramTrainer>[0]): Tokenizer => bare([['<unk>', 0]]).train(lines, new UnigramTrainer(opts));
  const tok = train({ specialTokens: ['[PAD]', '[SEP]', '[CLS]'], unkToken: '[UNK]' });
  assert.deepEqual(tok.encode('[CLS] This is a test [SEP]').tokens, ['[CLS]', ' T', 'h', 'i', 's', ' is ', 'a', ' ', 'te', 's', 't ', '[SEP]']);
  assert.equal(train({ specialTokens: ['[PAD]', '[SEP]', '[CLS]'], unkToken: '[UNK]', vocabSize: 100 }).vocabSize, 100);
  assert.equal(train({ specialTokens: ['[PAD]', '[SEP]', '[CLS]', '[UNK]'], unkToken: '[UNK]', vocabSize: 100 }).vocabSize, 100);
  assert.throws(() => train({ vocabSize: 10 }), /UnigramTrainer: vocabSize 10 cannot hold the \d+ characters/);
});

test('digamma (HF\'s series) is within 1e-9 of known values: ψ(1) = -γ, ψ(0.5) = -γ - 2 ln 2', () => {
  const gamma = 0.5772156649015329;
  assert.ok(Math.abs(digamma(1) + gamma) < 1e-9);
  assert.ok(Math.abs(digamma(0.5) + gamma + 2 * Math.LN2) < 1e-9);
});

test('t5-tiny fixture: NFKC + Lowercase + Metaspace + Unigram with byte fallback, decode round trip', async () => {
  const tok = await Tokenizer.fromFile(join(FIXTURES, 't5-tiny', 'tokenizer.json'));
  // Pieces by hand from the fixture's scores: "▁the" (-3) beats "▁"+"t"+"h"+"e"; "▁cat" + "s" beats
  // "▁c" + "at" + "s"; "€" has no piece, its three UTF-8 bytes do (byte fallback).
  const enc = tok.encode('The  CATS sat €.');
  assert.deepEqual(enc.tokens, ['▁the', '▁cat', 's', '▁sat', '▁', '<0xE2>', '<0x82>', '<0xAC>', '.', '</s>']);
  assert.deepEqual(enc.ids.slice(0, 4), ['▁the', '▁cat', 's', '▁sat'].map((t) => tok.tokenToId(t)));
  assert.deepEqual(enc.offsets.slice(0, 4), [[0, 3], [3, 8], [8, 9], [9, 13]], 'collapsed spaces map back into the input');
  assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), 'the cats sat €.');
  // ＣＡＴ (fullwidth) is NFKC-folded to "cat" before the model sees it.
  assert.deepEqual(tok.encode('ＣＡＴ', { addSpecialTokens: false }).tokens, ['▁cat']);
  // HF's decoder-serialization case: ByteFallback then Metaspace turns the bytes back into '€'.
  // Written back and read again, the tokenizer encodes the same way.
  const again = Tokenizer.fromString(tok.toString());
  assert.deepEqual(again.encode('The  CATS sat €.').ids, enc.ids);
  assert.deepEqual(again.toJSON().model, tok.toJSON().model);
});

test('trained Unigram tokenizer survives a tokenizer.json round trip', () => {
  const tok = sentencePieceUnigramTokenizer(new Unigram([['<unk>', 0]], 0));
  tok.train(['low lower lowest', 'new newer newest', 'wide wider widest'], new UnigramTrainer({ vocabSize: 40, specialTokens: ['<unk>'], unkToken: '<unk>' }));
  const again = Tokenizer.fromString(tok.toString());
  for (const text of ['lower newest', 'widest low', 'zzz']) {
    assert.deepEqual(again.encode(text).ids, tok.encode(text).ids, text);
    if (text !== 'zzz') assert.equal(again.decode(again.encode(text).ids), text);
  }
});

test('malformed Unigram models: one-line errors naming the field', () => {
  const load = (model: unknown): Tokenizer => Tokenizer.fromJSON({ model });
  assert.throws(() => load({ type: 'Unigram', vocab: [['a', 'x']] }), /model.vocab\[0\]: expected \["piece", score\]/);
  assert.throws(() => load({ type: 'Unigram', vocab: [['a', -1]], unk_id: 3 }), /model.unk_id: 3 is not an id of the vocabulary \(size 1\)/);
  assert.throws(() => load({ type: 'Unigram', unk_id: 0 }), /model.vocab: missing/);
  assert.throws(() => load({ type: 'Unigram', vocab: [], unk_id: 0 }), /model.vocab: the vocabulary is empty/);
  assert.throws(() => load({ type: 'Unigram', vocab: [['a', -1]], unk_id: 'x' }), (e: unknown) => e instanceof TokenizerConfigError && /model.unk_id: expected an integer/.test((e as Error).message));
  // An old file without "type" is recognised by its list vocabulary.
  assert.deepEqual(load({ vocab: [['<unk>', 0], ['ab', -1]], unk_id: 0 }).encode('ab').tokens, ['ab']);
});
