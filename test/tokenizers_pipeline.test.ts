// The pipeline pieces one by one: normalizers, pre-tokenizers, WordPiece, post-processing,
// truncation, padding, added tokens, decoders, and the errors bad tokenizer.json files give.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  AlignedText, BPE, decoders, normalizers, postProcessors, preTokenizers, Tokenizer, TokenizerConfigError, WordLevel, WordPiece,
  bertTokenizer,
} from '../src/tokenizers/index.js';

const words = (tok: preTokenizers.PreTokenizer, text: string): string[] => tok.split(new AlignedText(text)).map((w) => w.text);

test('BertNormalizer: clean text, space out CJK, strip accents, lowercase — offsets still point at the input', () => {
  const input = 'Héllo\tWORLD\u0000\u200d 你好';
  const n = new normalizers.BertNormalizer().normalize(new AlignedText(input));
  assert.equal(n.text, 'hello world  你  好 ');
  assert.deepEqual(n.span(1, 2), [1, 2], "the 'e' comes from 'é'");
  assert.deepEqual(n.span(6, 11), [6, 11], "'world' comes from 'WORLD'");
  assert.equal(input.slice(...n.span(13, 14)), '你');
  // Cased BERT keeps case and accents; Greek capital sigma lowercases to σ everywhere (as in Rust).
  assert.equal(new normalizers.BertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false })
    .normalize(new AlignedText('Héllo 你')).text, 'Héllo 你');
  assert.equal(new normalizers.Lowercase().normalize(new AlignedText('ΟΔΟΣ')).text, 'οδοσ');
  assert.equal(new normalizers.Lowercase().normalize(new AlignedText('İx')).text, 'i\u0307x');
});

test('unicode normalizers, Strip, Replace, Prepend and Sequence', () => {
  const t = (n: normalizers.Normalizer, s: string): string => n.normalize(new AlignedText(s)).text;
  assert.equal(t(new normalizers.UnicodeNormalizer('NFD'), 'é'), 'e\u0301');
  assert.equal(t(new normalizers.UnicodeNormalizer('NFC'), 'e\u0301'), 'é');
  assert.equal(t(new normalizers.UnicodeNormalizer('NFKC'), 'ﬁ①'), 'fi1');
  assert.equal(t(new normalizers.NormalizerSequence([new normalizers.UnicodeNormalizer('NFD'), new normalizers.StripAccents()]), 'Crème'), 'Creme');
  assert.equal(t(new normalizers.Strip(), ' \t x y \n'), 'x y');
  assert.equal(t(new normalizers.Replace('  ', ' '), 'a    b'), 'a  b');
  assert.equal(t(new normalizers.Prepend('▁'), 'hi'), '▁hi');
  const r = new normalizers.Replace(/\d+/, '#').normalize(new AlignedText('a 123 b'));
  assert.equal(r.text, 'a # b');
  assert.deepEqual(r.span(2, 3), [2, 5], 'the replacement maps to what it replaced');
});

test('pre-tokenizers: BERT, Whitespace, WhitespaceSplit, Punctuation, Digits, Split, Sequence', () => {
  assert.deepEqual(words(new preTokenizers.BertPreTokenizer(), 'Hello,  world! (x) $5'), ['Hello', ',', 'world', '!', '(', 'x', ')', '$', '5']);
  assert.deepEqual(words(new preTokenizers.Whitespace(), "Hey man!! it's 3pm"), ['Hey', 'man', '!!', 'it', "'", 's', '3pm']);
  assert.deepEqual(words(new preTokenizers.WhitespaceSplit(), " a\tb\n c "), ['a', 'b', 'c']);
  assert.deepEqual(words(new preTokenizers.Punctuation(), 'Hey, you...'), ['Hey', ',', ' you', '.', '.', '.']);
  assert.deepEqual(words(new preTokenizers.Digits(true), 'a123b'), ['a', '1', '2', '3', 'b']);
  assert.deepEqual(words(new preTokenizers.Digits(false), 'a123b'), ['a', '123', 'b']);
  assert.deepEqual(words(new preTokenizers.Split('-', 'Removed'), 'a-b--c'), ['a', 'b', 'c']);
  assert.deepEqual(words(new preTokenizers.Split('-', 'MergedWithPrevious'), 'a-b-'), ['a-', 'b-']);
  assert.deepEqual(words(new preTokenizers.Split('-', 'MergedWithNext'), '-a-b'), ['-a', '-b']);
  assert.deepEqual(words(new preTokenizers.Split('-', 'Contiguous'), 'a--b'), ['a', '--', 'b']);
  assert.deepEqual(words(new preTokenizers.Split(/\s+/, 'Removed', false), 'x  y'), ['x', 'y']);
  assert.deepEqual(words(new preTokenizers.PreTokenizerSequence([new preTokenizers.WhitespaceSplit(), new preTokenizers.Digits(true)]), 'ab 12'), ['ab', '1', '2']);
  assert.deepEqual(words(new preTokenizers.ByteLevel(false), 'Hi there\n'), ['Hi', 'Ġthere', 'Ċ']);
});

test('WordPiece: longest match first, ## continuations, [UNK] for unspellable or over-long words', () => {
  const vocab = new Map(['[UNK]', 'un', 'unaff', '##aff', '##able', '##a', 'a', '##b', '😀'].map((t, i) => [t, i]));
  const wp = new WordPiece(vocab, { maxInputCharsPerWord: 8 });
  const tok = (w: string): string[] => {
    const out = { ids: [] as number[], starts: [] as number[], ends: [] as number[] };
    wp.tokenize(w, out);
    return out.ids.map((id) => wp.idToToken(id)!);
  };
  assert.deepEqual(tok('unaffable'), ['[UNK]'], 'longer than 8 characters');
  const wide = new WordPiece(vocab);
  const tokWide = (w: string): string[] => {
    const out = { ids: [] as number[], starts: [] as number[], ends: [] as number[] };
    wide.tokenize(w, out);
    return out.ids.map((id) => wide.idToToken(id)!);
  };
  assert.deepEqual(tokWide('unaffable'), ['unaff', '##able']);
  assert.deepEqual(tokWide('aab'), ['a', '##a', '##b']);
  assert.deepEqual(tokWide('abc'), ['[UNK]'], 'one unspellable piece makes the whole word unknown');
  assert.deepEqual(tokWide('😀'), ['😀']);
  assert.deepEqual(tok('a😀'), ['[UNK]']);
});

test('BERT pipeline: pair encoding, type ids, offsets, decode with and without special tokens', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cafe', 'is', 'open', '?', 'yes', '.', 'it', "'", 's', '##s'];
  const tok = bertTokenizer(new WordPiece(new Map(vocab.map((t, i) => [t, i]))));
  const text = 'The Café is OPEN?';
  const enc = tok.encode(text, { pair: "Yes. It's [MASK]s" });
  // [MASK] is matched in the raw text, so the 's' after it starts a new word.
  assert.deepEqual(enc.tokens, ['[CLS]', 'the', 'cafe', 'is', 'open', '?', '[SEP]', 'yes', '.', 'it', "'", 's', '[MASK]', 's', '[SEP]']);
  assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(enc.sequenceIds, [null, 0, 0, 0, 0, 0, null, 1, 1, 1, 1, 1, 1, 1, null]);
  assert.equal(text.slice(...enc.offsets[2]!), 'Café');
  // HF's WordPiece cleanup works token by token, so " ' " between tokens stays spaced.
  assert.equal(tok.decode(enc.ids), "[CLS] the cafe is open? [SEP] yes. it ' s [MASK] s [SEP]");
  assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), "the cafe is open? yes. it ' s s");
  // Unknown characters never crash: emoji and unseen scripts become [UNK].
  assert.deepEqual(tok.encode('🙂 ж').tokens, ['[CLS]', '[UNK]', '[UNK]', '[SEP]']);
  assert.deepEqual(tok.encode('the', { addSpecialTokens: false }).tokens, ['the']);
});

function letters(): Tokenizer {
  const vocab = new Map(['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...'abcdefghij'].map((t, i) => [t, i]));
  return bertTokenizer(new WordLevel(vocab));
}

test('truncation: longest_first, only_first, only_second, left, with room for special tokens', () => {
  const tok = letters();
  tok.preTokenizer = new preTokenizers.WhitespaceSplit();
  const A = 'a b c d e f';
  const B = 'g h i';
  const toks = (o: Parameters<Tokenizer['encode']>[1]): string => tok.encode(A, o).tokens.join(' ');
  tok.enableTruncation({ maxLength: 9 });
  assert.equal(toks({ pair: B }), '[CLS] a b c [SEP] g h i [SEP]', 'the longer sequence loses tokens first');
  tok.enableTruncation({ maxLength: 7 });
  assert.equal(toks({ pair: B }), '[CLS] a b [SEP] g h [SEP]', 'both shrink: room split evenly');
  tok.enableTruncation({ maxLength: 10, strategy: 'only_second' });
  assert.equal(toks({ pair: B }), '[CLS] a b c d e f [SEP] g [SEP]');
  tok.enableTruncation({ maxLength: 8, strategy: 'only_first' });
  assert.equal(toks({ pair: B }), '[CLS] a b [SEP] g h i [SEP]');
  tok.enableTruncation({ maxLength: 5, direction: 'left' });
  assert.equal(toks({}), '[CLS] d e f [SEP]');
  tok.enableTruncation({ maxLength: 4, strategy: 'only_second' });
  assert.throws(() => tok.encode(A, { pair: B }), /truncation: cannot fit max_length 4 by truncating only the second sequence/);
  assert.equal(toks({ pair: B, truncation: false }), '[CLS] a b c d e f [SEP] g h i [SEP]');
});

test('padding: longest in a batch, fixed length, left side, multiples; attention masks', () => {
  const tok = letters();
  tok.preTokenizer = new preTokenizers.WhitespaceSplit();
  tok.enablePadding({ padToken: '[PAD]' });
  const batch = tok.encodeBatch(['a b c', 'd', ['e', 'f g']]);
  assert.deepEqual(batch.map((e) => e.length), [6, 6, 6]);
  assert.deepEqual(batch[1]!.tokens, ['[CLS]', 'd', '[SEP]', '[PAD]', '[PAD]', '[PAD]']);
  assert.deepEqual(batch[1]!.attentionMask, [1, 1, 1, 0, 0, 0]);
  assert.deepEqual(batch[2]!.typeIds, [0, 0, 0, 1, 1, 1]);
  const left = tok.encode('a', { padding: { strategy: 'max_length', length: 5, direction: 'left' } });
  assert.deepEqual(left.ids, [0, 0, 2, 4, 3]);
  assert.deepEqual(left.attentionMask, [0, 0, 1, 1, 1]);
  assert.deepEqual(left.offsets[0], [0, 0]);
  const multiple = tok.encodeBatch(['a b c d'], { padding: { padToMultipleOf: 4 } });
  assert.equal(multiple[0]!.length, 8);
  assert.deepEqual(tok.encodeIds('a', { padding: { length: 4 } }), [2, 4, 3, 0]);
  // Truncation and padding survive a tokenizer.json round trip.
  tok.enableTruncation({ maxLength: 4, direction: 'left' });
  const again = Tokenizer.fromString(tok.toString());
  assert.deepEqual(again.encode('a b c d e').ids, tok.encode('a b c d e').ids);
  assert.deepEqual(again.toJSON().padding, tok.toJSON().padding);
});

test('added tokens: matched whole, lstrip/rstrip, single_word, normalized ones after normalization', () => {
  const vocab = new Map(['[UNK]', ...'abcdefghijklmnopqrstuvwxyz'].map((t, i) => [t, i]));
  const tok = new Tokenizer(new WordLevel(vocab));
  tok.preTokenizer = new preTokenizers.BertPreTokenizer();
  tok.normalizer = new normalizers.Lowercase();
  assert.equal(tok.addSpecialTokens(['<sep>']), 1);
  assert.equal(tok.addTokens([{ content: 'hello', normalized: true }, { content: 'xyz', singleWord: true }, { content: '<m>', lstrip: true, rstrip: true }]), 3);
  assert.equal(tok.addTokens(['hello']), 0, 'already there');
  assert.equal(tok.vocabSize, 31);
  const enc = tok.encode('a<sep>HELLO xyz axyz b <m> c');
  assert.deepEqual(enc.tokens, ['a', '<sep>', 'hello', 'xyz', '[UNK]', 'b', '<m>', 'c']);
  assert.deepEqual(enc.offsets[6], [22, 27], '<m> took the spaces around it');
  assert.equal(tok.tokenToId('<sep>'), 27);
  assert.equal(tok.idToToken(27), '<sep>');
  assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), 'a hello xyz [UNK] b <m> c');
});

test('decoders: WordPiece cleanup, BPE suffix, Fuse, Strip, Replace, ByteFallback, Sequence', () => {
  assert.equal(new decoders.WordPieceDecoder().decodeChain(['hello', '##s', ',', 'it', "'s", 'fine', '.']).join(''), "hellos, it's fine.");
  assert.equal(new decoders.BPEDecoder().decodeChain(['hel', 'lo</w>', 'world</w>']).join(''), 'hello world');
  assert.equal(new decoders.FuseDecoder().decodeChain(['a', 'b', 'c']).join(''), 'abc');
  assert.equal(new decoders.StripDecoder('_', 1, 0).decodeChain(['__a', '_b']).join(''), '_ab');
  assert.equal(new decoders.DecoderSequence([new decoders.ReplaceDecoder('▁', ' '), new decoders.ByteFallbackDecoder(), new decoders.FuseDecoder()])
    .decodeChain(['▁hi', '<0xE2>', '<0x82>', '<0xAC>', '!', '<0xE2>', '<0xFF>']).join(''), ' hi€!\ufffd\ufffd');
});

test('a BPE with byte fallback, unk and continuing-subword prefix tokenizes by the same merge rules', () => {
  const vocab = new Map(['<unk>', 'h', 'e', 'l', 'o', 'he', 'll', 'hell', 'hello', '<0xC3>', '<0xA9>'].map((t, i) => [t, i]));
  const bpe = new BPE(vocab, [['h', 'e'], ['l', 'l'], ['he', 'll'], ['hell', 'o']], { unkToken: '<unk>', byteFallback: true });
  const tok = new Tokenizer(bpe);
  tok.preTokenizer = new preTokenizers.WhitespaceSplit();
  assert.deepEqual(tok.encode('hello helo é x').tokens, ['hello', 'he', 'l', 'o', '<0xC3>', '<0xA9>', '<unk>']);
  const fused = new Tokenizer(new BPE(vocab, [], { unkToken: '<unk>', fuseUnk: true }));
  assert.deepEqual(fused.encode('hxyzo').tokens, ['h', '<unk>', 'o']);
  assert.deepEqual(fused.encode('hxyzo').offsets, [[0, 1], [1, 4], [4, 5]]);
  const noUnk = new Tokenizer(new BPE(vocab, []));
  assert.deepEqual(noUnk.encode('hxo').tokens, ['h', 'o'], 'like HF, no unk token: the character is dropped');
});

test('bad tokenizer.json: errors name the field', () => {
  const base = { model: { type: 'WordLevel', vocab: { '[UNK]': 0, a: 1 }, unk_token: '[UNK]' } };
  const load = (patch: Record<string, unknown>): Tokenizer => Tokenizer.fromJSON({ ...base, ...patch });
  assert.throws(() => Tokenizer.fromString('{ not json'), /tokenizer.json is not valid JSON/);
  assert.throws(() => load({ normalizer: { type: 'ByteLevel' } }), /normalizer.type: unknown normalizer 'ByteLevel' \(supported: BertNormalizer/);
  assert.throws(() => load({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'UnicodeScripts' }] } }),
    /pre_tokenizer.pretokenizers\[1\].type: unknown pre-tokenizer 'UnicodeScripts'/);
  assert.throws(() => load({ decoder: { type: 'CTC' } }), /decoder.type: unknown decoder 'CTC'/);
  assert.throws(() => load({ post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }], pair: [], special_tokens: {} } }),
    /post_processor.special_tokens: the template uses '\[CLS\]'/);
  assert.throws(() => load({ model: { type: 'WordLevelish', vocab: [] } }), /model.type: unknown model 'WordLevelish' \(supported: BPE, WordPiece, WordLevel, Unigram\)/);
  assert.throws(() => load({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [['a', 'b']] } }), /model.merges\[0\]: the merge of 'a' and 'b' gives 'ab', which is not in the vocabulary/);
  assert.throws(() => load({ model: { type: 'BPE', vocab: { a: 0 }, merges: ['a b c'] } }), /model.merges\[0\]: expected "left right"/);
  assert.throws(() => load({ model: { type: 'BPE', vocab: { a: -1 }, merges: [] } }), /model.vocab\["a"\]: expected a non-negative integer, got number -1/);
  assert.throws(() => load({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], dropout: 0.1 } }), /model.dropout: BPE dropout/);
  assert.throws(() => load({ model: { type: 'WordPiece', vocab: { a: 0 } } }), /model.unk_token: '\[UNK\]' is not in the vocabulary/);
  assert.throws(() => load({ model: { type: 'WordPiece', vocab: ['a'] } }), /model.vocab: expected an object, got an array/);
  assert.throws(() => load({ model: undefined }), /model: expected an object, got nothing/);
  assert.throws(() => load({ added_tokens: [{ id: 'x', content: 'a' }] }), /added_tokens\[0\].id: expected a non-negative integer/);
  assert.throws(() => load({ truncation: { max_length: 5, strategy: 'Sideways' } }), /truncation.strategy: unknown strategy 'Sideways'/);
  assert.throws(() => load({ pre_tokenizer: { type: 'Split', pattern: { Regex: '(?<' }, behavior: 'Isolated' } }), /pre_tokenizer.pattern.Regex: cannot compile/);
  for (const bad of [(): unknown => load({ normalizer: { type: 'NFKC2' } })]) {
    assert.throws(bad, (err: unknown) => err instanceof TokenizerConfigError);
  }
});

test('fromFile names the file in its errors', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tlm-bad-'));
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }));
  await assert.rejects(Tokenizer.fromFile(path), new RegExp(`^TokenizerConfigError: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: model.unk_token`));
  await assert.rejects(Tokenizer.fromFile(join(dir, 'missing.json')), /missing.json: cannot read \(ENOENT\)/);
  await assert.rejects(Tokenizer.fromPretrained(dir + '/nothing'), /no tokenizer found/);
});

test('post-processors: BertProcessing, RobertaProcessing, Sequence round-trip through JSON', () => {
  const vocab = new Map(['<s>', '</s>', 'a', 'b'].map((t, i) => [t, i]));
  const tok = new Tokenizer(new WordLevel(vocab, 'a'));
  tok.preTokenizer = new preTokenizers.WhitespaceSplit();
  tok.postProcessor = new postProcessors.RobertaProcessing(['<s>', 0], ['</s>', 1]);
  const enc = tok.encode('a b', { pair: 'b' });
  assert.deepEqual(enc.tokens, ['<s>', 'a', 'b', '</s>', '</s>', 'b', '</s>']);
  assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 0, 0, 0]);
  tok.postProcessor = new postProcessors.BertProcessing(['<s>', 0], ['</s>', 1]);
  assert.deepEqual(tok.encode('a', { pair: 'b' }).typeIds, [0, 0, 0, 1, 1]);
  const again = Tokenizer.fromString(tok.toString());
  assert.deepEqual(again.encode('a', { pair: 'b' }).ids, tok.encode('a', { pair: 'b' }).ids);
});
