// Data readers: readTable (CSV per RFC 4180, GLUE-style TSV, JSON Lines), labelsFrom, readSquad and
// splitSquadByArticle. Fixtures: the first lines of GLUE SST-2 dev.tsv and a 3-article cut of the
// SQuAD v1.1 dev set (both copied from shared/data, unmodified text).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tasks } from '../src/index.js';

const { readTable, labelsFrom, readSquad, splitSquadByArticle } = tasks;
const fixture = (name: string): string => readFileSync(join(process.cwd(), 'test/fixtures/tasks', name), 'utf8');

test('readTable tsv: SST-2 dev rows, trailing space trimmed, labels as written', () => {
  const rows = readTable(fixture('sst2_dev_head.tsv'), { format: 'tsv', textColumn: 'sentence', labelColumn: 'label' });
  assert.equal(rows.length, 5);
  assert.deepEqual(rows[0], { text: "it 's a charming and often affecting journey .", label: '1', line: 2 });
  assert.deepEqual(rows[1], { text: 'unflinchingly bleak and desperate', label: '0', line: 3 });
  assert.deepEqual(labelsFrom(rows), ['0', '1']);
  // trim: false keeps the text exactly as in the file.
  assert.equal(readTable(fixture('sst2_dev_head.tsv'), { format: 'tsv', textColumn: 'sentence', trim: false })[1]!.text, 'unflinchingly bleak and desperate ');
  // GLUE TSV has no quoting: quotes are ordinary characters.
  assert.equal(readTable('a\tb\n"x"\ty\n', { format: 'tsv', textColumn: 'a' })[0]!.text, '"x"');
});

test('readTable csv: RFC 4180 quotes, embedded commas, quotes and newlines, CRLF', () => {
  const csv = 'id,sentence1,sentence2,label\r\n'
    + '1,"Hello, world","He said ""hi""",positive\r\n'
    + '2,"two\nlines",plain,negative\r\n'
    + '\r\n'
    + '3,,"",neutral';
  const rows = readTable(csv, { format: 'csv', textColumn: 'sentence1', textPairColumn: 'sentence2', labelColumn: 'label' });
  assert.deepEqual(rows, [
    { text: 'Hello, world', textPair: 'He said "hi"', label: 'positive', line: 2 },
    { text: 'two\nlines', textPair: 'plain', label: 'negative', line: 3 },
    { text: '', textPair: '', label: 'neutral', line: 6 },
  ]);
  assert.deepEqual(labelsFrom(rows), ['negative', 'neutral', 'positive']);
  // A byte order mark and a header with spaces around names.
  assert.deepEqual(readTable('\ufefftext , label\nok,1\n', { format: 'csv', textColumn: 'text', labelColumn: 'label' }), [{ text: 'ok', label: '1', line: 2 }]);
});

test('readTable jsonl: SAMSum-style objects, numeric labels, line numbers', () => {
  const jsonl = '{"source": "Amanda: I baked cookies.", "summary": "Amanda baked cookies.", "label": 2}\n\n{"source": "Bob: hi", "summary": "Bob greets.", "label": 10}\n';
  const rows = readTable(jsonl, { format: 'jsonl', textColumn: 'source', textPairColumn: 'summary', labelColumn: 'label' });
  assert.deepEqual(rows, [
    { text: 'Amanda: I baked cookies.', textPair: 'Amanda baked cookies.', label: '2', line: 1 },
    { text: 'Bob: hi', textPair: 'Bob greets.', label: '10', line: 3 },
  ]);
  // Integer labels sort numerically: 10 after 2.
  assert.deepEqual(labelsFrom(rows), ['2', '10']);
});

test('readTable: clear one-line errors', () => {
  const tsv = fixture('sst2_dev_head.tsv');
  assert.throws(() => readTable(tsv, { format: 'tsv', textColumn: 'text', labelColumn: 'label' }),
    /^Error: readTable: column 'text' \(textColumn\) not found; available columns: sentence, label$/);
  assert.throws(() => readTable(tsv, { format: 'tsv', textColumn: 'sentence', labelColumn: 'gold' }), /column 'gold' \(labelColumn\) not found; available columns: sentence, label/);
  assert.throws(() => readTable('', { format: 'csv', textColumn: 'a' }), /readTable: empty input \(no header row in the csv text\)/);
  assert.throws(() => readTable('\n\n', { format: 'jsonl', textColumn: 'a' }), /readTable: empty input \(no JSON lines\)/);
  assert.throws(() => readTable('{"a": "x"}\n{"a": "y",}\n', { format: 'jsonl', textColumn: 'a' }), /readTable: line 2: bad JSON/);
  assert.throws(() => readTable('{"a": "x"}\n{"b": "y"}\n', { format: 'jsonl', textColumn: 'a' }), /line 2: column 'a' \(textColumn\) not found; available columns: b/);
  assert.throws(() => readTable('[1]\n', { format: 'jsonl', textColumn: 'a' }), /line 1: expected a JSON object, got an array/);
  assert.throws(() => readTable('{"a": 3}\n', { format: 'jsonl', textColumn: 'a' }), /line 1: column 'a' \(textColumn\) must be a string, got number/);
  assert.throws(() => readTable('a,b\n"x,1\n', { format: 'csv', textColumn: 'a' }), /line 2: quoted field is never closed/);
  assert.throws(() => readTable('a,b\n"x"y,1\n', { format: 'csv', textColumn: 'a' }), /line 2: unexpected "y" after a closing quote/);
  assert.throws(() => readTable('a,b\nx\n', { format: 'csv', textColumn: 'a' }), /line 2: 1 fields but the header has 2 \(a, b\)/);
  assert.throws(() => readTable('a,a\nx,y\n', { format: 'csv', textColumn: 'a' }), /header names column 'a' twice/);
  assert.throws(() => readTable('a\nx\n', { format: 'xml' as 'csv', textColumn: 'a' }), /format must be one of csv, tsv, jsonl, got "xml"/);
  assert.throws(() => labelsFrom([{ line: 4 }]), /labelsFrom: row 0 \(line 4\) has no label/);
});

test('readSquad: flat examples in file order with article index and title', () => {
  const ex = readSquad(fixture('squad_mini.json'));
  assert.equal(ex.length, 12);
  assert.deepEqual([...new Set(ex.map((e) => `${e.articleIndex}:${e.title}`))], ['0:Super_Bowl_50', '1:Warsaw', '2:Normans']);
  const first = ex[0]!;
  assert.equal(first.id, '56be4db0acb8001400a502ec');
  assert.equal(first.question, 'Which NFL team represented the AFC at Super Bowl 50?');
  assert.equal(first.paragraphIndex, 0);
  assert.deepEqual(first.answers[0], { text: 'Denver Broncos', answerStart: 177 });
  // answerStart indexes the decoded context.
  for (const e of ex) for (const a of e.answers) assert.equal(e.context.slice(a.answerStart, a.answerStart + a.text.length), a.text, e.id);
  assert.deepEqual(ex.map((e) => e.paragraphIndex), [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
});

test('splitSquadByArticle: first articles train, the rest test', () => {
  const ex = readSquad(fixture('squad_mini.json'));
  const { train, test: held } = splitSquadByArticle(ex, { trainArticles: 2 });
  assert.deepEqual([...new Set(train.map((e) => e.title))], ['Super_Bowl_50', 'Warsaw']);
  assert.deepEqual([...new Set(held.map((e) => e.title))], ['Normans']);
  assert.equal(train.length + held.length, ex.length);
  // The default (38 train articles) needs more articles than this cut has.
  assert.throws(() => splitSquadByArticle(ex), /trainArticles must be an integer from 1 to 2 \(the examples span 3 articles\), got 38/);
});

test('readSquad: bad files get one clear error naming the field', () => {
  assert.throws(() => readSquad(''), /readSquad: empty input/);
  assert.throws(() => readSquad('{"data": [}'), /readSquad: not valid JSON/);
  assert.throws(() => readSquad('{"version": "1.1"}'), /readSquad: data must be an array, got undefined/);
  assert.throws(() => readSquad('{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q?", "answers": [{"text": "c"}]}]}]}]}'),
    /readSquad: data\[0\]\.paragraphs\[0\]\.qas\[0\]\.answers\[0\]\.answer_start must be a non-negative integer, got undefined/);
  assert.throws(() => readSquad('{"data": [{"paragraphs": []}]}'), /readSquad: data\[0\]\.title must be a string, got undefined/);
  assert.throws(() => readSquad('{"data": []}'), /readSquad: the file has no questions/);
});
