// Qwen2-style pipelines (a regex Split with \p{…} classes and (?i:…), then byte-level without its
// own regex), tokenizer.json regexes read as Oniguruma, added-token flags as HF applies them
// (cases from HF tokenizers/src/tokenizer/added_vocabulary.rs), and tokenizer_config.json parsing.

import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tokenizer, WordLevel, normalizers, parseTokenizerConfig, type AddedTokenInput } from '../src/tokenizers/index.js';
import { onigToJs } from '../src/tokenizers/regex.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'tokenizers');
const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

test('Oniguruma patterns become equivalent JS regexes', () => {
  const re = (p: string): RegExp => new RegExp(onigToJs(p), 'gu');
  const all = (p: string, s: string): string[] => [...s.matchAll(re(p))].map((m) => m[0]);
  // (?i:…) is case-insensitive only inside the group
  assert.deepEqual(all("(?i:'s)|x", "'s 'S X x"), ["'s", "'S", 'x']);
  // \s is Unicode White_Space: U+0085 is a space, U+FEFF is not (JS's own \s says the opposite)
  assert.deepEqual(all('\\s+', 'a\u0085b\ufeffc'), ['\u0085']);
  assert.deepEqual(all('[^\\s]+', 'a\u0085b'), ['a', 'b']);
  // \d is any decimal digit; \x{…} is a code point; an escaped quote is a quote
  assert.deepEqual(all('\\d+', '12٣४'), ['12٣४']);
  assert.deepEqual(all('\\x{2581}|\\\'', "▁'"), ['▁', "'"]);
  assert.equal(onigToJs('(?i:\\p{L}a)'), '(?:\\p{L}[aA])', 'property names are never case-folded');
});

test('the Qwen2 split pattern: contractions in any case, single digits, newlines kept with punctuation', () => {
  const re = new RegExp(onigToJs(QWEN2), 'gu');
  const split = (s: string): string[] => [...s.matchAll(re)].map((m) => m[0]);
  assert.deepEqual(split("I'M here, it'S 2024!!\n\n  ok"), ['I', "'M", ' here', ',', ' it', "'S", ' ', '2', '0', '2', '4', '!!\n\n', ' ', ' ok']);
});

test('qwen2-tiny fixture: Split(Regex) + ByteLevel(use_regex false) + NFC, added tokens, decode round trip', async () => {
  const tok = await Tokenizer.fromPretrained(join(FIXTURES, 'qwen2-tiny'));
  // Merges by rank: Ġt, he, Ġthe, 's, it, Ġit.
  const enc = tok.encode("it's the test");
  assert.deepEqual(enc.tokens, ['it', "'s", 'Ġthe', 'Ġt', 'e', 's', 't']);
  assert.deepEqual(enc.wordIds, [0, 1, 2, 3, 3, 3, 3]);
  assert.deepEqual(enc.offsets, [[0, 2], [2, 4], [4, 8], [8, 10], [10, 11], [11, 12], [12, 13]]);
  // "'S" is one word only because of (?i:…); without it "'" and "S" would be two.
  assert.deepEqual(tok.encode("IT'S").wordIds, [0, 0, 1, 1]);
  assert.deepEqual(tok.encode('2024').wordIds, [0, 1, 2, 3]);
  // NFC composes e + U+0301 into é (two UTF-8 bytes, two byte-level tokens) before splitting.
  assert.deepEqual(tok.encode('e\u0301').tokens, ['Ã', '©']);
  const chat = '<|im_start|>user\nhi it<|im_end|>\n';
  const ids = tok.encode(chat).ids;
  assert.equal(ids[0], tok.tokenToId('<|im_start|>'));
  assert.equal(ids.filter((i) => i === tok.tokenToId('<|im_end|>')).length, 1);
  assert.equal(tok.decode(ids), chat);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'user\nhi it\n');
  for (const text of ['日本語 ok', '  spaced\tout\r\n', "don't STOP"]) assert.equal(tok.decode(tok.encode(text).ids), text, JSON.stringify(text));
  const c = tok.config!;
  assert.deepEqual([c.bosToken, c.eosToken, c.padToken, c.modelMaxLength], [null, '<|im_end|>', '<|endoftext|>', 32768]);
  assert.deepEqual(Object.keys(c.chatTemplates), ['default', 'tool_use'], 'a list of named templates');
  assert.match(c.chatTemplate!, /<\|im_start\|>/);
});

/** The pieces encode() cuts `text` into, as [source text, is an added token]. */
function pieces(tok: Tokenizer, text: string): [string, boolean][] {
  const enc = tok.encode(text, { addSpecialTokens: false });
  return enc.ids.map((id, i) => [text.slice(...enc.offsets[i]!), tok.addedTokens.get(id) !== undefined]);
}

/** A tokenizer whose model turns each whole piece into one [UNK], with HF's Lowercase normalizer. */
function lowercased(tokens: AddedTokenInput[], special = false): Tokenizer {
  const tok = new Tokenizer(new WordLevel(new Map([['[UNK]', 0]])));
  tok.normalizer = new normalizers.Lowercase();
  tok.addTokens(tokens, special);
  return tok;
}

test('added tokens single_word: HF added_vocabulary.rs test_single_word_is_correct / _is_unicode_correct', () => {
  const tok = lowercased([{ content: '<mask>', singleWord: true }]);
  assert.deepEqual(pieces(tok, '<mask> My name <mask> A<mask> <mask>ony <mask>'),
    [['<mask>', true], [' My name ', false], ['<mask>', true], [' A<mask> <mask>ony ', false], ['<mask>', true]]);
  // punctuation and '-' are not word characters; a combining mark is
  assert.deepEqual(pieces(tok, '<mask>, <mask>- ◌̰<mask>'), [['<mask>', true], [', ', false], ['<mask>', true], ['- ◌̰<mask>', false]]);
});

test('added tokens lstrip/rstrip and normalized: HF added_vocabulary.rs test_lstrip_unicode_space, can_extract_and_normalize', () => {
  const tok = lowercased([{ content: '<mask>', lstrip: true, rstrip: true, singleWord: true }]);
  assert.deepEqual(pieces(tok, 'Hi <mask> there\t<mask>\t<mask>\u2000'),
    [['Hi', false], [' <mask> ', true], ['there', false], ['\t<mask>\t', true], ['<mask>\u2000', true]]);
  // "my" is normalized (matched in the lowercased text, so "My" matches) and strips both sides;
  // "ony" is single_word, so it is not found inside "Anthony".
  const tok2 = lowercased([{ content: 'my', lstrip: true, rstrip: true }, 'name', { content: 'ony', singleWord: true }]);
  tok2.addSpecialTokens(['[CLS]', '[SEP]']);
  assert.deepEqual(pieces(tok2, '[CLS] My name is Anthony [SEP]'),
    [['[CLS]', true], [' My ', true], ['name', true], [' is Anthony ', false], ['[SEP]', true]]);
  // special tokens are normalized=false by default: "[cls]" is not "[CLS]"
  assert.deepEqual(pieces(tok2, '[cls]'), [['[cls]', false]]);
});

test('tokenizer_config.json parsing: token forms, templates, and one-line errors naming the field', () => {
  const c = parseTokenizerConfig({ bos_token: { __type: 'AddedToken', content: '<s>' }, eos_token: '</s>', chat_template: 'x', model_max_length: 512, add_eos_token: true });
  assert.deepEqual([c.bosToken, c.eosToken, c.chatTemplate, c.modelMaxLength, c.addBosToken, c.addEosToken], ['<s>', '</s>', 'x', 512, null, true]);
  assert.equal(parseTokenizerConfig({ chat_template: [{ name: 'tool_use', template: 't' }] }).chatTemplate, null, 'no template named default');
  assert.throws(() => parseTokenizerConfig({ bos_token: 5 }), /tokenizer_config.json.bos_token: expected a string or an AddedToken object/);
  assert.throws(() => parseTokenizerConfig({ chat_template: [{ name: 'x' }] }), /tokenizer_config.json.chat_template\[0\]: expected \{"name": string, "template": string\}/);
  assert.throws(() => parseTokenizerConfig({ chat_template: 3 }), /tokenizer_config.json.chat_template: expected a string or a list/);
  assert.throws(() => parseTokenizerConfig({ add_bos_token: 'yes' }), /tokenizer_config.json.add_bos_token: expected true or false/);
  assert.throws(() => parseTokenizerConfig({ model_max_length: -1 }), /tokenizer_config.json.model_max_length: expected a positive number/);
  assert.throws(() => parseTokenizerConfig([]), /tokenizer_config.json: expected an object, got an array/);
});
