// Reading fine-tuning data from files: tables (CSV, TSV, JSONL) for classification and SQuAD JSON
// for question answering, with the format taken from the extension unless given, strict UTF-8, and
// one-line errors that name the file.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { decodeText } from '../io/utf8.js';
import { InputError } from '../errors.js';
import { readTable, type TableFormat, type TableRow } from '../tasks/table.js';
import { readSquad, type SquadExample } from '../tasks/squad_data.js';

export type DataFormat = TableFormat | 'squad';

/** A data file's text (UTF-8, BOM dropped), or an InputError naming it. */
export function readTextFile(path: string, what: string, lossyUtf8 = false): string {
  if (!existsSync(path)) throw new InputError(`${what} not found: ${path}`);
  if (!statSync(path).isFile()) throw new InputError(`${what} is not a file: ${path}`);
  const text = decodeText(readFileSync(path), { file: path, lossy: lossyUtf8, warn: (m) => console.error(m) });
  if (text.trim() === '') throw new InputError(`${what} is empty: ${path}`);
  return text;
}

/** The format of a data file: given, or from its extension (.csv, .tsv, .jsonl, .json = SQuAD). */
export function formatOf(path: string, given?: string): DataFormat {
  if (given) return given as DataFormat;
  const ext = extname(path).toLowerCase();
  const byExt: Record<string, DataFormat> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.json': 'squad' };
  const f = byExt[ext];
  if (!f) throw new InputError(`cannot tell the format of ${path} from its extension '${ext}'; pass --format csv|tsv|jsonl|squad`);
  return f;
}

export interface TableColumns { textColumn: string; textPairColumn?: string; labelColumn?: string }

/** Rows of a table file; errors name the file (a missing column lists the ones there are). */
export function readTableFile(path: string, cols: TableColumns, o: { format?: string; what: string; lossyUtf8?: boolean }): TableRow[] {
  const format = formatOf(path, o.format);
  if (format === 'squad') throw new InputError(`${path} is SQuAD JSON; classification reads csv, tsv or jsonl (pass --format if the extension misleads)`);
  const text = readTextFile(path, o.what, o.lossyUtf8);
  let rows: TableRow[];
  try {
    rows = readTable(text, { format, ...cols });
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
  if (rows.length === 0) throw new InputError(`${o.what} has no rows: ${path}`);
  return rows;
}

/** Parses "A:B", "A:" or ":B" (article index range, end exclusive) into [start, end). */
export function parseRange(spec: string | undefined, flag: string): [number, number] {
  if (spec === undefined) return [0, Infinity];
  const m = /^(\d*):(\d*)$/.exec(spec);
  if (!m) throw new InputError(`${flag} must be START:END (article indices, end excluded), got '${spec}'`);
  return [m[1] ? Number(m[1]) : 0, m[2] ? Number(m[2]) : Infinity];
}

/** SQuAD examples of the articles in [range) of a SQuAD JSON file, in file order. */
export function readSquadFile(path: string, range: [number, number], o: { what: string; lossyUtf8?: boolean }): SquadExample[] {
  const text = readTextFile(path, o.what, o.lossyUtf8);
  let all: SquadExample[];
  try {
    all = readSquad(text);
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
  const picked = all.filter((e) => e.articleIndex >= range[0] && e.articleIndex < range[1]);
  if (picked.length === 0) throw new InputError(`${o.what} ${path} has no question in articles ${range[0]}:${range[1] === Infinity ? '' : range[1]}`);
  return picked;
}

export interface TextPair { source: string; target: string; line: number }

/** Two line-aligned files (a parallel corpus); different line counts are an error naming both. */
export function readParallelFiles(sourcePath: string, targetPath: string, o: { lossyUtf8?: boolean } = {}): TextPair[] {
  const lines = (p: string, what: string) => {
    const l = readTextFile(p, what, o.lossyUtf8).split(/\r?\n/);
    if (l[l.length - 1] === '') l.pop();
    return l;
  };
  const src = lines(sourcePath, 'source file'), tgt = lines(targetPath, 'target file');
  if (src.length !== tgt.length) {
    throw new InputError(`${sourcePath} has ${src.length} lines but ${targetPath} has ${tgt.length}; parallel files must be line-aligned`);
  }
  return src.map((source, i) => ({ source, target: tgt[i]!, line: i + 1 }));
}

/** Pairs from one JSONL or TSV file, by field (SAMSum: --source-field source --target-field summary). */
export function readPairsFile(path: string, fields: { source: string; target: string }, o: { format?: string; lossyUtf8?: boolean } = {}): TextPair[] {
  const format = formatOf(path, o.format);
  if (format !== 'jsonl' && format !== 'tsv' && format !== 'csv') throw new InputError(`${path}: pairs are read from jsonl, tsv or csv, not ${format}`);
  const text = readTextFile(path, 'data file', o.lossyUtf8);
  let rows;
  try {
    // readTable names the text column 'text' and the second one 'textPair'; trimming is kept off so dialogues keep their lines.
    rows = readTable(text, { format, textColumn: fields.source, textPairColumn: fields.target, trim: false });
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
  return rows.map((r) => ({ source: r.text, target: r.textPair ?? '', line: r.line }));
}
