// Reading labelled text tables (CSV, TSV, JSON Lines) from a string into rows of
// { text, textPair?, label? }. Parsing only: the caller reads the file (core modules do no I/O).
//
// - csv: RFC 4180. Comma-separated, fields may be "quoted" (with "" for a quote inside) and then
//   hold commas and line breaks; CRLF or LF line ends. The first record is the header.
// - tsv: GLUE style. Tab-separated, one record per line, no quoting at all (GLUE's TSV files use
//   " and '' as ordinary characters). The first line is the header.
// - jsonl: one JSON object per non-blank line; the columns are its keys.

export type TableFormat = 'csv' | 'tsv' | 'jsonl';

export interface TableOptions {
  format: TableFormat;
  /** The column holding the text (e.g. SST-2's 'sentence'). */
  textColumn: string;
  /** The column holding the second text of a pair task (e.g. 'question2'). */
  textPairColumn?: string;
  /** The column holding the label; rows have no label without it. */
  labelColumn?: string;
  /** Trim whitespace around text fields (default true: SST-2 ends every sentence with a space). */
  trim?: boolean;
}

export interface TableRow {
  text: string;
  textPair?: string;
  /** The label as written in the file (JSON numbers and booleans are converted with String()). */
  label?: string;
  /** 1-based line where the row starts, for messages about it. */
  line: number;
}

const FORMATS: readonly TableFormat[] = ['csv', 'tsv', 'jsonl'];

interface Record_ { fields: string[]; line: number }

/** RFC 4180 records with the line each starts on. Blank lines are skipped. */
export function parseCsv(text: string): Record_[] {
  const records: Record_[] = [];
  let fields: string[] = [], field = '';
  let atFieldStart = true, blank = true; // blank: nothing (not even a comma or "") on this record yet
  let line = 1, recordLine = 1, i = 0;
  const endRecord = (): void => {
    fields.push(field);
    if (!blank) records.push({ fields, line: recordLine });
    fields = []; field = ''; atFieldStart = true; blank = true;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && atFieldStart) {
      // A quoted field runs to the next quote that is not doubled.
      const openLine = line;
      atFieldStart = false; blank = false; i++;
      for (;;) {
        if (i >= text.length) throw new Error(`readTable: line ${openLine}: quoted field is never closed (missing ")`);
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        if (c === '\n') line++;
        field += c;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && text[i + 1] === '\n')) {
        throw new Error(`readTable: line ${line}: unexpected ${JSON.stringify(next)} after a closing quote (expected , or end of line)`);
      }
    } else if (ch === ',') {
      fields.push(field); field = ''; atFieldStart = true; blank = false; i++;
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      endRecord();
      i += ch === '\r' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      // A quote inside an unquoted field is kept as an ordinary character (as Python's csv does).
      field += ch; atFieldStart = false; blank = false; i++;
    }
  }
  if (!blank) endRecord();
  return records;
}

function parseTsv(text: string): Record_[] {
  const records: Record_[] = [];
  text.split('\n').forEach((raw, k) => {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l !== '') records.push({ fields: l.split('\t'), line: k + 1 });
  });
  return records;
}

function columnIndex(header: string[], name: string, role: string): number {
  const k = header.indexOf(name);
  if (k < 0) throw new Error(`readTable: column '${name}' (${role}) not found; available columns: ${header.join(', ')}`);
  return k;
}

function checkOptions(options: TableOptions): void {
  if (!options || !FORMATS.includes(options.format)) {
    throw new Error(`readTable: format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(options?.format)}`);
  }
  if (typeof options.textColumn !== 'string' || options.textColumn === '') throw new Error('readTable: textColumn (the column with the text) is required');
}

function fromDelimited(records: Record_[], options: TableOptions, trim: (s: string) => string): TableRow[] {
  if (records.length === 0) throw new Error(`readTable: empty input (no header row in the ${options.format} text)`);
  const header = records[0]!.fields.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) { if (seen.has(h)) throw new Error(`readTable: header names column '${h}' twice`); seen.add(h); }
  const textAt = columnIndex(header, options.textColumn, 'textColumn');
  const pairAt = options.textPairColumn !== undefined ? columnIndex(header, options.textPairColumn, 'textPairColumn') : -1;
  const labelAt = options.labelColumn !== undefined ? columnIndex(header, options.labelColumn, 'labelColumn') : -1;
  return records.slice(1).map(({ fields, line }) => {
    if (fields.length !== header.length) {
      throw new Error(`readTable: line ${line}: ${fields.length} fields but the header has ${header.length} (${header.join(', ')})`);
    }
    const row: TableRow = { text: trim(fields[textAt]!), line };
    if (pairAt >= 0) row.textPair = trim(fields[pairAt]!);
    if (labelAt >= 0) row.label = fields[labelAt]!.trim();
    return row;
  });
}

function fromJsonl(text: string, options: TableOptions, trim: (s: string) => string): TableRow[] {
  const rows: TableRow[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const src = lines[k]!.trim();
    if (src === '') continue;
    const line = k + 1;
    let obj: unknown;
    try { obj = JSON.parse(src); } catch (e) {
      throw new Error(`readTable: line ${line}: bad JSON (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`readTable: line ${line}: expected a JSON object, got ${Array.isArray(obj) ? 'an array' : JSON.stringify(obj)}`);
    const rec = obj as Record<string, unknown>;
    const get = (name: string, role: string): unknown => {
      if (!Object.hasOwn(rec, name)) throw new Error(`readTable: line ${line}: column '${name}' (${role}) not found; available columns: ${Object.keys(rec).join(', ')}`);
      return rec[name];
    };
    const str = (name: string, role: string): string => {
      const v = get(name, role);
      if (typeof v !== 'string') throw new Error(`readTable: line ${line}: column '${name}' (${role}) must be a string, got ${v === null ? 'null' : typeof v}`);
      return trim(v);
    };
    const row: TableRow = { text: str(options.textColumn, 'textColumn'), line };
    if (options.textPairColumn !== undefined) row.textPair = str(options.textPairColumn, 'textPairColumn');
    if (options.labelColumn !== undefined) {
      const v = get(options.labelColumn, 'labelColumn');
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new Error(`readTable: line ${line}: column '${options.labelColumn}' (labelColumn) must be a string, number or boolean, got ${v === null ? 'null' : typeof v}`);
      }
      row.label = String(v).trim();
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new Error('readTable: empty input (no JSON lines)');
  return rows;
}

/** Rows of a CSV, TSV or JSONL text; see the file comment for each format's rules. */
export function readTable(text: string, options: TableOptions): TableRow[] {
  checkOptions(options);
  if (typeof text !== 'string') throw new Error(`readTable: text must be a string, got ${typeof text}`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark
  const trim = options.trim ?? true ? (s: string) => s.trim() : (s: string) => s;
  if (options.format === 'jsonl') return fromJsonl(body, options, trim);
  return fromDelimited(options.format === 'csv' ? parseCsv(body) : parseTsv(body), options, trim);
}

/**
 * The distinct labels of rows, sorted: numerically when every label is an integer (so '10'
 * follows '9'), otherwise by code point. Index i of the result is class id i.
 */
export function labelsFrom(rows: readonly { label?: string; line?: number }[]): string[] {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error('labelsFrom: no rows');
  const set = new Set<string>();
  rows.forEach((r, k) => {
    if (typeof r.label !== 'string') throw new Error(`labelsFrom: row ${k}${r.line !== undefined ? ` (line ${r.line})` : ''} has no label; pass labelColumn to readTable`);
    set.add(r.label);
  });
  const labels = [...set];
  if (labels.every((l) => /^-?\d+$/.test(l))) return labels.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return labels.sort((a, b) => {
    const x = Array.from(a), y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
}
