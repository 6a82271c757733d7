// Added tokens: strings matched in the input before anything else runs, so that "<|endoftext|>"
// or "[MASK]" become one token instead of being split and merged like text (HF `added_tokens`).
// Tokens with normalized=false are matched in the raw input; the others in the normalized text.

import { AlignedText } from './aligned.js';
import { asArray, asInt, asObject, getBool, getString, escapeRegExp, type JsonObject } from './json.js';
import type { Normalizer } from './normalizers.js';
import { charFlags, CONNECTOR, isWhitespace, LETTER, MARK, NUMBER } from './unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  /** Only match as a whole word (no letter, mark, digit or '_' right before or after). */
  singleWord: boolean;
  /** Swallow the whitespace on the left / right of a match. */
  lstrip: boolean;
  rstrip: boolean;
  /** Match in the normalized text (true) or in the raw input (false). */
  normalized: boolean;
  /** Special tokens can be skipped when decoding. */
  special: boolean;
}

/** One piece of a split: plain text to tokenize, or an added token with its span in the piece. */
export type Split = { text: AlignedText; token?: undefined } | { token: AddedToken; span: [number, number] };

// HF tests single_word with the regex \w: letters, marks (a combining accent is part of a word),
// digits and connector punctuation such as '_'.
const isWordChar = (cp: number): boolean => (charFlags(cp) & (LETTER | NUMBER | MARK | CONNECTOR)) !== 0;

export class AddedVocabulary {
  private readonly byContent = new Map<string, AddedToken>();
  private readonly byId = new Map<number, AddedToken>();
  private matchers: { raw: RegExp | null; normalized: RegExp | null; normalizedContent: Map<string, AddedToken>; normalizer: Normalizer | null } | null = null;

  get size(): number { return this.byId.size; }
  all(): AddedToken[] { return [...this.byId.values()].sort((a, b) => a.id - b.id); }
  get(id: number): AddedToken | undefined { return this.byId.get(id); }
  find(content: string): AddedToken | undefined { return this.byContent.get(content); }
  isSpecial(id: number): boolean { return this.byId.get(id)?.special === true; }

  /** Adds or replaces a token (a token with the same content keeps one entry). */
  add(token: AddedToken): void {
    const old = this.byContent.get(token.content);
    if (old !== undefined) this.byId.delete(old.id);
    this.byContent.set(token.content, token);
    this.byId.set(token.id, token);
    this.matchers = null;
  }

  /** Cuts `text` at the added tokens found in it; `normalized` picks which tokens to look for. */
  split(text: AlignedText, normalized: boolean, normalizer: Normalizer | null): Split[] {
    const m = this.matcherFor(normalizer);
    const re = normalized ? m.normalized : m.raw;
    if (re === null || text.length === 0) return [{ text }];
    const s = text.text;
    const out: Split[] = [];
    let last = 0;
    re.lastIndex = 0;
    for (let match = re.exec(s); match !== null; match = re.exec(s)) {
      const token = normalized ? m.normalizedContent.get(match[0])! : this.byContent.get(match[0])!;
      let start = match.index;
      let stop = start + match[0].length;
      if (token.singleWord) {
        const before = start > 0 ? s.codePointAt(start - 1 - (isLowSurrogate(s, start - 1) ? 1 : 0))! : -1;
        const after = stop < s.length ? s.codePointAt(stop)! : -1;
        if ((before >= 0 && isWordChar(before)) || (after >= 0 && isWordChar(after))) continue;
      }
      if (token.lstrip) while (start > last && isWhitespace(s.charCodeAt(start - 1))) start--;
      if (token.rstrip) while (stop < s.length && isWhitespace(s.charCodeAt(stop))) stop++;
      if (start > last) out.push({ text: text.slice(last, start) });
      out.push({ token, span: text.span(start, stop) });
      last = stop;
      re.lastIndex = stop;
    }
    if (last < s.length) out.push({ text: text.slice(last, s.length) });
    return out;
  }

  /** Regexes over the added tokens, longest first so that the leftmost match is the longest. */
  private matcherFor(normalizer: Normalizer | null): NonNullable<AddedVocabulary['matchers']> {
    if (this.matchers !== null && this.matchers.normalizer === normalizer) return this.matchers;
    const raw: string[] = [];
    const norm: string[] = [];
    const normalizedContent = new Map<string, AddedToken>();
    for (const t of this.all()) {
      if (t.content.length === 0) continue;
      if (!t.normalized) { raw.push(t.content); continue; }
      const n = normalizer === null ? t.content : normalizer.normalize(new AlignedText(t.content)).text;
      if (n.length > 0 && !normalizedContent.has(n)) { normalizedContent.set(n, t); norm.push(n); }
    }
    const build = (list: string[]): RegExp | null => list.length === 0 ? null
      : new RegExp(list.sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'gu');
    this.matchers = { raw: build(raw), normalized: build(norm), normalizedContent, normalizer };
    return this.matchers;
  }

  toJSON(): JsonObject[] {
    return this.all().map((t) => ({
      id: t.id, content: t.content, single_word: t.singleWord, lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized, special: t.special,
    }));
  }

  static fromJSON(json: unknown, path = 'added_tokens'): AddedVocabulary {
    const v = new AddedVocabulary();
    if (json === null || json === undefined) return v;
    asArray(json, path).forEach((item, i) => {
      const p = `${path}[${i}]`;
      const o = asObject(item, p);
      const special = getBool(o, 'special', p, false);
      v.add({
        id: asInt(o.id, `${p}.id`), content: getString(o, 'content', p), singleWord: getBool(o, 'single_word', p, false),
        lstrip: getBool(o, 'lstrip', p, false), rstrip: getBool(o, 'rstrip', p, false),
        normalized: getBool(o, 'normalized', p, !special), special,
      });
    });
    return v;
  }
}

function isLowSurrogate(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c < 0xe000 && i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) < 0xdc00;
}
