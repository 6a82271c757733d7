// Writing tokenizer.json the way HF does (serde_json, two-space indent), key order included.
//
// JSON.stringify cannot keep a vocabulary in id order: JS objects enumerate integer-like keys
// ("0", "1", …) first, so {"!": 1, "0": 16} would come out as {"0": 16, "!": 1}. Vocabularies are
// therefore OrderedObjects, which this writer prints in the order given (JSON.stringify still
// works on them through toJSON, with the usual reordering).

export class OrderedObject {
  constructor(readonly entries: [string, unknown][]) {}
  toJSON(): Record<string, unknown> { return Object.fromEntries(this.entries); }
}

export function stringifyJson(value: unknown, indent = 2): string {
  const nl = indent > 0 ? '\n' : '';
  const colon = indent > 0 ? ': ' : ':';
  const write = (v: unknown, pad: string): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
    const inner = pad + ' '.repeat(indent);
    let entries: [string, unknown][] | null = null;
    if (v instanceof OrderedObject) entries = v.entries;
    else if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${nl}${v.map((x) => inner + write(x, inner)).join(`,${nl}`)}${nl}${pad}]`;
    } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON(), pad);
    else entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{${nl}${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}${colon}${write(x, inner)}`).join(`,${nl}`)}${nl}${pad}}`;
  };
  return write(value, '');
}
