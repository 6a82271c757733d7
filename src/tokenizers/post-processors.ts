// Post-processors: after the model, add the special tokens a model expects ([CLS] … [SEP]) and
// set the type ids of a pair (HF `post_processor`).

import { Encoding } from './encoding.js';
import { asArray, asInt, asObject, fail, getBool, getType, type JsonObject } from './json.js';

export interface PostProcessor {
  /** How many special tokens process() adds (truncation leaves room for them). */
  addedTokens(isPair: boolean): number;
  /** Rewrites the encodings of a sequence (and its pair); the tokenizer concatenates the result. */
  process(encodings: Encoding[], addSpecialTokens: boolean): Encoding[];
  toJSON(): JsonObject;
}

/** A special token as the post-processor inserts it. */
function special(id: number, token: string, typeId: number): Encoding {
  const e = new Encoding();
  e.ids.push(id); e.tokens.push(token); e.typeIds.push(typeId); e.attentionMask.push(1);
  e.offsets.push([0, 0]); e.specialTokensMask.push(1); e.wordIds.push(null); e.sequenceIds.push(null);
  return e;
}

export type TemplatePiece = { kind: 'special'; name: string; typeId: number } | { kind: 'sequence'; seq: 'A' | 'B'; typeId: number };
export interface SpecialTokenSpec { id: string; ids: number[]; tokens: string[] }

/**
 * HF TemplateProcessing: `single` and `pair` templates made of special tokens and the sequences
 * $A and $B, each with a type id. In code: TemplateProcessing.fromStrings('[CLS] $A [SEP]',
 * '[CLS] $A [SEP] $B:1 [SEP]:1', { '[CLS]': 101, '[SEP]': 102 }).
 */
export class TemplateProcessing implements PostProcessor {
  constructor(readonly single: TemplatePiece[], readonly pair: TemplatePiece[], readonly specialTokens: Map<string, SpecialTokenSpec>) {
    for (const piece of [...single, ...pair]) {
      if (piece.kind === 'special' && !specialTokens.has(piece.name)) {
        fail('post_processor.special_tokens', `the template uses '${piece.name}', which is not listed in special_tokens`);
      }
    }
  }

  static fromStrings(single: string, pair: string, specials: Record<string, number>): TemplateProcessing {
    const parse = (t: string): TemplatePiece[] => t.split(/\s+/).filter(Boolean).map((item) => {
      const [name, type] = item.split(':') as [string, string | undefined];
      const typeId = type === undefined ? 0 : Number(type);
      if (name === '$A' || name === '$B' || name === '$') return { kind: 'sequence', seq: name === '$B' ? 'B' : 'A', typeId };
      return { kind: 'special', name, typeId };
    });
    const map = new Map(Object.entries(specials).map(([t, id]) => [t, { id: t, ids: [id], tokens: [t] }]));
    return new TemplateProcessing(parse(single), parse(pair), map);
  }

  addedTokens(isPair: boolean): number {
    return (isPair ? this.pair : this.single).reduce((n, p) => n + (p.kind === 'special' ? this.specialTokens.get(p.name)!.ids.length : 0), 0);
  }

  process(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    const template = encodings.length > 1 ? this.pair : this.single;
    const out: Encoding[] = [];
    for (const piece of template) {
      if (piece.kind === 'sequence') {
        const index = piece.seq === 'A' ? 0 : 1;
        const enc = encodings[index];
        if (enc === undefined) continue;
        enc.setSequence(piece.typeId, index);
        out.push(enc);
      } else if (addSpecialTokens) {
        const spec = this.specialTokens.get(piece.name)!;
        spec.ids.forEach((id, k) => out.push(special(id, spec.tokens[k]!, piece.typeId)));
      }
    }
    return out;
  }

  toJSON(): JsonObject {
    const pieces = (t: TemplatePiece[]): JsonObject[] => t.map((p) => p.kind === 'special'
      ? { SpecialToken: { id: p.name, type_id: p.typeId } } : { Sequence: { id: p.seq, type_id: p.typeId } });
    const specials: JsonObject = {};
    for (const [name, s] of this.specialTokens) specials[name] = { id: s.id, ids: s.ids, tokens: s.tokens };
    return { type: 'TemplateProcessing', single: pieces(this.single), pair: pieces(this.pair), special_tokens: specials };
  }

  static fromJSON(o: JsonObject, path: string): TemplateProcessing {
    const pieces = (key: string): TemplatePiece[] => asArray(o[key], `${path}.${key}`).map((item, i) => {
      const p = asObject(item, `${path}.${key}[${i}]`);
      if (p.SpecialToken !== undefined) {
        const s = asObject(p.SpecialToken, `${path}.${key}[${i}].SpecialToken`);
        if (typeof s.id !== 'string') fail(`${path}.${key}[${i}].SpecialToken.id`, 'expected a string');
        return { kind: 'special', name: s.id, typeId: asInt(s.type_id ?? 0, `${path}.${key}[${i}].SpecialToken.type_id`) };
      }
      if (p.Sequence !== undefined) {
        const s = asObject(p.Sequence, `${path}.${key}[${i}].Sequence`);
        if (s.id !== 'A' && s.id !== 'B') fail(`${path}.${key}[${i}].Sequence.id`, `expected "A" or "B", got ${JSON.stringify(s.id)}`);
        return { kind: 'sequence', seq: s.id, typeId: asInt(s.type_id ?? 0, `${path}.${key}[${i}].Sequence.type_id`) };
      }
      fail(`${path}.${key}[${i}]`, 'expected {"SpecialToken": …} or {"Sequence": …}');
    });
    const specials = new Map<string, SpecialTokenSpec>();
    for (const [name, v] of Object.entries(asObject(o.special_tokens ?? {}, `${path}.special_tokens`))) {
      const p = `${path}.special_tokens[${JSON.stringify(name)}]`;
      const s = asObject(v, p);
      const ids = asArray(s.ids, `${p}.ids`).map((id, k) => asInt(id, `${p}.ids[${k}]`));
      const tokens = asArray(s.tokens, `${p}.tokens`).map((t, k) => typeof t === 'string' ? t : fail(`${p}.tokens[${k}]`, 'expected a string'));
      if (ids.length !== tokens.length) fail(p, `ids has ${ids.length} entries but tokens has ${tokens.length}`);
      specials.set(name, { id: typeof s.id === 'string' ? s.id : name, ids, tokens });
    }
    return new TemplateProcessing(pieces('single'), pieces('pair'), specials);
  }
}

/** BERT: [CLS] A [SEP] (type 0), then B [SEP] (type 1). */
export class BertProcessing implements PostProcessor {
  constructor(readonly cls: [string, number], readonly sep: [string, number]) {}
  addedTokens(isPair: boolean): number { return isPair ? 3 : 2; }
  process(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    encodings.forEach((e, i) => e.setSequence(i, i));
    if (!addSpecialTokens) return encodings;
    const [cls, sep] = [this.cls, this.sep];
    const out = [special(cls[1], cls[0], 0), encodings[0]!, special(sep[1], sep[0], 0)];
    if (encodings[1] !== undefined) out.push(encodings[1], special(sep[1], sep[0], 1));
    return out;
  }
  toJSON(): JsonObject { return { type: 'BertProcessing', sep: this.sep, cls: this.cls }; }
}

/** Moves offsets past leading/trailing spaces ('Ġ' or whitespace) of byte-level tokens. */
export function trimOffsets(enc: Encoding, addPrefixSpace: boolean): void {
  for (let i = 0; i < enc.tokens.length; i++) {
    const token = enc.tokens[i]!;
    const isSpace = (ch: string): boolean => ch === 'Ġ' || /^\s$/u.test(ch);
    const chars = Array.from(token);
    let lead = 0;
    while (lead < chars.length && isSpace(chars[lead]!)) lead++;
    let trail = 0;
    while (trail < chars.length && isSpace(chars[chars.length - 1 - trail]!)) trail++;
    if (lead === 0 && trail === 0) continue;
    const off = enc.offsets[i]!;
    // With add_prefix_space, the first token's single leading space was added, not in the text.
    if (lead > 0 && !((i === 0 || off[0] === 0) && addPrefixSpace && lead === 1)) off[0] = Math.min(off[0] + lead, off[1]);
    if (trail > 0 && off[1] >= trail) off[1] = Math.max(off[1] - trail, off[0]);
  }
}

/** RoBERTa: <s> A </s> </s> B </s>, every type id 0, offsets trimmed. */
export class RobertaProcessing implements PostProcessor {
  constructor(readonly cls: [string, number], readonly sep: [string, number], readonly trim = true, readonly addPrefixSpace = true) {}
  addedTokens(isPair: boolean): number { return isPair ? 4 : 2; }
  process(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    if (this.trim) encodings.forEach((e) => trimOffsets(e, this.addPrefixSpace));
    encodings.forEach((e, i) => e.setSequence(0, i));
    if (!addSpecialTokens) return encodings;
    const [cls, sep] = [this.cls, this.sep];
    const out = [special(cls[1], cls[0], 0), encodings[0]!, special(sep[1], sep[0], 0)];
    if (encodings[1] !== undefined) out.push(special(sep[1], sep[0], 0), encodings[1], special(sep[1], sep[0], 0));
    return out;
  }
  toJSON(): JsonObject {
    return { type: 'RobertaProcessing', sep: this.sep, cls: this.cls, trim_offsets: this.trim, add_prefix_space: this.addPrefixSpace };
  }
}

/** Byte-level: only trims offsets. */
export class ByteLevelProcessing implements PostProcessor {
  constructor(readonly trim = true, readonly addPrefixSpace = true) {}
  addedTokens(): number { return 0; }
  process(encodings: Encoding[]): Encoding[] {
    if (this.trim) encodings.forEach((e) => trimOffsets(e, this.addPrefixSpace));
    return encodings;
  }
  toJSON(): JsonObject { return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trim, use_regex: true }; }
}

export class ProcessorSequence implements PostProcessor {
  constructor(readonly processors: PostProcessor[]) {}
  addedTokens(isPair: boolean): number { return this.processors.reduce((n, p) => n + p.addedTokens(isPair), 0); }
  process(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    for (const p of this.processors) encodings = p.process(encodings, addSpecialTokens);
    return encodings;
  }
  toJSON(): JsonObject { return { type: 'Sequence', processors: this.processors.map((p) => p.toJSON()) }; }
}

function tokenAndId(v: unknown, path: string): [string, number] {
  const a = asArray(v, path);
  if (a.length !== 2 || typeof a[0] !== 'string') fail(path, 'expected ["token", id]');
  return [a[0], asInt(a[1], `${path}[1]`)];
}

const TYPES = ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel', 'Sequence'] as const;

export function postProcessorFromJSON(json: unknown, path = 'post_processor'): PostProcessor | null {
  if (json === null || json === undefined) return null;
  const o = asObject(json, path);
  switch (getType(o, path, 'post-processor', TYPES)) {
    case 'TemplateProcessing': return TemplateProcessing.fromJSON(o, path);
    case 'BertProcessing': return new BertProcessing(tokenAndId(o.cls, `${path}.cls`), tokenAndId(o.sep, `${path}.sep`));
    case 'RobertaProcessing':
      return new RobertaProcessing(tokenAndId(o.cls, `${path}.cls`), tokenAndId(o.sep, `${path}.sep`),
        getBool(o, 'trim_offsets', path, true), getBool(o, 'add_prefix_space', path, true));
    case 'ByteLevel': return new ByteLevelProcessing(getBool(o, 'trim_offsets', path, true), getBool(o, 'add_prefix_space', path, true));
    default: {
      const list = asArray(o.processors, `${path}.processors`);
      return new ProcessorSequence(list.map((p, i) => postProcessorFromJSON(p, `${path}.processors[${i}]`)!).filter((p) => p !== null));
    }
  }
}
