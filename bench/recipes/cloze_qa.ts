// Label-free QA pretraining data for the squad-pretrained recipe: cloze questions (tasks.clozeQaExamples)
// from the paragraphs of some articles of a SQuAD file, written as SQuAD JSON that `tlm finetune
// --task qa` reads. Only the contexts are read, never the questions or answers.
//
//     node dist/bench/recipes/cloze_qa.js SQUAD_JSON START:END OUT_JSON
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { clozeQaExamples, readSquad } from '../../src/tasks/index.js';

const [squad, range, out] = process.argv.slice(2);
const m = /^(\d+):(\d*)$/.exec(range ?? '');
if (!squad || !m || !out) {
  console.error('usage: node dist/bench/recipes/cloze_qa.js SQUAD_JSON START:END OUT_JSON');
  process.exit(2);
}
try {
  // readSquad checks the file; only each paragraph's context is kept (once, in file order).
  const start = Number(m[1]), end = m[2] === '' ? Infinity : Number(m[2]);
  const chosen = readSquad(readFileSync(squad, 'utf8')).filter((e) => e.articleIndex >= start && e.articleIndex < end);
  const articles = new Set(chosen.map((e) => e.articleIndex));
  if (articles.size === 0) throw new Error(`no articles in ${range}`);
  const examples = clozeQaExamples([...new Set(chosen.map((e) => e.context))], { perSentence: 2 });
  const data = [{
    title: 'cloze questions',
    paragraphs: examples.map((e) => ({ context: e.context, qas: [{ id: e.id, question: e.question, answers: e.answers!.map((a) => ({ text: a.text, answer_start: a.answerStart })) }] })),
  }];
  mkdirSync(dirname(out), { recursive: true });
  await writeFileAtomic(out, JSON.stringify({ version: '1.1', data }));
  console.error(`cloze_qa: ${examples.length} questions from ${articles.size} articles → ${out}`);
} catch (err) {
  console.error(`cloze_qa: ${squad}: ${(err as Error).message}`);
  process.exit(1);
}
