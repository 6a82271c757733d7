// sacreBLEU's tokenizers: '13a' (mteval-v13a.pl, the WMT default), 'intl' (mteval-v14
// international), 'char' and 'none'. Each maps a line to space-separated tokens.

import { pyCollapseSpace } from './text.js';

export type BleuTokenizer = '13a' | 'intl' | 'char' | 'none';
export const BLEU_TOKENIZERS: readonly BleuTokenizer[] = ['13a', 'intl', 'char', 'none'];

// mteval-v13a's language-dependent rules (for Western languages), applied in order:
const V13A_RULES: [RegExp, string][] = [
  // every ASCII symbol and punctuation mark except . , - and ' becomes its own token
  [/([{-~[-` -&(-+:-@\/])/g, ' $1 '],
  // period and comma split off unless preceded by a digit ...
  [/([^0-9])([.,])/g, '$1 $2 '],
  // ... or unless followed by one
  [/([.,])([^0-9])/g, ' $1 $2'],
  // a dash after a digit splits off
  [/([0-9])(-)/g, '$1 $2 '],
];

function tokenize13a(line: string): string {
  // The language-independent part: drop <skipped>, join hyphenated line breaks, unescape four entities.
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  s = ` ${s} `;
  for (const [re, to] of V13A_RULES) s = s.replace(re, to);
  return pyCollapseSpace(s);
}

// mteval-v14's international rules: Unicode punctuation splits off unless between digits
// (so 1,000 and 3.14 stay whole), and every Unicode symbol is its own token.
const INTL_RULES: [RegExp, string][] = [
  [/(\P{N})(\p{P})/gu, '$1 $2 '],
  [/(\p{P})(\P{N})/gu, ' $1 $2'],
  [/(\p{S})/gu, ' $1 '],
];

function tokenizeIntl(line: string): string {
  let s = line;
  for (const [re, to] of INTL_RULES) s = s.replace(re, to);
  return pyCollapseSpace(s);
}

/** Tokenizes one line the way sacreBLEU's tokenizer of that name does. */
export function bleuTokenize(line: string, tokenizer: BleuTokenizer): string {
  switch (tokenizer) {
    case '13a': return tokenize13a(line);
    case 'intl': return tokenizeIntl(line);
    case 'char': return Array.from(line).join(' ');
    case 'none': return line;
  }
}
