// tokenizer.json regexes are Oniguruma patterns (HF compiles them with onig). JavaScript's
// unicode-mode regexes read most of them the same way; this rewrites the parts that differ:
//   - \s, \S: Oniguruma's is Unicode White_Space; JS's \s also takes U+FEFF and misses U+0085;
//   - \d, \w (and \D, \W outside classes): Unicode in Oniguruma, ASCII in JS;
//   - (?i:…): scoped case-insensitivity (Qwen2 and Llama 3 split "'s", "'T", … with it), which
//     Node 20's regexes lack — letters inside become [xX] classes;
//   - \x{HHHH} becomes \u{HHHH}; an escaped punctuation character becomes the character (JS's
//     unicode mode refuses identity escapes such as \' that Oniguruma takes).
// Anything else passes through unchanged, so JS reports what it cannot compile.

const SPACE = '\\p{White_Space}';
const NOT_SPACE = '\\P{White_Space}';
const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
/** Characters that must stay escaped to mean themselves (inside or outside a class). */
const SYNTAX = new Set('^$\\.*+?()[]{}|/-');

/** Both cases of a character, as class contents, when they differ by one code point each. */
function caseless(ch: string, inClass: boolean): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  if (lo === up || [...lo].length !== 1 || [...up].length !== 1) return ch;
  return inClass ? lo + up : `[${lo}${up}]`;
}

export function onigToJs(pattern: string): string {
  let out = '';
  let inClass = false;
  // Depths of the open groups; caseless while any open group is an (?i:…) group.
  const groups: boolean[] = [];
  const ignoreCase = (): boolean => groups.includes(true);
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) {
      const e = chars[++i]!;
      if (e === 's') out += SPACE;
      else if (e === 'S') out += NOT_SPACE;
      else if (e === 'd') out += '\\p{Nd}';
      else if (e === 'D') out += '\\P{Nd}';
      else if (e === 'w') out += inClass ? WORD : `[${WORD}]`;
      else if (e === 'W' && !inClass) out += `[^${WORD}]`;
      else if ('pPxu'.includes(e)) {
        // \p{…}, \x{…} (JS: \u{…}), \xHH, \uHHHH: copied whole, never case-folded.
        out += e === 'x' && chars[i + 1] === '{' ? '\\u' : '\\' + e;
        const end = chars[i + 1] === '{' ? chars.indexOf('}', i + 1) : Math.min(chars.length - 1, i + (e === 'x' ? 2 : e === 'u' ? 4 : 0));
        out += chars.slice(i + 1, end + 1).join('');
        i = Math.max(i, end);
      } else if (!/[\p{L}\p{N}]/u.test(e) && !SYNTAX.has(e)) out += e;
      else out += '\\' + e;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c === ']' || !ignoreCase() ? c : caseless(c, true);
      continue;
    }
    if (c === '[') { inClass = true; out += c; if (chars[i + 1] === '^') { out += '^'; i++; } if (chars[i + 1] === ']') { out += '\\]'; i++; } continue; }
    if (c === '(') {
      if (chars[i + 1] === '?' && chars[i + 2] === 'i' && chars[i + 3] === ':') { groups.push(true); out += '(?:'; i += 3; continue; }
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ')') { groups.pop(); out += c; continue; }
    out += ignoreCase() ? caseless(c, false) : c;
  }
  return out;
}
