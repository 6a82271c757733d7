// Reading SQuAD v1.1 JSON ({ data: [{ title, paragraphs: [{ context, qas: [{ id, question,
// answers: [{ text, answer_start }] }] }] }] }) into one flat example per question, in file order,
// and splitting those examples by article (the SQuAD paper splits by article, so that no test
// paragraph shares an article with training data).

export interface SquadAnswer {
  text: string;
  /** Character offset of the answer in the context (after JSON decoding; UTF-16 units = code points for SQuAD's text). */
  answerStart: number;
}

export interface SquadExample {
  id: string;
  title: string;
  context: string;
  question: string;
  answers: SquadAnswer[];
  /** 0-based position of the article in the file. */
  articleIndex: number;
  /** 0-based position of the paragraph within its article. */
  paragraphIndex: number;
}

function fail(path: string, what: string): never {
  throw new Error(`readSquad: ${path} ${what}`);
}

function arrayAt(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${v === null ? 'null' : typeof v}`);
  return v;
}

function objectAt(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, `must be an object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
  return v as Record<string, unknown>;
}

function stringAt(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string, got ${v === null ? 'null' : typeof v}`);
  return v;
}

/** Every question of a SQuAD v1.1 file, in file order, with its article's index and title. */
export function readSquad(jsonText: string): SquadExample[] {
  if (typeof jsonText !== 'string') throw new Error(`readSquad: expected the file's text (a string), got ${typeof jsonText}`);
  if (jsonText.trim() === '') throw new Error('readSquad: empty input');
  let doc: unknown;
  try { doc = JSON.parse(jsonText); } catch (e) { throw new Error(`readSquad: not valid JSON (${(e as Error).message})`); }
  const data = arrayAt(objectAt(doc, 'the document').data, 'data');
  const out: SquadExample[] = [];
  data.forEach((a, ai) => {
    const article = objectAt(a, `data[${ai}]`);
    const title = stringAt(article.title, `data[${ai}].title`);
    arrayAt(article.paragraphs, `data[${ai}].paragraphs`).forEach((p, pi) => {
      const pPath = `data[${ai}].paragraphs[${pi}]`;
      const paragraph = objectAt(p, pPath);
      const context = stringAt(paragraph.context, `${pPath}.context`);
      arrayAt(paragraph.qas, `${pPath}.qas`).forEach((q, qi) => {
        const qPath = `${pPath}.qas[${qi}]`;
        const qa = objectAt(q, qPath);
        const answers = arrayAt(qa.answers, `${qPath}.answers`).map((ans, k) => {
          const aPath = `${qPath}.answers[${k}]`;
          const answer = objectAt(ans, aPath);
          const start = answer.answer_start;
          if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) fail(`${aPath}.answer_start`, `must be a non-negative integer, got ${JSON.stringify(start)}`);
          return { text: stringAt(answer.text, `${aPath}.text`), answerStart: start };
        });
        out.push({
          id: stringAt(qa.id, `${qPath}.id`), title, context,
          question: stringAt(qa.question, `${qPath}.question`), answers, articleIndex: ai, paragraphIndex: pi,
        });
      });
    });
  });
  if (out.length === 0) throw new Error('readSquad: the file has no questions');
  return out;
}

/**
 * Splits examples by article: the first `trainArticles` articles (in file order) are train, the
 * rest test. The default 38 splits the 48-article v1.1 dev set into 38 train and 10 test articles.
 */
export function splitSquadByArticle<T extends { articleIndex: number }>(
  examples: readonly T[], options: { trainArticles?: number } = {},
): { train: T[]; test: T[] } {
  const trainArticles = options.trainArticles ?? 38;
  if (!Array.isArray(examples) || examples.length === 0) throw new Error('splitSquadByArticle: no examples');
  const articles = [...new Set(examples.map((e) => e.articleIndex))].sort((a, b) => a - b);
  if (!Number.isInteger(trainArticles) || trainArticles < 1 || trainArticles >= articles.length) {
    throw new Error(`splitSquadByArticle: trainArticles must be an integer from 1 to ${articles.length - 1} (the examples span ${articles.length} articles), got ${trainArticles}`);
  }
  const train = new Set(articles.slice(0, trainArticles));
  return { train: examples.filter((e) => train.has(e.articleIndex)), test: examples.filter((e) => !train.has(e.articleIndex)) };
}
