export { BertModel } from './model.js';
export { BertForMaskedLM, BertForSequenceClassification, BertForQuestionAnswering } from './heads.js';
export { bertConfig, bertConfigDict, numLabels, BERT_BASE, type BertConfig } from './config.js';
