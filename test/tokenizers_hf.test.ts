// Exactness against Hugging Face: the gpt2-tiny and bert-tiny fixtures (made with HF tokenizers
// 0.23), tokenizer.json round trips, the other file layouts, and the BPE trainer reproducing the
// fixture's merges.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer, trainByteLevelBpe } from '../src/tokenizers/index.js';

const HF = join(process.cwd(), 'test', 'fixtures', 'hf');
const SHAKESPEARE = join(process.cwd(), 'data', 'tinyshakespeare.txt');

interface Expected { texts: string[]; ids: number[][]; pair_input_ids?: number[]; pair_token_type_ids?: number[] }

/** A fixture's directory and its expected.json. */
function fixture(name: string): { dir: string; expected: Expected } {
  const dir = join(HF, name);
  return { dir, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected };
}

test('gpt2-tiny: ids identical to HF on every probe text (encode and encodeIds)', async () => {
  const fx = fixture('gpt2-tiny');
  const tok = await Tokenizer.fromFile(join(fx.dir, 'tokenizer.json'));
  assert.equal(tok.vocabSize, 1000);
  fx.expected.texts.forEach((text, i) => {
    assert.deepEqual(tok.encode(text).ids, fx.expected.ids[i], `probe ${i}`);
    assert.deepEqual(tok.encodeIds(text), fx.expected.ids[i], `probe ${i} (ids only)`);
    assert.equal(tok.decode(fx.expected.ids[i]!), text, `probe ${i} decodes back`);
  });
});

test('gpt2-tiny: a pair gets type ids 0 then 1 from the template', async () => {
  const fx = fixture('gpt2-tiny');
  const tok = await Tokenizer.fromFile(join(fx.dir, 'tokenizer.json'));
  const [a, b] = [fx.expected.texts[0]!, fx.expected.texts[1]!];
  const enc = tok.encode(a, { pair: b });
  assert.deepEqual(enc.ids, [...fx.expected.ids[0]!, ...fx.expected.ids[1]!]);
  assert.deepEqual(enc.typeIds, [...fx.expected.ids[0]!.map(() => 0), ...fx.expected.ids[1]!.map(() => 1)]);
  assert.deepEqual(enc.attentionMask, enc.ids.map(() => 1));
});

test('bert-tiny: ids identical to HF on every probe text, [CLS] … [SEP] included', async () => {
  const fx = fixture('bert-tiny');
  const tok = await Tokenizer.fromFile(join(fx.dir, 'tokenizer.json'));
  fx.expected.texts.forEach((text, i) => assert.deepEqual(tok.encode(text).ids, fx.expected.ids[i], `probe ${i}`));
});

test('bert-tiny: pair ids and type ids have the fixture layout', async () => {
  const fx = fixture('bert-tiny');
  // The fixture's tokenizer.json holds only the five special tokens, so every word is [UNK] and
  // only the layout matters; expected.json does not store the pair's text, so this pair has the
  // same shape: 8 words, then 11 words with [MASK] seventh.
  const tok = await Tokenizer.fromFile(join(fx.dir, 'tokenizer.json'));
  const enc = tok.encode('one two three four five six seven eight', { pair: 'a b c d e f [MASK] h i j k' });
  assert.deepEqual(enc.ids, fx.expected.pair_input_ids);
  assert.deepEqual(enc.typeIds, fx.expected.pair_token_type_ids);
  assert.deepEqual(enc.specialTokensMask, enc.tokens.map((s) => s === '[CLS]' || s === '[SEP]' ? 1 : 0));
});

test('tokenizer.json written by tlm is byte-identical to the HF file it was read from', async () => {
  for (const name of ['gpt2-tiny', 'bert-tiny']) {
    const fx = fixture(name);
    const path = join(fx.dir, 'tokenizer.json');
    const tok = await Tokenizer.fromFile(path);
    assert.equal(tok.toString(), readFileSync(path, 'utf8'), name);
  }
});

test('save() then fromFile() gives the same ids; the write is atomic (no temp file left)', async () => {
  const fx = fixture('gpt2-tiny');
  const tok = await Tokenizer.fromFile(join(fx.dir, 'tokenizer.json'));
  const dir = mkdtempSync(join(tmpdir(), 'tlm-tok-'));
  const out = join(dir, 'tokenizer.json');
  await tok.save(out);
  const again = await Tokenizer.fromFile(out);
  for (const text of fx.expected.texts) assert.deepEqual(again.encode(text).ids, tok.encode(text).ids);
  assert.deepEqual((await import('node:fs')).readdirSync(dir), ['tokenizer.json']);
});

test('fromPretrained reads vocab.json + merges.txt (GPT-2 layout) with the same ids', async () => {
  const fx = fixture('gpt2-tiny');
  const json = JSON.parse(readFileSync(join(fx.dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] } };
  const dir = mkdtempSync(join(tmpdir(), 'tlm-gpt2-'));
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(json.model.vocab));
  writeFileSync(join(dir, 'merges.txt'), ['#version: 0.2', ...json.model.merges.map((m) => m.join(' '))].join('\n') + '\n');
  const tok = await Tokenizer.fromPretrained(dir);
  fx.expected.texts.forEach((text, i) => assert.deepEqual(tok.encode(text).ids, fx.expected.ids[i]));
  assert.equal(tok.encode('<|endoftext|>').ids[0], 0, 'the end-of-text token is a special token');
  // And a directory with tokenizer.json prefers it.
  const viaJson = await Tokenizer.fromPretrained(fx.dir);
  assert.deepEqual(viaJson.encode(fx.expected.texts[1]!).ids, fx.expected.ids[1]);
});

test('fromPretrained reads BERT vocab.txt with do_lower_case from tokenizer_config.json', async () => {
  const fx = fixture('bert-tiny');
  const dir = mkdtempSync(join(tmpdir(), 'tlm-bert-'));
  writeFileSync(join(dir, 'vocab.txt'), readFileSync(join(fx.dir, 'vocab.txt')));
  writeFileSync(join(dir, 'tokenizer_config.json'), readFileSync(join(fx.dir, 'tokenizer_config.json')));
  const tok = await Tokenizer.fromPretrained(dir);
  const vocab = readFileSync(join(fx.dir, 'vocab.txt'), 'utf8').split('\n');
  const enc = tok.encode('First Citizen:', { pair: 'Speak, SPEAK.' });
  // Lower-cased words found whole in vocab.txt are single tokens with their line number as id.
  assert.equal(enc.tokens[0], '[CLS]');
  assert.equal(enc.ids[1], vocab.indexOf('first'));
  assert.equal(enc.ids[2], vocab.indexOf('citizen'));
  assert.deepEqual(enc.tokens.slice(3), [':', '[SEP]', 'speak', ',', 'speak', '.', '[SEP]']);
  assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(enc.offsets.slice(1, 4), [[0, 5], [6, 13], [13, 14]]);
});

test('the BPE trainer reproduces the fixture: same vocabulary and merges as HF on Tiny Shakespeare', async () => {
  const fx = fixture('gpt2-tiny');
  const text = readFileSync(SHAKESPEARE, 'utf8');
  const tok = trainByteLevelBpe([text], { vocabSize: 1000 });
  // The whole file, written the way HF writes it, is identical.
  assert.equal(tok.toString(), readFileSync(join(fx.dir, 'tokenizer.json'), 'utf8'));
});
