// QA's question-match token type (fine-tuning flag --question-match): a third token type for context
// tokens that occur in the question. Growing it onto an HF checkpoint leaves the outputs unchanged
// (the new row starts as the context segment's); a model fine-tuned with it records it in config.json,
// and answering reads it back from there.

import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, tidy } from '../src/tensor/engine.js';
import { tensor } from '../src/tensor/ops/creation.js';
import { BertForQuestionAnswering } from '../src/models/bert/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { prepareQaFeatures, type QaExample } from '../src/tasks/qa.js';
import { answerQuestions } from '../src/tasks/qa_task.js';
import { finetune } from '../src/pipelines/finetune.js';
import { answer, loadTaskModel } from '../src/pipelines/apply.js';

const fixtures = join(process.cwd(), 'test', 'fixtures');
const tokenizer = Tokenizer.fromJSON(JSON.parse(readFileSync(join(fixtures, 'qa', 'bert-tiny', 'tokenizer.json'), 'utf8')));
const CONTEXT = 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.';
const EXAMPLES: QaExample[] = [
  { id: 'a', question: 'In what country is Normandy located?', context: CONTEXT, answers: [{ text: 'France', answerStart: CONTEXT.indexOf('France') }] },
  { id: 'b', question: 'When did the Normans give their name to Normandy?', context: CONTEXT, answers: [{ text: '10th and 11th centuries', answerStart: CONTEXT.indexOf('10th') }] },
];

function logits(model: BertForQuestionAnswering, ids: number[], types: number[]): Float32Array {
  return noGrad(() => tidy(() => model.forward({
    inputIds: tensor(Int32Array.from(ids), { shape: [1, ids.length] }), tokenTypeIds: tensor(Int32Array.from(types), { shape: [1, types.length] }),
  }).startLogits.clone())).dataSync() as Float32Array;
}

test('enableQuestionMatch grows an HF checkpoint by one token type without changing its outputs', async () => {
  const model = await BertForQuestionAnswering.fromPretrained(join(fixtures, 'hf', 'bert-tiny'), { warn: () => {} });
  model.eval();
  const [plain] = prepareQaFeatures(tokenizer, [EXAMPLES[1]!], { maxLength: 64 });
  const before = logits(model, plain!.inputIds, plain!.tokenTypeIds);
  assert.equal(model.enableQuestionMatch(), 2);
  assert.equal(model.enableQuestionMatch(), 2, 'a second call changes nothing');
  assert.deepEqual([model.config.type_vocab_size, model.bert.embeddings.token_type_embeddings.weight.shape[0]], [3, 3]);
  const [matched] = prepareQaFeatures(tokenizer, [EXAMPLES[1]!], { maxLength: 64, questionMatchTypeId: 2 });
  assert.ok(matched!.tokenTypeIds.includes(2));
  assert.deepEqual(logits(model, matched!.inputIds, matched!.tokenTypeIds), before);
});

test('fine-tuning with --question-match saves it in config.json, and answering uses it', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-qm-'));
  try {
    const base = join(dir, 'bert');
    mkdirSync(base);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'hf', 'bert-tiny', f), join(base, f));
    copyFileSync(join(fixtures, 'qa', 'bert-tiny', 'tokenizer.json'), join(base, 'tokenizer.json'));
    const squad = join(dir, 'squad.json');
    writeFileSync(squad, JSON.stringify({ data: [{ title: 'Normans', paragraphs: [{ context: CONTEXT, qas: EXAMPLES.map((e) => ({
      id: e.id, question: e.question, answers: e.answers!.map((a) => ({ text: a.text, answer_start: a.answerStart })) })) }] }] }));
    const out = join(dir, 'qa');
    await finetune({ task: 'qa', model: base, train: squad, eval: squad, maxLength: 48, questionMatch: true, method: 'full', batchSize: 2, epochs: 3,
      args: { lr: 5e-3, minLr: 0, warmupIters: 0, schedule: 'linear', weightDecay: 0, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1, logInterval: 1, seed: 1 },
      out, quiet: true, log: () => {} });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual([config.type_vocab_size, config.question_match_type_id], [3, 2]);
    const p = await loadTaskModel(out, 'question-answering');
    const got = await answer(p, EXAMPLES, { maxLength: 48 });
    const withMatch = await answerQuestions(p.model, EXAMPLES, prepareQaFeatures(tokenizer, EXAMPLES, { maxLength: 48, docStride: 16, questionMatchTypeId: 2 }), p.padId);
    assert.deepEqual(got.map((x) => [x.text, x.score]), withMatch.map((x) => [x.text, x.score]));
    // The trained type-2 row differs from the context's, so answering without the feature would be a different model.
    const w = (p.model as unknown as BertForQuestionAnswering).bert.embeddings.token_type_embeddings.weight.dataSync() as Float32Array;
    const D = w.length / 3;
    assert.ok(w.subarray(D, 2 * D).some((v, i) => v !== w[2 * D + i]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from scratch, cased: the WordPiece vocabulary trained on the texts keeps case, and the run answers with it', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-cased-'));
  try {
    const squad = join(dir, 'squad.json');
    writeFileSync(squad, JSON.stringify({ data: [{ title: 'Normans', paragraphs: [{ context: CONTEXT, qas: EXAMPLES.map((e) => ({
      id: e.id, question: e.question, answers: e.answers!.map((a) => ({ text: a.text, answer_start: a.answerStart })) })) }] }] }));
    const args = { lr: 1e-3, minLr: 0, warmupIters: 0, schedule: 'linear' as const, weightDecay: 0, beta1: 0.9, beta2: 0.999, gradClip: 1, gradAccum: 1, logInterval: 1, seed: 1, maxIters: 1 };
    const run = async (name: string, cased: boolean) => {
      const out = join(dir, name);
      await finetune({ task: 'qa', fromScratch: { arch: 'bert', nLayer: 1, nHead: 2, nEmbd: 16, vocabSize: 200, dropout: 0, cased }, train: squad, eval: squad,
        maxLength: 48, method: 'full', batchSize: 2, args, out, quiet: true, log: () => {} });
      return Tokenizer.fromFile(join(out, 'tokenizer.json'));
    };
    const cased = await run('cased', true);
    const uncased = await run('uncased', false);
    assert.notDeepEqual(cased.encodeIds('Normandy', { addSpecialTokens: false }), cased.encodeIds('normandy', { addSpecialTokens: false }));
    assert.deepEqual(uncased.encodeIds('Normandy', { addSpecialTokens: false }), uncased.encodeIds('normandy', { addSpecialTokens: false }));
    assert.equal((await answer(await loadTaskModel(join(dir, 'cased'), 'question-answering'), EXAMPLES, { maxLength: 48 })).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
