// tlm answer: the answer to a question in a context file, from an extractive QA model (long contexts
// are read in overlapping windows): the answer text, its score and its character span.

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { loadTaskModel, answer } from '../../pipelines/apply.js';
import { readTextFile } from '../../pipelines/finetune_data.js';

const spec: CommandSpec = {
  name: 'answer',
  usage: 'answer --model DIR --context FILE --question TEXT [--json]',
  summary: 'Answer a question from a context with an extractive QA model: answer text, score and character span.',
  flags: {
    model: { type: 'string', help: 'question-answering model directory' },
    adapter: { type: 'string', help: 'a PEFT adapter directory (LoRA) to apply on --model' },
    context: { type: 'string', help: 'file holding the context (UTF-8 text)' },
    question: { type: 'strings', help: 'the question (repeat for several)' },
    json: { type: 'boolean', help: 'one JSON object per question: {"answer", "score", "start", "end"}' },
    'max-length': { type: 'number', help: 'tokens per window (default: min(384, the model\'s))', integer: true, min: 8 },
    'doc-stride': { type: 'number', help: 'context tokens shared by consecutive windows', integer: true, min: 0 },
    'partial-words': { type: 'boolean', help: 'answers may start or end inside a word, as HF\'s postprocessing allows (default: whole words only)' },
    'max-answer-length': { type: 'number', help: 'longest answer in tokens', default: 30, integer: true, min: 1 },
  },
};

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (!f.model) throw new CliError('tlm answer: --model DIR is required');
    if (!f.context) throw new CliError('tlm answer: --context FILE is required');
    const questions = (f.question as string[] | undefined) ?? [];
    if (questions.length === 0 || questions.some((q) => q.trim() === '')) throw new CliError('tlm answer: --question TEXT is required (and must not be empty)');
    const context = readTextFile(f.context as string, 'tlm answer: context file');
    const p = await loadTaskModel(f.model as string, 'question-answering', { adapter: f.adapter as string | undefined, command: 'tlm answer' });
    const preds = await answer(p, questions.map((question, i) => ({ id: String(i), question, context })), {
      maxLength: f['max-length'] as number | undefined, docStride: f['doc-stride'] as number | undefined, maxAnswerLength: f['max-answer-length'] as number,
      wholeWords: f['partial-words'] !== true });
    for (const r of preds) {
      if (f.json) console.log(JSON.stringify({ answer: r.text, score: Math.round(r.score * 1e4) / 1e4, start: r.start, end: r.end }));
      else console.log(`${r.text}\t(score ${r.score.toFixed(3)}, characters ${r.start}-${r.end})`);
    }
  },
};
