// SentencePiece-style pipelines: the Metaspace pre-tokenizer and decoder, BPE byte fallback, the
// decoders Llama uses, and the legacy Llama layout (llama-legacy fixture) with its
// tokenizer_config.json. Cases marked "HF" are inputs and expected outputs from HF tokenizers'
// own tests, in the file named.

import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AlignedText, BPE, Tokenizer, TokenizerConfigError, decoders, preTokenizers } from '../src/tokenizers/index.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'tokenizers');
const { Metaspace, PreTokenizerSequence, Split } = preTokenizers;

/** Each word with its original offsets. */
const words = (p: { split(t: AlignedText): AlignedText[] }, text: string): [string, [number, number]][] =>
  p.split(new AlignedText(text)).map((w) => [w.text, w.span(0, w.length)]);

test('Metaspace pre-tokenizer: HF pre_tokenizers/metaspace.rs basic and multiple_spaces (original offsets)', () => {
  const m = new Metaspace('▁', 'always', true);
  assert.deepEqual(words(m, 'Hey friend!'), [['▁Hey', [0, 3]], ['▁friend!', [3, 11]]]);
  assert.deepEqual(words(m, 'Hey   friend!'), [['▁Hey', [0, 3]], ['▁', [3, 4]], ['▁', [4, 5]], ['▁friend!', [5, 13]]]);
});

test('Metaspace prepend_scheme first / always, split false: HF metaspace.rs non_legacy_meta_space', () => {
  // HF splits on "<s>" first (Isolated), then runs Metaspace on the pieces.
  const onS = new Split('<s>', 'Isolated');
  const texts = (p: preTokenizers.PreTokenizer, s: string): string[] => p.split(new AlignedText(s)).map((w) => w.text);
  const first = new PreTokenizerSequence([onS, new Metaspace('▁', 'first', false)]);
  assert.deepEqual(texts(first, 'Hey my friend <s>how▁are you'), ['▁Hey▁my▁friend▁', '<s>', 'how▁are▁you']);
  const thenAlways = new PreTokenizerSequence([onS, new Metaspace('▁', 'first', false), new Metaspace('▁', 'always', true)]);
  assert.deepEqual(texts(thenAlways, 'Hey my friend <s>how▁are you'), ['▁Hey', '▁my', '▁friend', '▁', '▁<s>', '▁how', '▁are', '▁you']);
  assert.deepEqual(texts(first, ' Hey <s>how'), ['▁Hey▁', '<s>', 'how']);
  assert.deepEqual(texts(first, ' Hey <s>how <s>are <s> you'), ['▁Hey▁', '<s>', 'how▁', '<s>', 'are▁', '<s>', '▁you']);
  assert.deepEqual(texts(new PreTokenizerSequence([new Metaspace('▁', 'never', true)]), 'Hey friend'), ['Hey', '▁friend']);
});

test('Metaspace decoder: HF metaspace.rs decode and bindings/python/tests/bindings/test_decoders.py', () => {
  assert.deepEqual(new decoders.MetaspaceDecoder('▁', 'always').decodeChain(['▁Hey', '▁friend!']), ['Hey', ' friend!']);
  assert.deepEqual(new decoders.MetaspaceDecoder('▁', 'never').decodeChain(['▁Hey', '▁friend!']), [' Hey', ' friend!']);
  const join = (d: decoders.Decoder, t: string[]): string => d.decodeChain(t).join('');
  assert.equal(join(new decoders.MetaspaceDecoder(), ['▁My', '▁name', '▁is', '▁John']), 'My name is John');
  assert.equal(join(new decoders.MetaspaceDecoder('-', 'never'), ['-My', '-name', '-is', '-John']), ' My name is John');
});

test('Metaspace tokenizer.json layouts: HF metaspace.rs serialization and decoders/mod.rs decoder_serialization', () => {
  const pre = (json: object): unknown => Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } }, pre_tokenizer: json }).preTokenizer!.toJSON();
  assert.deepEqual(pre({ type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true }), { type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true });
  // Older layouts: add_prefix_space true means always; str_rep is ignored; split defaults to true.
  assert.deepEqual(pre({ type: 'Metaspace', str_rep: '_', replacement: '_', add_prefix_space: true, prepend_scheme: 'always' }), { type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true });
  assert.deepEqual(pre({ type: 'Metaspace', replacement: '_', add_prefix_space: true }), { type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true });
  assert.deepEqual(pre({ type: 'Metaspace', replacement: '_', add_prefix_space: false }), { type: 'Metaspace', replacement: '_', prepend_scheme: 'never', split: true });
  assert.throws(() => pre({ type: 'Metaspace', replacement: '_', add_prefix_space: false, prepend_scheme: 'always' }), /pre_tokenizer.add_prefix_space: false does not match prepend_scheme 'always'/);
  assert.throws(() => pre({ type: 'Metaspace', replacement: '_', prepend_scheme: 'sometimes' }), /pre_tokenizer.prepend_scheme: unknown scheme 'sometimes'/);
  assert.throws(() => pre({ type: 'Metaspace', replacement: '' }), /pre_tokenizer.replacement: expected one character/);
  const dec = Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } },
    decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' }] } }).decoder!;
  assert.deepEqual(dec.toJSON(), { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }] });
});

test('ByteFallback decoder: HF decoders/byte_fallback.rs and test_decoders.py', () => {
  const d = new decoders.ByteFallbackDecoder();
  assert.deepEqual(d.decodeChain(['Hey', 'friend!']), ['Hey', 'friend!']);
  assert.deepEqual(d.decodeChain(['<0x61>']), ['a']);
  assert.equal(d.decodeChain(['<0xE5>']).join(''), '�');
  assert.equal(d.decodeChain(['<0xE5>', '<0x8f>']).join(''), '��');
  assert.deepEqual(d.decodeChain(['<0xE5>', '<0x8f>', '<0xab>']), ['叫']);
  assert.deepEqual(d.decodeChain(['<0xE5>', '<0x8f>', '<0xab>', 'a']), ['叫', 'a']);
  assert.equal(d.decodeChain(['<0xE5>', '<0x8f>', 'a']).join(''), '��a');
});

test('BPE byte fallback: HF models/bpe/model.rs test_bpe_byte_fallback and _newline', () => {
  const tok = new Tokenizer(new BPE(new Map([['<unk>', 0], ['<0x61>', 1]]), [], { unkToken: '<unk>', byteFallback: true }));
  assert.deepEqual([tok.encode('c').ids, tok.encode('c').offsets], [[0], [[0, 1]]]);
  assert.deepEqual([tok.encode('a').ids, tok.encode('a').tokens], [[1], ['<0x61>']]);
  const nl = new Tokenizer(new BPE(new Map([['<unk>', 0], ['<0x0A>', 1]]), [], { unkToken: '<unk>', byteFallback: true }));
  assert.deepEqual(nl.encode('\n').ids, [1]);
});

test('llama-legacy fixture: Prepend + Replace normalizers, byte-fallback BPE, the Llama decoder sequence', async () => {
  const tok = await Tokenizer.fromPretrained(join(FIXTURES, 'llama-legacy'));
  const id = (t: string): number => tok.tokenToId(t)!;
  // By the fixture's merge ranks: ▁h, ll, ▁he, ▁hell, ▁hello; ▁w, or, ▁wor, ▁worl, ▁world.
  const hello = tok.encode('hello world');
  assert.deepEqual(hello.tokens, ['<s>', '▁hello', '▁world']);
  assert.deepEqual(hello.ids, [1, id('▁hello'), id('▁world')]);
  assert.deepEqual(hello.offsets, [[0, 0], [0, 5], [5, 11]], 'the prepended ▁ belongs to the first character');
  // 'é' has a piece, '€' does not: its three UTF-8 bytes come out as <0xNN> tokens.
  const euro = tok.encode('héllo €', { addSpecialTokens: false });
  assert.deepEqual(euro.tokens, ['▁h', 'é', 'll', 'o', '▁', '<0xE2>', '<0x82>', '<0xAC>']);
  assert.deepEqual(euro.offsets.slice(-3), [[6, 7], [6, 7], [6, 7]]);
  for (const text of ['hello world', 'héllo €', ' two  spaces ', '日本']) {
    assert.equal(tok.decode(tok.encode(text).ids, { skipSpecialTokens: true }), text, `round trip of ${JSON.stringify(text)}`);
  }
  // Special tokens are matched in the raw text; the chunk after one is normalized on its own (so
  // it gets its own ▁, the legacy Llama behaviour).
  assert.deepEqual(tok.encode('<s>hello</s>').tokens, ['<s>', '<s>', '▁hello', '</s>']);
  assert.equal(tok.decode(tok.encode('<s>hello</s>').ids), '<s><s> hello</s>');
});

test('tokenizer_config.json beside tokenizer.json becomes Tokenizer.config', async () => {
  const tok = await Tokenizer.fromPretrained(join(FIXTURES, 'llama-legacy'));
  const c = tok.config!;
  assert.deepEqual([c.bosToken, c.eosToken, c.unkToken, c.padToken], ['<s>', '</s>', '<unk>', null], 'a token given as an AddedToken object reads as its content');
  assert.equal(c.modelMaxLength, null, "HF's 1e30 sentinel means no limit");
  assert.deepEqual([c.addBosToken, c.addEosToken], [true, false]);
  assert.match(c.chatTemplate!, /\[INST\]/);
  assert.deepEqual(Object.keys(c.chatTemplates), ['default']);
  assert.equal(c.raw.tokenizer_class, 'LlamaTokenizer');
  assert.equal((await Tokenizer.fromFile(join(FIXTURES, 'llama-legacy', 'tokenizer.json'))).config, null, 'fromFile reads only the file it is given');
});

/**
 * The hand-built charsmap of spm_precompiled's tests (overlapping_prefix_charsmap in src/tests.rs):
 * keys "a" → "x", "ab" → "y", "a\u0300" → "y".
 */
function overlappingPrefixCharsmap(): string {
  const trie = new Uint32Array(256);
  trie[97] = 97 | (1 << 8) | (1 << 10); trie[96] = 0;
  trie[2] = 98 | (1 << 8) | (1 << 10); trie[3] = 2;
  trie[172] = 0xcc | (1 << 10);
  trie[45] = 0x80 | (1 << 8) | (1 << 10); trie[44] = 2;
  const head = new Uint32Array([trie.length * 4]);
  return Buffer.concat([Buffer.from(head.buffer), Buffer.from(trie.buffer), Buffer.from('x\0y\0')]).toString('base64');
}

test('Precompiled normalizer: the darts trie of spm_precompiled, applied by grapheme as HF precompiled.rs does', () => {
  const tok = Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } }, normalizer: { type: 'Precompiled', precompiled_charsmap: overlappingPrefixCharsmap() } });
  const norm = (s: string): string => tok.normalizer!.normalize(new AlignedText(s)).text;
  // HF looks each grapheme up and takes the first (shortest) key that prefixes it, replacing the
  // whole grapheme: "ab" is two graphemes (x, then b unmatched); "a" + U+0300 is one, and its
  // first prefix key is "a" (spm's own longest-match would give "y").
  assert.equal(norm('ab'), 'xb');
  assert.equal(norm('a\u0300'), 'x');
  assert.equal(norm('a\u0300z'), 'xz');
  // 7 UTF-8 bytes: too long to look up whole, so character by character (U+0300 alone is no key).
  assert.equal(norm('a\u0300\u0300\u0300'), 'x\u0300\u0300\u0300');
  assert.equal(norm('cdc'), 'cdc');
  assert.deepEqual(tok.normalizer!.normalize(new AlignedText('ca\u0300b')).span(1, 2), [1, 3], 'the output covers its grapheme');
  // An empty or null charsmap has no rules (some converted files carry one).
  for (const map of ['', null]) {
    const t = Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } }, normalizer: { type: 'Precompiled', precompiled_charsmap: map } });
    assert.equal(t.normalizer!.normalize(new AlignedText('ab')).text, 'ab');
  }
  const bad = (map: unknown): unknown => Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } }, normalizer: { type: 'Precompiled', precompiled_charsmap: map } });
  assert.throws(() => bad('!!!'), /normalizer.precompiled_charsmap: is not valid base64/);
  assert.throws(() => bad(Buffer.from([200, 0, 0, 0, 1]).toString('base64')), /normalizer.precompiled_charsmap: the trie size 200 does not fit the 5-byte charsmap/);
  assert.throws(() => bad(3), /normalizer.precompiled_charsmap: expected a base64 string/);
});

test('bad Metaspace / decoder / normalizer entries: one-line errors naming the field', () => {
  const load = (patch: object): Tokenizer => Tokenizer.fromJSON({ model: { type: 'WordLevel', vocab: { '[UNK]': 0 } }, ...patch });
  assert.throws(() => load({ normalizer: { type: 'Sequence', normalizers: [{ type: 'Precompiled2' }] } }),
    (e: unknown) => e instanceof TokenizerConfigError && /^normalizer.normalizers\[0\].type: unknown normalizer 'Precompiled2' \(supported: [^\n]*\)$/.test((e as Error).message));
  assert.throws(() => load({ decoder: { type: 'Metaspace', prepend_scheme: 'first', add_prefix_space: false } }), /decoder.add_prefix_space: false does not match prepend_scheme 'first'/);
  assert.throws(() => load({ decoder: { type: 'Strip', content: ' ', start: -1 } }), /decoder.start: expected a non-negative integer/);
});
