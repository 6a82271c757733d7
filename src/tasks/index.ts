// Tasks: data readers, metrics and baselines for classification, QA, translation and
// summarization. tasks.metrics.bleu(...), tasks.readTable(...), tasks.readSquad(...).
export * as metrics from './metrics/index.js';
export { readTable, parseCsv, labelsFrom, type TableFormat, type TableOptions, type TableRow } from './table.js';
export { readSquad, splitSquadByArticle, type SquadExample, type SquadAnswer } from './squad_data.js';
export { slidingWindowBaseline, type SlidingWindowOptions } from './sliding_window.js';
export { clozeQaExamples, type ClozeQaOptions } from './qa_cloze.js';
export * from './qa.js';
export { lead3 } from './lead3.js';
export { encodePairs, Seq2SeqTask, seq2seqMetrics, type EncodedPair, type Seq2SeqMetric, type Seq2SeqTaskOptions } from './seq2seq_task.js';
