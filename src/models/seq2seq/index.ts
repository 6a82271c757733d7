export { Seq2SeqTransformer, type Seq2SeqInputs, type DecodeInputs } from './model.js';
export { seq2seqConfig, SEQ2SEQ_BASE, type Seq2SeqConfig } from './config.js';
