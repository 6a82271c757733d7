// A toy sentiment table for fine-tuning tests: filler words around one opinion word that decides the
// label, drawn from a seeded LCG (the same rows on every machine).

export interface ToySentiment {
  good: readonly string[];
  bad: readonly string[];
  fill: readonly string[];
  /** Filler words per row: minFill + [0, fillRange). */
  minFill: number;
  fillRange: number;
  /** The label names of the negative and the positive rows. */
  names?: readonly [string, string];
}

/** n rows as TSV with a header (sentence, label). */
export function toySentimentTsv(n: number, seed: number, o: ToySentiment): string {
  const [neg, pos] = o.names ?? ['neg', 'pos'];
  let s = seed;
  const r = (k: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 16) % k; };
  const lines = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const positive = r(2) === 1;
    const words = Array.from({ length: o.minFill + r(o.fillRange) }, () => o.fill[r(o.fill.length)]!);
    const opinion = positive ? o.good : o.bad;
    words.splice(r(words.length + 1), 0, opinion[r(opinion.length)]!);
    lines.push(`${words.join(' ')}\t${positive ? pos : neg}`);
  }
  return lines.join('\n') + '\n';
}
