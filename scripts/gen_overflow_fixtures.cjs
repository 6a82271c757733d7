// Reference overflow windows (HF `return_overflowing_tokens` + `stride`) from Hugging Face
// tokenizers itself, for test/tokenizers_overflow.test.ts.
//
// HF tokenizers' Node binding is not a dependency of tlm. Install it beside the repo and point
// HF_TOKENIZERS at it:
//
//   npm install --prefix /tmp/hf @anush008/tokenizers@0.6.0     # HF tokenizers 0.22.2 core
//   HF_TOKENIZERS=/tmp/hf/node_modules/@anush008/tokenizers node scripts/gen_overflow_fixtures.cjs
//
// (The official `tokenizers` 0.23.2 build stops tokenizing at max_length when truncation is set
// (HF PR #1990), so its overflowing windows cover only the first few tokens past the cut; 0.22's
// full windows are what transformers' run_qa.py relies on.)
//
// Writes, under test/fixtures/qa/:
//   bert-tiny/tokenizer.json  ../shared/fixtures/hf/bert-tiny/tokenizer.json with its model.vocab
//                             filled from vocab.txt (transformers 5 saved the vocabulary only there:
//                             the shared tokenizer.json knows 5 tokens, so its expected.json ids are [UNK]s)
//   bpe-tiny/tokenizer.json   ../shared/fixtures/hf/gpt2-tiny/tokenizer.json with a RobertaProcessing
//                             post-processor (<|endoftext|> as <s> and </s>, trimmed offsets)
//   overflow_hf.json          the cases below with every window HF produces

'use strict';
const fs = require('node:fs');
const path = require('node:path');

const hfPath = process.env.HF_TOKENIZERS;
if (!hfPath) throw new Error('set HF_TOKENIZERS to the folder of an installed HF tokenizers Node binding (see the header)');
const { Tokenizer } = require(hfPath);

const root = path.join(__dirname, '..');
const shared = path.join(root, '..', 'shared', 'fixtures', 'hf');
const out = path.join(root, 'test', 'fixtures', 'qa');

function writeJson(file, value, indent) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, indent) + '\n');
}

// ---- the two tokenizers ------------------------------------------------------------------------

const bert = JSON.parse(fs.readFileSync(path.join(shared, 'bert-tiny', 'tokenizer.json'), 'utf8'));
const vocabLines = fs.readFileSync(path.join(shared, 'bert-tiny', 'vocab.txt'), 'utf8').split('\n');
if (vocabLines[vocabLines.length - 1] === '') vocabLines.pop();
bert.model.vocab = Object.fromEntries(vocabLines.map((t, i) => [t, i]));
const bpe = JSON.parse(fs.readFileSync(path.join(shared, 'gpt2-tiny', 'tokenizer.json'), 'utf8'));
bpe.post_processor = { type: 'RobertaProcessing', sep: ['<|endoftext|>', 0], cls: ['<|endoftext|>', 0], trim_offsets: true, add_prefix_space: false };
const gpt2Template = JSON.parse(fs.readFileSync(path.join(shared, 'gpt2-tiny', 'tokenizer.json'), 'utf8')).post_processor;
const tokenizerJson = { 'bert-tiny': bert, 'bpe-tiny': bpe };

// ---- the cases ---------------------------------------------------------------------------------

const NORMANS = 'The Normans (Norman: Nourmands; French: Normands; Latin: Normanni) were the people who in the ' +
  '10th and 11th centuries gave their name to Normandy, a region in France. They were descended from Norse ' +
  '("Norman" comes from "Norseman") raiders and pirates from Denmark, Iceland and Norway who, under their ' +
  'leader Rollo, agreed to swear fealty to King Charles III of West Francia. Café société, naïve rôle.';
const CITIZEN = 'First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. ' +
  'First Citizen: You are all resolved rather to die than to famish? All: Resolved. resolved.';

const SHORT_A = 'First Citizen: Before we proceed any further, hear me speak.';
const SHORT_B = 'All: Speak, speak. You are all resolved rather to die than to famish?';

const cases = [
  { name: 'bert only_second, stride 8', tokenizer: 'bert-tiny', text: 'In what country is Normandy located?', pair: NORMANS,
    truncation: { maxLength: 40, stride: 8, strategy: 'only_second', direction: 'right' } },
  { name: 'bert only_second, stride 0', tokenizer: 'bert-tiny', text: 'Who was Rollo?', pair: NORMANS,
    truncation: { maxLength: 32, stride: 0, strategy: 'only_second', direction: 'right' } },
  { name: 'bert only_second, stride 1 less than the room', tokenizer: 'bert-tiny', text: 'Who?', pair: SHORT_A,
    truncation: { maxLength: 12, stride: 6, strategy: 'only_second', direction: 'right' } },
  { name: 'bert only_second, left', tokenizer: 'bert-tiny', text: 'When were the Normans in Normandy?', pair: NORMANS,
    truncation: { maxLength: 36, stride: 5, strategy: 'only_second', direction: 'left' } },
  { name: 'bert only_first', tokenizer: 'bert-tiny', text: CITIZEN, pair: 'What did all say?',
    truncation: { maxLength: 24, stride: 4, strategy: 'only_first', direction: 'right' } },
  { name: 'bert longest_first, both sequences overflow', tokenizer: 'bert-tiny', text: SHORT_A, pair: SHORT_B,
    truncation: { maxLength: 20, stride: 2, strategy: 'longest_first', direction: 'right' } },
  { name: 'bert single sequence, stride 4', tokenizer: 'bert-tiny', text: NORMANS, pair: null,
    truncation: { maxLength: 20, stride: 4, strategy: 'longest_first', direction: 'right' } },
  { name: 'bert only_second, padded to max_length', tokenizer: 'bert-tiny', text: 'Who was Rollo?', pair: CITIZEN,
    truncation: { maxLength: 24, stride: 4, strategy: 'only_second', direction: 'right' }, padding: { length: 24 } },
  { name: 'bert only_second, context fits', tokenizer: 'bert-tiny', text: 'Who?', pair: 'First Citizen: Speak.',
    truncation: { maxLength: 64, stride: 16, strategy: 'only_second', direction: 'right' } },
  { name: 'bpe (RoBERTa processing) only_second, stride 6', tokenizer: 'bpe-tiny', text: 'What did all say?', pair: CITIZEN,
    truncation: { maxLength: 28, stride: 6, strategy: 'only_second', direction: 'right' } },
  { name: 'bpe (GPT-2 pair template, no specials) only_second', tokenizer: 'bpe-tiny', postProcessor: gpt2Template,
    text: 'Who speaks?', pair: CITIZEN, truncation: { maxLength: 20, stride: 5, strategy: 'only_second', direction: 'right' } },
];

const STRATEGY = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };

function windowOf(e) {
  return {
    ids: e.getIds(), tokens: e.getTokens(), typeIds: e.getTypeIds(), attentionMask: e.getAttentionMask(),
    specialTokensMask: e.getSpecialTokensMask(), offsets: e.getOffsets(),
    wordIds: e.getWordIds().map((w) => w ?? null), sequenceIds: e.getSequenceIds().map((s) => s ?? null),
  };
}

async function main() {
  writeJson(path.join(out, 'bert-tiny', 'tokenizer.json'), bert, 2);
  writeJson(path.join(out, 'bpe-tiny', 'tokenizer.json'), bpe, 2);

  for (const c of cases) {
    const json = { ...tokenizerJson[c.tokenizer] };
    if (c.postProcessor) json.post_processor = c.postProcessor;
    const tok = Tokenizer.fromString(JSON.stringify(json));
    const t = c.truncation;
    tok.setTruncation(t.maxLength, { stride: t.stride, strategy: STRATEGY[t.strategy], direction: t.direction });
    if (c.padding) tok.setPadding({ maxLength: c.padding.length });
    const enc = await tok.encode(c.text, c.pair);
    // First-level windows only, as transformers flattens them ([encoding] + encoding.overflowing);
    // when both sequences overflow, HF's merge also nests copies of some windows one level down.
    c.windows = [enc, ...enc.getOverflowing()].map(windowOf);
  }
  writeJson(path.join(out, 'overflow_hf.json'), { source: 'HF tokenizers 0.22.2 (Node binding), scripts/gen_overflow_fixtures.cjs', cases }, 0);
  for (const c of cases) console.log(`${c.name}: ${c.windows.length} windows`);
}

main().catch((err) => { console.error(err); process.exit(1); });
