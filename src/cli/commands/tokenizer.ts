// `tlm tokenizer train|encode|decode`: train a tokenizer on text files, and look at what a
// tokenizer does to a string or a list of ids.

import { readFileSync } from 'node:fs';
import { CliError, type FlagValues } from '../args.js';
import type { Command } from '../main.js';
import {
  BERT_SPECIAL_TOKENS, Tokenizer, TokenizerConfigError, trainByteLevelBpe, trainCharLevel, trainWordPiece, type TrainProgress,
} from '../../tokenizers/index.js';

const SUBCOMMANDS = ['train', 'encode', 'decode'] as const;
type Sub = typeof SUBCOMMANDS[number];

const spec: Command['spec'] = {
  name: 'tokenizer',
  summary: [
    'Train, inspect and use tokenizers (HF tokenizer.json).',
    '',
    '  tlm tokenizer train --type bpe|wordpiece|char --vocab-size N --out tokenizer.json FILES…',
    '      trains on the text files (progress on stderr) and writes tokenizer.json',
    '  tlm tokenizer encode --tokenizer PATH [--pair TEXT] [--json] TEXT…   (TEXT "-" or none: stdin)',
    '  tlm tokenizer decode --tokenizer PATH [--skip-special-tokens] IDS…   (ids separated by spaces or commas)',
    '',
    'PATH is a tokenizer.json file or a model directory (tokenizer.json, vocab.json + merges.txt, or vocab.txt).',
  ].join('\n'),
  usage: 'tokenizer train|encode|decode [flags] ARGS…',
  positionals: true,
  flags: {
    type: { type: 'string', help: 'train: byte-level BPE (GPT-2), WordPiece (BERT) or characters', choices: ['bpe', 'wordpiece', 'char'], default: 'bpe' },
    'vocab-size': { type: 'number', help: 'train: vocabulary size, special tokens included (char: an upper bound)', integer: true, min: 1 },
    out: { type: 'string', help: 'train: where to write tokenizer.json', default: 'tokenizer.json' },
    'min-frequency': { type: 'number', help: 'train: pairs seen fewer times are not merged', default: 0, integer: true, min: 0 },
    'special-tokens': { type: 'string', help: 'train: comma-separated special tokens (default: <|endoftext|> for bpe, [PAD],[UNK],[CLS],[SEP],[MASK] for wordpiece, [UNK] for char)' },
    cased: { type: 'boolean', help: 'train wordpiece: keep case and accents (default: uncased)' },
    tokenizer: { type: 'string', help: 'encode/decode: tokenizer.json or model directory' },
    pair: { type: 'string', help: 'encode: a second sequence (type ids 1)' },
    'no-special-tokens': { type: 'boolean', help: "encode: do not add the post-processor's special tokens" },
    json: { type: 'boolean', help: 'encode: print the whole encoding as JSON' },
    'skip-special-tokens': { type: 'boolean', help: 'decode: leave special tokens out' },
  },
};

async function run(flags: FlagValues, positionals: string[]): Promise<void> {
  const [sub, ...args] = positionals;
  if (sub === undefined || !SUBCOMMANDS.includes(sub as Sub)) {
    throw new CliError(`tlm tokenizer: expected a subcommand (train, encode or decode)${sub === undefined ? '' : `, got '${sub}'`} (see tlm tokenizer --help)`);
  }
  if (sub === 'train') return train(flags, args);
  const tok = await load(flags);
  if (sub === 'encode') encode(tok, flags, args);
  else decode(tok, flags, args);
}

// ---- train ------------------------------------------------------------------------------------

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`tlm tokenizer train: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** A one-line progress bar on stderr, redrawn at most every 100 ms. */
function progressBar(): (p: TrainProgress) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.stage !== 'done' && now - last < (tty ? 100 : 2000)) return;
    last = now;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const width = 30;
    const bar = '='.repeat(Math.round(frac * width)).padEnd(width, ' ');
    const line = `tokenizer: ${p.stage.padEnd(8)} [${bar}] ${p.done}/${p.total}`;
    process.stderr.write(tty ? `\r${line}${p.stage === 'done' ? '\n' : ''}` : `${line}\n`);
  };
}

async function train(flags: FlagValues, files: string[]): Promise<void> {
  const type = flags.type as 'bpe' | 'wordpiece' | 'char';
  const vocabSize = flags['vocab-size'] as number | undefined;
  if (files.length === 0) throw new CliError('tlm tokenizer train: no input files (tlm tokenizer train --type bpe --vocab-size 8000 --out tokenizer.json FILES…)');
  if (vocabSize === undefined && type !== 'char') throw new CliError(`tlm tokenizer train: --vocab-size is required for --type ${type}`);
  if (vocabSize !== undefined && (!Number.isInteger(vocabSize) || vocabSize < 1)) throw new CliError(`tlm tokenizer train: --vocab-size must be a positive integer, got ${vocabSize}`);
  const minFrequency = flags['min-frequency'] as number;
  const specialTokens = typeof flags['special-tokens'] === 'string' ? flags['special-tokens'].split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  if (type === 'bpe' && vocabSize! < 256 + (specialTokens?.length ?? 1)) {
    throw new CliError(`tlm tokenizer train: --vocab-size ${vocabSize} is smaller than the byte alphabet plus special tokens (${256 + (specialTokens?.length ?? 1)})`);
  }
  if (type === 'wordpiece' && specialTokens !== undefined && !specialTokens.includes('[UNK]')) {
    throw new CliError("tlm tokenizer train: WordPiece needs '[UNK]' among --special-tokens");
  }
  const t0 = performance.now();
  const texts = files.map(readText);
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  process.stderr.write(`tokenizer: training ${type} on ${files.length} file(s), ${(bytes / 1e6).toFixed(2)} MB\n`);
  const onProgress = progressBar();
  let tok: Tokenizer;
  if (type === 'bpe') tok = trainByteLevelBpe(texts, { vocabSize: vocabSize!, minFrequency, specialTokens, onProgress });
  else if (type === 'wordpiece') {
    tok = trainWordPiece(texts, { vocabSize: vocabSize!, minFrequency, specialTokens: specialTokens ?? BERT_SPECIAL_TOKENS, lowercase: flags.cased !== true, onProgress });
  } else tok = trainCharLevel(texts, { vocabSize, specialTokens, onProgress });
  const out = flags.out as string;
  try {
    await tok.save(out);
  } catch (err) {
    throw new CliError(`tlm tokenizer train: cannot write ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  console.log(`wrote ${out}: ${type}, ${tok.vocabSize} tokens, trained in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

// ---- encode / decode --------------------------------------------------------------------------

async function load(flags: FlagValues): Promise<Tokenizer> {
  const path = flags.tokenizer;
  if (typeof path !== 'string') throw new CliError('tlm tokenizer: --tokenizer PATH is required (a tokenizer.json or a model directory)');
  const { statSync } = await import('node:fs');
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ? await Tokenizer.fromPretrained(path) : await Tokenizer.fromFile(path);
  } catch (err) {
    if (err instanceof TokenizerConfigError) throw new CliError(`tlm tokenizer: ${err.message}`);
    throw err;
  }
}

/** The positional arguments joined by spaces, or stdin for none or "-". */
function inputText(args: string[]): string {
  if (args.length === 0 || (args.length === 1 && args[0] === '-')) return readFileSync(0, 'utf8');
  return args.join(' ');
}

function encode(tok: Tokenizer, flags: FlagValues, args: string[]): void {
  const enc = tok.encode(inputText(args), {
    pair: typeof flags.pair === 'string' ? flags.pair : undefined, addSpecialTokens: flags['no-special-tokens'] !== true,
  });
  if (flags.json === true) {
    const { ids, tokens, typeIds, attentionMask, offsets, specialTokensMask } = enc;
    console.log(JSON.stringify({ ids, tokens, typeIds, attentionMask, offsets, specialTokensMask }));
    return;
  }
  console.log(`ids      ${JSON.stringify(enc.ids)}`);
  console.log(`tokens   ${JSON.stringify(enc.tokens)}`);
  console.log(`offsets  ${JSON.stringify(enc.offsets)}`);
  if (enc.typeIds.some((t) => t !== 0)) console.log(`typeIds  ${JSON.stringify(enc.typeIds)}`);
  console.log(`${enc.length} tokens`);
}

function decode(tok: Tokenizer, flags: FlagValues, args: string[]): void {
  const raw = (args.length === 0 || (args.length === 1 && args[0] === '-') ? readFileSync(0, 'utf8') : args.join(' '))
    .split(/[\s,[\]]+/).filter(Boolean);
  const ids = raw.map((s) => {
    const id = Number(s);
    if (!Number.isInteger(id) || id < 0) throw new CliError(`tlm tokenizer decode: '${s}' is not a token id`);
    return id;
  });
  try {
    console.log(tok.decode(ids, { skipSpecialTokens: flags['skip-special-tokens'] === true }));
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(`tlm tokenizer ${err.message}`);
    throw err;
  }
}

const command: Command = { spec, run };
export default command;
