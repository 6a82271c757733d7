// Label-free QA pretraining data for the squad-pretrained recipe: cloze questions (tasks.clozeQaExamples)
// from the paragraphs of some articles of a SQuAD file, written as SQuAD JSON that `tlm finetune
// --task qa` reads. Only the contexts are read, never the questions or answers.
//
//     node dist/bench/recipes/cloze_qa.js SQUAD_JSON START:END OUT_JSON
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { clozeQaExamples } from '../../src/tasks/index.js';

const [squad, range, out] = process.argv.slice(2);
const m = /^(\d+):(\d*)$/.exec(range ?? '');
if (!squad || !m || !out) {
  console.error('usage: node dist/bench/recipes/cloze_qa.js SQUAD_JSON START:END OUT_JSON');
  process.exit(2);
}
const articles = (JSON.parse(readFileSync(squad, 'utf8')) as { data: { paragraphs: { context: string }[] }[] }).data
  .slice(Number(m[1]), m[2] === '' ? undefined : Number(m[2]));
const examples = clozeQaExamples(articles.flatMap((a) => a.paragraphs.map((p) => p.context)), { perSentence: 2 });
const data = [{
  title: 'cloze questions',
  paragraphs: examples.map((e) => ({ context: e.context, qas: [{ id: e.id, question: e.question, answers: e.answers!.map((a) => ({ text: a.text, answer_start: a.answerStart })) }] })),
}];
await writeFileAtomic(out, JSON.stringify({ version: '1.1', data }));
console.error(`cloze_qa: ${examples.length} questions from ${articles.length} articles → ${out}`);
