// Loading the tokenizer of a model directory, whatever generation of files it carries:
// tokenizer.json (HF tokenizers), vocab.json + merges.txt (GPT-2), or vocab.txt (BERT), plus
// tokenizer_config.json (special tokens, chat template, lengths) when the directory has one.

import { fileSystem } from '../io/files.js';
import { join } from '../io/path.js';
import { fail, TokenizerConfigError } from './json.js';
import { BPE, vocabFromJSON } from './models/bpe.js';
import { WordPiece } from './models/wordpiece.js';
import { bertTokenizer, byteLevelTokenizer } from './presets.js';
import { Tokenizer } from './tokenizer.js';
import { parseTokenizerConfig } from './tokenizer-config.js';

const exists = (p: string): Promise<boolean> => fileSystem().promises.stat(p).then((s) => s.isFile(), () => false);

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fileSystem().promises.readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new TokenizerConfigError(`${path}: cannot read as JSON (${(err as Error).message})`);
  }
}

/** A special token named in tokenizer_config.json: "<s>" or { "content": "<s>", … }. */
function configToken(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** GPT-2's merges.txt: an optional "#version" line, then "left right" per line. */
export function parseMergesTxt(text: string, path = 'merges.txt'): [string, string][] {
  const out: [string, string][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.length === 0 || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2) fail(`${path}:${i + 1}`, `expected "left right", got ${JSON.stringify(line)}`);
    out.push([parts[0]!, parts[1]!]);
  });
  return out;
}

/** BERT's vocab.txt: one token per line, the line number is the id. */
export function parseVocabTxt(text: string): Map<string, number> {
  const vocab = new Map<string, number>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, id) => vocab.set(line.trimEnd(), id));
  return vocab;
}

export async function loadPretrained(dir: string): Promise<Tokenizer> {
  const file = (name: string): string => join(dir, name);
  const config = (await exists(file('tokenizer_config.json'))) ? await readJson(file('tokenizer_config.json')) : null;
  const tok = await loadFiles(dir, config ?? {});
  if (config === null) return tok;
  try {
    tok.config = parseTokenizerConfig(config);
  } catch (err) {
    if (err instanceof TokenizerConfigError) throw new TokenizerConfigError(`${file('tokenizer_config.json')}: ${err.message}`);
    throw err;
  }
  const c = tok.config;
  for (const t of [c.bosToken, c.eosToken, c.unkToken, c.padToken]) {
    if (t !== null && tok.addedTokens.find(t) === undefined && tok.model.tokenToId(t) !== undefined) tok.addSpecialTokens([t]);
  }
  return tok;
}

async function loadFiles(dir: string, config: Record<string, unknown>): Promise<Tokenizer> {
  const file = (name: string): string => join(dir, name);
  if (await exists(file('tokenizer.json'))) return Tokenizer.fromFile(file('tokenizer.json'));

  if (await exists(file('vocab.json')) && await exists(file('merges.txt'))) {
    const vocab = vocabFromJSON(await readJson(file('vocab.json')), `${file('vocab.json')}`);
    const merges = parseMergesTxt(await fileSystem().promises.readFile(file('merges.txt'), 'utf8'), file('merges.txt'));
    const tok = byteLevelTokenizer(new BPE(vocab, merges, {}, file('merges.txt')), { addPrefixSpace: config.add_prefix_space === true });
    const specials = new Set(['<|endoftext|>']);
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) { const t = configToken(config[key]); if (t !== null) specials.add(t); }
    for (const t of specials) if (vocab.has(t)) tok.addSpecialTokens([t]);
    return tok;
  }

  if (await exists(file('vocab.txt'))) {
    const vocab = parseVocabTxt(await fileSystem().promises.readFile(file('vocab.txt'), 'utf8'));
    const unk = configToken(config.unk_token) ?? '[UNK]';
    if (!vocab.has(unk)) fail(file('vocab.txt'), `the unknown token '${unk}' is not in the vocabulary`);
    return bertTokenizer(new WordPiece(vocab, { unkToken: unk }, file('vocab.txt')), {
      lowercase: config.do_lower_case !== false,
      stripAccents: typeof config.strip_accents === 'boolean' ? config.strip_accents : null,
      handleChineseChars: config.tokenize_chinese_chars !== false,
    });
  }
  throw new TokenizerConfigError(`${dir}: no tokenizer found (looked for tokenizer.json, vocab.json + merges.txt, vocab.txt)`);
}
